import type Router from '@koa/router';
import type Koa from 'koa';
import { randomBytes } from 'node:crypto';
import { readParams } from '../lib/body.ts';
import { ApiError } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';
import type { Engine } from '../oidc/provider.ts';
import { AUTH0_PATHS } from '../oidc/paths.ts';
import { allowOrigin, preflight } from '../oidc/cors.ts';
import { Auth0GrantError, OAuthError, sendOAuthError } from '../oidc/errors.ts';
import { PASSWORD_REALM, passwordAccount } from '../oidc/grants-password.ts';
import { PASSWORDLESS_OTP } from '../oidc/grants-passwordless.ts';
import { addressFor, codeLogin, passwordlessConnection, PasswordlessRefusal } from '../oidc/passwordless.ts';
import { issueLoginTicket, peekLoginTicket, spendLoginTicket, verifierMatches } from '../tenant/login-tickets.ts';
import { csrfToken, esc, page } from './html.ts';
import { type LoginContext, csrfSecret, finish, readInteractionForm } from './interaction.ts';

// Embedded login (auth0.js `webAuth.login`, Lock): the application's own page
// posts the credentials to /co/authenticate, which answers a login ticket;
// the browser then opens /authorize?login_ticket=…, and the login page takes
// the ticket in place of a form. The ticket is bound to the browser that
// posted the credentials, so a ticket lifted from the page is worthless: by a
// cookie set on the /co/authenticate answer, or, where the browser refused
// that (third-party) cookie, by the verifier auth0.js keeps in the
// application's storage, read through the application's cross-origin
// verification page (`cross_origin_loc`) in an iframe.

/** Seconds from /co/authenticate to its /authorize; auth0.js keeps the verifier 15 minutes, Lock redirects at once. */
const TICKET_TTL = 300;
const cookieName = (coId: string) => `postern_co_${coId}`;
/** How long the fallback page waits for the verification page before giving up. */
const VERIFY_WAIT_MS = 5000;

/** The account the posted credentials log in as, by the credential type auth0.js names. */
async function credentialAccount(ctx: Koa.Context, env: Env, engine: Engine, client: { id: string; name?: string }, body: Record<string, any>) {
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  const type = str(body.credential_type) ?? 'password';
  const username = str(body.username);
  const realm = str(body.realm);
  if (type === PASSWORDLESS_OTP) {
    if (!username || !str(body.otp) || !realm) throw new OAuthError(400, 'invalid_request', 'Missing required parameter(s) (username, otp, realm)');
    const conn = await passwordlessConnection(env, client.id, realm);
    const address = addressFor(conn, username);
    const attempt = { ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined, identifier: address, client, connection: conn };
    return (await codeLogin(env, attempt, conn, address, body.otp)).account;
  }
  if (type !== 'password' && type !== PASSWORD_REALM) throw new OAuthError(400, 'invalid_request', 'Unknown credential type parameter.');
  if (!username || !str(body.password)) throw new OAuthError(400, 'invalid_request', 'Missing required parameter(s) (username, password)');
  if (type === PASSWORD_REALM && !realm) throw new OAuthError(400, 'invalid_request', 'Missing required parameter: realm');
  return passwordAccount(env, engine.settings, { realm, username, password: body.password, client, ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined });
}

async function authenticate(ctx: Koa.Context, env: Env, engine: Engine) {
  const body = await readParams(ctx);
  if (typeof body.client_id !== 'string' || !body.client_id) throw new OAuthError(400, 'invalid_request', 'Missing required parameter: client_id');
  const client = await engine.clients.get(body.client_id);
  if (!client) throw new OAuthError(401, 'invalid_client', 'Unknown client.');
  if (!(await allowOrigin(ctx, env, client.id))) throw new OAuthError(403, 'access_denied', `Origin ${ctx.get('Origin')} is not allowed.`);
  ctx.set('Access-Control-Allow-Credentials', 'true');
  if (client.data.cross_origin_authentication !== true) throw new OAuthError(403, 'unauthorized_client', 'Cross origin login not allowed.');
  const account = await credentialAccount(ctx, env, engine, { id: client.id, name: client.data.name }, body);
  const issued = await issueLoginTicket(env, { user_id: account.user_id, client_id: client.id }, TICKET_TTL, true);
  ctx.cookies.set(cookieName(issued.coId!), issued.verifier!, { httpOnly: true, secure: true, sameSite: 'none', path: '/', maxAge: TICKET_TTL * 1000 });
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { login_ticket: issued.ticket, co_verifier: issued.verifier, co_id: issued.coId };
}

/** A password login's refusal; Auth0 says access_denied here where the grant says invalid_grant. */
const grantRefusal = (e: { status: number; error: string; error_description?: string }) =>
  new OAuthError(e.status, e.error === 'invalid_grant' ? 'access_denied' : e.error, e.error_description ?? e.error);

/** The refusals of /co/authenticate in the Authentication API's `{error, error_description}` shape. */
async function answering(ctx: Koa.Context, fn: () => Promise<void>) {
  try {
    await fn();
  } catch (e) {
    const r = e instanceof OAuthError ? e
      : e instanceof Auth0GrantError ? grantRefusal(e as any)
      : e instanceof PasswordlessRefusal ? new OAuthError(e.status, e.status === 400 ? 'invalid_request' : e.error === 'invalid_grant' ? 'access_denied' : e.error, e.description)
      : e instanceof ApiError && e.statusCode < 500 ? new OAuthError(e.statusCode, e.errorCode ?? 'invalid_request', e.message) : undefined;
    if (!r) throw e;
    sendOAuthError(ctx, r);
  }
}

const refuseTicket = (ctx: Koa.Context, lc: LoginContext, description: string) =>
  finish(ctx, lc.interaction, { error: 'access_denied', error_description: description });

/**
 * The login page of an /authorize that carries a login ticket: the ticket's
 * user logs in once the browser proves it is the one that got the ticket.
 */
export async function crossOriginTicketLogin(ctx: Koa.Context, env: Env, lc: LoginContext) {
  const ticket = await peekLoginTicket(env, lc.interaction.params.login_ticket, lc.client.id);
  if (!ticket?.co_id) return refuseTicket(ctx, lc, 'Invalid or expired login ticket.');
  if (verifierMatches(ticket, ctx.cookies.get(cookieName(ticket.co_id)))) {
    ctx.cookies.set(cookieName(ticket.co_id), null, { httpOnly: true, secure: true, sameSite: 'none', path: '/' });
    return redeem(ctx, env, lc, ticket);
  }
  const loc = typeof lc.client.data.cross_origin_loc === 'string' ? safeUrl(lc.client.data.cross_origin_loc) : undefined;
  if (!loc) return refuseTicket(ctx, lc, 'The login could not be verified in this browser (no cross-origin verification page is set for the application).');
  renderVerification(ctx, env, lc, loc, ticket.co_id);
}

async function redeem(ctx: Koa.Context, env: Env, lc: LoginContext, ticket: { key: string; user_id: string }) {
  if (!(await spendLoginTicket(env, ticket))) return refuseTicket(ctx, lc, 'Invalid or expired login ticket.');
  await finish(ctx, lc.interaction, { login: { accountId: ticket.user_id, remember: true } });
}

function safeUrl(raw: string): URL | undefined {
  try {
    const u = new URL(raw);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u : undefined;
  } catch { return undefined; }
}

/**
 * The fallback for a browser that refused the cookie: the application's
 * verification page, framed, hands over the verifier auth0.js stored under
 * this server's origin and the ticket's co_id, and the form posts it back.
 */
function renderVerification(ctx: Koa.Context, env: Env, lc: LoginContext, loc: URL, coId: string) {
  const own = new URL(env.issuer).origin;
  const frame = new URL(loc); frame.hash = `origin=${encodeURIComponent(own)}`;
  const nonce = randomBytes(16).toString('base64');
  const js = (v: string) => JSON.stringify(v).replace(/</g, '\\u003c');
  page(ctx, {
    title: 'Verifying your login', brand: lc.brand,
    body: `<p>One moment while your login is verified.</p>
<iframe id="co-frame" src="${esc(frame.href)}" title="Cross-origin verification" hidden></iframe>
<form id="co-form" method="post" action="/u/login/cross-origin">
<input type="hidden" name="state" value="${esc(lc.uid)}"><input type="hidden" name="_csrf" value="${esc(csrfToken(ctx, csrfSecret(env)))}">
<input type="hidden" name="verifier" id="co-verifier" value="">
<noscript><p>Your browser blocked the cookie this login needs, and verifying it another way needs JavaScript.</p><button type="submit">Continue</button></noscript>
</form>
<script nonce="${nonce}">(function () {
  var origin = ${js(loc.origin)}, id = ${js(coId)}, sent = false;
  var frame = document.getElementById('co-frame'), form = document.getElementById('co-form');
  function done(verifier) { if (sent) return; sent = true; document.getElementById('co-verifier').value = verifier || ''; form.submit(); }
  window.addEventListener('message', function (e) {
    if (e.origin !== origin || !e.data) return;
    if (e.data.type === 'ready') frame.contentWindow.postMessage({ type: 'co_verifier_request', request: { id: id } }, origin);
    if (e.data.type === 'co_verifier_response') done(e.data.response && e.data.response.verifier);
  });
  setTimeout(function () { done(''); }, ${VERIFY_WAIT_MS});
})();</script>`,
  });
  // form-action covers the redirects after the post too, which end at the application's callback.
  ctx.set('Content-Security-Policy', `default-src 'self'; script-src 'nonce-${nonce}'; frame-src ${loc.origin}; img-src 'self' https: data:; style-src 'self' 'unsafe-inline'; form-action 'self' https: http:; frame-ancestors 'none'; base-uri 'none'`);
}

/** An /authorize with a login ticket always asks for a login, so the ticket, not an existing session, says who logs in. */
export const loginTicketPrompt: Koa.Middleware = (ctx, next) => {
  if (ctx.method === 'GET' && ctx.path === AUTH0_PATHS.authorization && typeof ctx.query.login_ticket === 'string') {
    ctx.query = { ...ctx.query, prompt: 'login' };
  }
  return next();
};

export function crossOriginRoutes(router: Router, env: Env, engine: Engine) {
  router.options('/co/authenticate', preflight('POST', { credentials: true }));
  router.post('/co/authenticate', (ctx) => answering(ctx, () => authenticate(ctx, env, engine)));

  router.post('/u/login/cross-origin', async (ctx) => {
    const form = await readInteractionForm(ctx, env, engine);
    if (!form) return;
    const { lc, body } = form;
    const ticket = await peekLoginTicket(env, lc.interaction.params.login_ticket, lc.client.id);
    if (!ticket || !verifierMatches(ticket, body.verifier)) return refuseTicket(ctx, lc, 'The login could not be verified in this browser.');
    await redeem(ctx, env, lc, ticket);
  });
}
