import { randomBytes } from 'node:crypto';
import type Router from '@koa/router';
import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';
import type { Engine } from '../oidc/provider.ts';
import { endBrowserSession, signedOut } from '../login/end-session.ts';
import { badSaml, NS, x } from './xml.ts';
import { readLogoutRequest, readLogoutResponse } from './messages.ts';
import { samlpApp, samlpHandler, samlpParams, type SamlpApp } from './context.ts';
import { samlId } from './response.ts';
import { currentSigningKey } from './sign.ts';
import { sendToSp } from './send.ts';
import { requestEvidence, verifiedXml } from './verify.ts';
import { forgetParticipant, participantsOf, type ReachableParticipant } from './participants.ts';
import type { SamlpSettings } from './settings.ts';

// Single logout round a session's SAML applications. SP-initiated, at
// /samlp/{client_id}/logout: the SP's LogoutRequest (signed, when the addon
// has a signingCert) ends the browser's Postern session as /v2/logout does.
// IdP-initiated: /v2/logout itself. Either way each SAML application of that
// session with a logout.callback and slo_enabled gets a LogoutRequest in
// turn, its LogoutResponse coming back here; last, the SP that asked gets its
// LogoutResponse at its logout.callback (PartialLogout if one of the others
// did not answer Success), by the binding its addon names, or /v2/logout's
// caller goes on to its returnTo.

const MODEL = 'SamlpLogout';
const TTL_SECONDS = 600;
const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';
const PARTIAL = 'urn:oasis:names:tc:SAML:2.0:status:PartialLogout';

/** Who started the logout: an SP's LogoutRequest, or /v2/logout with where it goes next. */
type Origin = { clientId: string; requestId: string; relayState?: string } | { returnTo?: string };

/** A single logout on its way round the session's participants. */
interface LogoutRun {
  origin: Origin;
  remaining: ReachableParticipant[];
  /** The participant whose LogoutResponse is awaited, and the id of the request it got. */
  current?: { clientId: string; requestId: string };
  partial: boolean;
}

const instant = () => new Date().toISOString();

function logoutResponseXml(s: SamlpSettings, inResponseTo: string, destination: string, status: string) {
  return `<samlp:LogoutResponse xmlns:samlp="${NS.protocol}" xmlns:saml="${NS.assertion}" ID="${samlId()}" Version="2.0" IssueInstant="${instant()}" Destination="${x(destination)}" InResponseTo="${x(inResponseTo)}">`
    + `<saml:Issuer>${x(s.issuer)}</saml:Issuer><samlp:Status><samlp:StatusCode Value="${status}"/></samlp:Status></samlp:LogoutResponse>`;
}

function logoutRequestXml(p: ReachableParticipant, id: string) {
  return `<samlp:LogoutRequest xmlns:samlp="${NS.protocol}" xmlns:saml="${NS.assertion}" ID="${id}" Version="2.0" IssueInstant="${instant()}" Destination="${x(p.callback)}">`
    + `<saml:Issuer>${x(p.settings.issuer)}</saml:Issuer><saml:NameID Format="${x(p.nameIdFormat)}">${x(p.nameId)}</saml:NameID>`
    + `<samlp:SessionIndex>${x(p.sessionIndex)}</samlp:SessionIndex></samlp:LogoutRequest>`;
}

async function saveRun(env: Env, id: string, run: LogoutRun) {
  await env.store.upsertPayload({
    model: MODEL, id, payload: JSON.stringify(run), grant_id: null, uid: null, user_code: null, account_id: null,
    expires_at: Math.floor(Date.now() / 1000) + TTL_SECONDS, consumed_at: null,
  });
}

async function loadRun(env: Env, id: string | undefined): Promise<LogoutRun | undefined> {
  if (!id || !/^[\w-]{32}$/.test(id)) return undefined;
  const row = await env.store.findPayload(MODEL, 'id', id);
  if (!row || row.consumed_at || (row.expires_at ?? 0) < Date.now() / 1000) return undefined;
  return JSON.parse(row.payload) as LogoutRun;
}

/** The next participant gets its LogoutRequest; with none left, the logout ends where its origin says. */
async function proceed(ctx: Koa.Context, env: Env, engine: Engine, runId: string, run: LogoutRun) {
  const next = run.remaining.shift();
  if (next) {
    run.current = { clientId: next.clientId, requestId: samlId() };
    await saveRun(env, runId, run);
    await forgetParticipant(env, next.sessionIndex, next.clientId);
    const xml = logoutRequestXml(next, run.current.requestId);
    return sendToSp(ctx, next.callback, { xml, rootLocalName: 'LogoutRequest', param: 'SAMLRequest', relayState: runId }, currentSigningKey(env.keys), next.settings);
  }
  await env.store.destroyPayload(MODEL, runId);
  ctx.set('Cache-Control', 'no-store');
  if (!('clientId' in run.origin)) return run.origin.returnTo ? ctx.redirect(run.origin.returnTo) : signedOut(ctx, engine);
  const asked = run.origin;
  const origin = await samlpApp(env, engine, asked.clientId);
  const target = origin.settings.logoutCallback;
  if (!target) return signedOut(ctx, engine);
  const xml = logoutResponseXml(origin.settings, asked.requestId, target, run.partial ? PARTIAL : SUCCESS);
  sendToSp(ctx, target, { xml, rootLocalName: 'LogoutResponse', param: 'SAMLResponse', relayState: asked.relayState }, currentSigningKey(env.keys), origin.settings);
}

/**
 * Starts single logout round `participants` (from `participantsOf`, after the
 * session has ended), whose last step is `origin`.
 */
export function startSingleLogout(ctx: Koa.Context, env: Env, engine: Engine, participants: ReachableParticipant[], origin: Origin) {
  return proceed(ctx, env, engine, randomBytes(24).toString('base64url'), { origin, remaining: participants, partial: false });
}

export function logoutRoutes(router: Router, env: Env, engine: Engine) {
  const handle = samlpHandler(engine, async (ctx) => {
    const app = await samlpApp(env, engine, ctx.params.clientId);
    const p = await samlpParams(ctx);
    if (p.SAMLRequest === undefined && p.SAMLResponse !== undefined) {
      // A participant answering the LogoutRequest it got from this logout.
      const runId = p.RelayState;
      const run = await loadRun(env, runId);
      if (!run || run.current?.clientId !== app.client.id) throw badSaml('This single logout has expired or is invalid.');
      const answer = readLogoutResponse(verifiedXml(requestEvidence(ctx, p.SAMLResponse, 'SAMLResponse'), app.settings.signingCert));
      if (answer.inResponseTo !== run.current.requestId) throw badSaml('The LogoutResponse does not answer this single logout.');
      if (answer.status !== SUCCESS) run.partial = true;
      run.current = undefined;
      return proceed(ctx, env, engine, runId!, run);
    }
    if (p.SAMLRequest === undefined) throw badSaml('Missing SAMLRequest: a LogoutRequest is required.');
    const request = readLogoutRequest(verifiedXml(requestEvidence(ctx, p.SAMLRequest), app.settings.signingCert));
    const session = await endBrowserSession(ctx, env, engine, app.client);
    const others = session ? await participantsOf(env, engine, session, app.client.id) : [];
    if (session?.uid) await forgetParticipant(env, session.uid, app.client.id);
    await startSingleLogout(ctx, env, engine, others, { clientId: app.client.id, requestId: request.id, relayState: p.RelayState });
  });
  router.get('/samlp/:clientId/logout', handle);
  router.post('/samlp/:clientId/logout', handle);
}
