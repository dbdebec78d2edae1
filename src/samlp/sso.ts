import type Router from '@koa/router';
import type { Env } from '../tenant/env.ts';
import type { Engine } from '../oidc/provider.ts';
import { badSaml } from './xml.ts';
import { readAuthnRequest } from './messages.ts';
import { acsUrl, type SamlpSettings } from './settings.ts';
import { requestEvidence, verifiedXml } from './verify.ts';
import { overriddenAttributes, overriddenKey, overriddenRelayState, overriddenSettings } from './action-overrides.ts';
import { samlpApp, samlpHandler, samlpParams } from './context.ts';
import { savePending, takePending } from './pending.ts';
import { authorizeUrl, newVerifier, redeemedUser } from './engine-login.ts';
import { nameIdentifier, samlAttributes, samlProfile } from './attributes.ts';
import { rememberParticipant } from './participants.ts';
import { errorResponse, loginResponse } from './response.ts';
import { currentSigningKey } from './sign.ts';
import { postToSp } from './post-form.ts';

// Single sign-on: /samlp/{client_id} takes the SP's AuthnRequest (or none:
// IdP-initiated), checks where the answer may go, keeps the request, and sends
// the browser through the engine's /authorize; /samlp/{client_id}/continue is
// where the engine comes back with a code, redeemed here for the user, whose
// signed Response the browser then posts to the SP.

const MAX_RELAY_STATE = 2048;

export function ssoRoutes(router: Router, env: Env, engine: Engine) {
  const start = samlpHandler(engine, async (ctx) => {
    const { client, settings } = await samlpApp(env, engine, ctx.params.clientId);
    const p = await samlpParams(ctx);
    if (p.RelayState && p.RelayState.length > MAX_RELAY_STATE) throw badSaml('RelayState is too long');
    const evidence = p.SAMLRequest !== undefined ? requestEvidence(ctx, p.SAMLRequest) : undefined;
    // With a signingCert, only a request signed by the SP is read; an IdP-initiated login has none to check (as at Auth0).
    const request = evidence ? readAuthnRequest(verifiedXml(evidence, settings.signingCert)) : undefined;
    const acs = acsUrl(client, settings, request?.acsUrl);
    if (!acs) {
      throw badSaml(request?.acsUrl
        ? `The AssertionConsumerServiceURL "${request.acsUrl}" is not an Allowed Callback URL of the application.`
        : 'The application has no callback URL to send the SAML response to.');
    }
    const verifier = newVerifier();
    const state = await savePending(env, {
      clientId: client.id, acsUrl: acs, audience: request?.issuer, requestId: request?.id, relayState: p.RelayState, verifier,
      evidence, checkedWith: settings.signingCert,
    });
    ctx.set('Cache-Control', 'no-store');
    ctx.redirect(authorizeUrl(env, client.id, state, verifier, { forceAuthn: request?.forceAuthn, connection: p.connection, organization: p.organization }));
  });
  router.get('/samlp/:clientId', start);
  router.post('/samlp/:clientId', start);

  router.get('/samlp/:clientId/continue', samlpHandler(engine, async (ctx) => {
    const { client, addon, settings: addonSettings } = await samlpApp(env, engine, ctx.params.clientId);
    const q = ctx.query;
    const pending = await takePending(env, q.state);
    if (!pending || pending.clientId !== client.id) throw badSaml('This SAML login has expired or is invalid. Please go back to the application and sign in again.');
    // The settings may have changed while the person logged in: the ACS URL must still be allowed.
    if (acsUrl(client, addonSettings, pending.acsUrl) !== pending.acsUrl) throw badSaml('The AssertionConsumerServiceURL is no longer allowed for this application.');
    const addressing = (s: SamlpSettings) => ({ acsUrl: pending.acsUrl, audience: s.audience ?? pending.audience, inResponseTo: pending.requestId });
    const answer = (xml: string, relayState = pending.relayState) => postToSp(ctx, pending.acsUrl, { SAMLResponse: Buffer.from(xml).toString('base64'), RelayState: relayState });
    if (typeof q.error === 'string') {
      // The login ended without a user (an action refused it): the SP still gets its answer.
      const message = typeof q.error_description === 'string' ? q.error_description : q.error;
      return answer(errorResponse(addressing(addonSettings), message, addonSettings, currentSigningKey(env.keys)));
    }
    const { login, user } = await redeemedUser(env, engine, client.id, q.code, pending.verifier, badSaml);
    // Post-login actions may have changed the settings (api.samlResponse), a signingCert among them.
    const settings = overriddenSettings(env, addon, login.saml);
    if (pending.requestId && settings.signingCert && settings.signingCert !== pending.checkedWith) {
      if (!pending.evidence) throw badSaml('The SAML request must be signed');
      verifiedXml(pending.evidence, settings.signingCert);
    }
    const key = overriddenKey(env, login.saml) ?? currentSigningKey(env.keys);
    const attributes = overriddenAttributes(samlAttributes(samlProfile(user, client.id), settings), login.saml);
    const xml = await loginResponse(addressing(settings), { userId: user.user_id, attributes, authTime: login.authTime, sessionIndex: login.sessionUid }, settings, key);
    // Single logout names this subject to the application again (logout.ts).
    await rememberParticipant(env, { clientId: client.id, nameId: nameIdentifier(attributes, settings, user.user_id), nameIdFormat: settings.nameIdentifierFormat, sessionIndex: login.sessionUid });
    answer(xml, overriddenRelayState(login.saml) ?? pending.relayState);
  }));
}
