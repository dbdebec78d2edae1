import type Router from '@koa/router';
import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';
import type { Engine } from '../oidc/provider.ts';
import { requestFacts } from '../tenant/logs.ts';
import { sendBackchannelLogouts } from '../oidc/backchannel-logout.ts';
import { page } from '../login/html.ts';
import { engineBranding } from '../login/interaction.ts';
import { badSaml, NS, x } from './xml.ts';
import { readLogoutRequest, type LogoutRequest } from './messages.ts';
import { samlpApp, samlpHandler, samlpParams, type SamlpApp } from './context.ts';
import { samlId } from './response.ts';
import { currentSigningKey, signRoot } from './sign.ts';
import { postToSp } from './post-form.ts';

// SP-initiated single logout: /samlp/{client_id}/logout takes the SP's
// LogoutRequest, ends the browser's Postern session as /v2/logout does, and
// posts a signed LogoutResponse to the addon's logout.callback.

function logoutResponse(app: SamlpApp, request: LogoutRequest, destination: string) {
  const xml = `<samlp:LogoutResponse xmlns:samlp="${NS.protocol}" xmlns:saml="${NS.assertion}" ID="${samlId()}" Version="2.0" IssueInstant="${new Date().toISOString()}" Destination="${x(destination)}" InResponseTo="${x(request.id)}">`
    + `<saml:Issuer>${x(app.settings.issuer)}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status></samlp:LogoutResponse>`;
  return xml;
}

/** Ends the engine session the browser holds, with the `slo` event and back-channel logouts. */
async function endSession(ctx: Koa.Context, env: Env, engine: Engine, app: SamlpApp) {
  const provider = engine.provider as any;
  const session = await provider.Session.get(ctx);
  if (!session || session.new) return;
  env.events.record({ ...requestFacts(ctx), type: 'slo', description: 'User successfully logged out', user_id: session.accountId, client_id: app.client.id, client_name: app.client.data.name });
  await session.destroy();
  await sendBackchannelLogouts(env, engine, session, 'rp-logout');
  const name = provider.cookieName('session');
  for (const n of [name, `${name}.sig`]) ctx.cookies.set(n, null, { path: '/', secure: true, httpOnly: true, sameSite: 'none' });
}

export function logoutRoutes(router: Router, env: Env, engine: Engine) {
  const handle = samlpHandler(engine, async (ctx) => {
    const app = await samlpApp(env, engine, ctx.params.clientId);
    const p = await samlpParams(ctx);
    if (p.SAMLRequest === undefined) throw badSaml('Missing SAMLRequest: a LogoutRequest is required.');
    const request = readLogoutRequest(p.SAMLRequest);
    await endSession(ctx, env, engine, app);
    ctx.set('Cache-Control', 'no-store');
    const target = app.settings.logoutCallback;
    if (!target) return page(ctx, { title: 'Signed out', brand: await engineBranding(engine), body: '<p>You are signed out.</p>' });
    const signed = signRoot(logoutResponse(app, request, target), 'LogoutResponse', currentSigningKey(env.keys), app.settings);
    postToSp(ctx, target, { SAMLResponse: Buffer.from(signed).toString('base64'), RelayState: p.RelayState });
  });
  router.get('/samlp/:clientId/logout', handle);
  router.post('/samlp/:clientId/logout', handle);
}
