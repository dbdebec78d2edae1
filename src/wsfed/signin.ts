import type Koa from 'koa';
import type Router from '@koa/router';
import type { Env } from '../tenant/env.ts';
import type { Engine } from '../oidc/provider.ts';
import type { CachedClient } from '../oidc/clients.ts';
import { ApiError } from '../lib/errors.ts';
import { samlpHandler } from '../samlp/context.ts';
import { savePending, takePending } from '../samlp/pending.ts';
import { authorizeUrl, newVerifier, redeemedUser } from '../samlp/engine-login.ts';
import { samlAttributes, samlProfile } from '../samlp/attributes.ts';
import { overriddenAttributes, overriddenKey } from '../samlp/action-overrides.ts';
import { currentSigningKey } from '../samlp/sign.ts';
import { postToSp } from '../samlp/post-form.ts';
import { audienceOf } from './application.ts';
import { signinReply } from './reply.ts';
import { wsfedSettings } from './settings.ts';
import { continueUrl } from './urls.ts';
import { faultResponse, tokenResponse } from './wresult.ts';

// wa=wsignin1.0: the relying party's request is kept (reply URL, realm,
// wctx) and the browser goes through the engine's /authorize, as a SAML login
// does (samlp/engine-login.ts), with this protocol's own continue URL; back
// there with a code, the login's user becomes the signed token that the
// browser posts to the reply URL with wa=wsignin1.0 and the wctx.

const MAX_WCTX = 2048;
const invalid = (message: string) => new ApiError(400, message, 'invalid_request');

/** `whr` names a connection, as `urn:{name}` or just the name. */
const connectionOf = (whr: string | undefined) => (whr ? whr.replace(/^urn:/, '') : undefined);

export async function startSignin(ctx: Koa.Context, env: Env, client: CachedClient, p: Record<string, string | undefined>) {
  if (p.wctx !== undefined && p.wctx.length > MAX_WCTX) throw invalid('The wctx parameter is too long.');
  if (p.whr !== undefined && (!connectionOf(p.whr) || p.whr.length > 256)) throw invalid('The whr parameter is not valid.');
  const reply = signinReply(client, p.wreply);
  const verifier = newVerifier();
  const state = await savePending(env, { clientId: client.id, acsUrl: reply, audience: audienceOf(client, p.wtrealm), relayState: p.wctx, verifier });
  ctx.set('Cache-Control', 'no-store');
  ctx.redirect(authorizeUrl(env, client.id, state, verifier, {
    // wfresh=0: the person must log in again, whatever session there is.
    forceAuthn: p.wfresh === '0', connection: connectionOf(p.whr), redirectUri: continueUrl(env, client.id),
  }));
}

export function continueRoute(router: Router, env: Env, engine: Engine, appOf: (id: string) => Promise<CachedClient>) {
  router.get('/wsfed/:clientId/continue', samlpHandler(engine, async (ctx) => {
    const client = await appOf(ctx.params.clientId);
    const q = ctx.query;
    const pending = await takePending(env, q.state);
    if (!pending || pending.clientId !== client.id) throw invalid('This WS-Federation login has expired or is invalid. Please go back to the application and sign in again.');
    // The callbacks may have changed while the person logged in: the reply URL must still be allowed.
    signinReply(client, pending.acsUrl);
    const answer = (wresult: string) => postToSp(ctx, pending.acsUrl, { wa: 'wsignin1.0', wresult, wctx: pending.relayState });
    if (typeof q.error === 'string') {
      // The login ended without a user (an action refused it): the relying party still gets its answer.
      return answer(faultResponse(q.error, typeof q.error_description === 'string' ? q.error_description : q.error));
    }
    const { login, user } = await redeemedUser(env, engine, client.id, q.code, pending.verifier, invalid, continueUrl(env, client.id));
    // Post-login actions may have changed the token's settings and claims (api.samlResponse).
    const settings = wsfedSettings(env, client, login.saml);
    const key = overriddenKey(env, login.saml) ?? currentSigningKey(env.keys);
    const attributes = overriddenAttributes(samlAttributes(samlProfile(user, client.id), settings.saml), login.saml);
    answer(tokenResponse(pending.acsUrl, settings.saml.audience ?? pending.audience!, { userId: user.user_id, attributes, authTime: login.authTime, sessionIndex: login.sessionUid }, settings, key, pending.relayState));
  }));
}
