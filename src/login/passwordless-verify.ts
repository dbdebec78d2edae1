import type Router from '@koa/router';
import type Koa from 'koa';
import { readParams } from '../lib/body.ts';
import type { Env } from '../tenant/env.ts';
import type { Engine } from '../oidc/provider.ts';
import { allowOrigin, preflight } from '../oidc/cors.ts';
import { addressFor, codeLogin, passwordlessConnection, PasswordlessRefusal } from '../oidc/passwordless.ts';
import { issueLoginTicket, peekLoginTicket, spendLoginTicket } from '../tenant/login-tickets.ts';
import { errorPage, finish, loadInteraction } from './interaction.ts';
import { classicCsrfMatches } from './classic.ts';
import { answering } from './passwordless.ts';

// Passwordless on a customized Classic login page: auth0.js there
// (passwordlessLogin, on the tenant's own domain) posts the code to
// POST /passwordless/verify, then sends the browser to
// GET /passwordless/verify_redirect with the login transaction's `state` and
// `_csrf`. The post does the code's checks (codeLogin) and leaves a one-time
// login ticket in a cookie on this browser, since auth0.js passes nothing of
// the answer on; the redirect spends it on that transaction.

const COOKIE = 'postern_pwdless_verified';
const COOKIE_PATH = '/passwordless/verify_redirect';
/** Seconds between the code's check and the redirect that spends its ticket. */
const TICKET_TTL = 120;

async function verify(ctx: Koa.Context, env: Env, engine: Engine) {
  const body = await readParams(ctx);
  const str = (k: string) => (typeof body[k] === 'string' && body[k] ? body[k] as string : undefined);
  const clientId = str('client_id');
  if (!(await allowOrigin(ctx, env, clientId))) throw new PasswordlessRefusal(403, 'access_denied', `Origin ${ctx.get('Origin')} is not allowed for this client.`);
  if (!clientId) throw new PasswordlessRefusal(400, 'bad.client_id', 'Missing required property: client_id');
  const client = await engine.clients.get(clientId);
  if (!client) throw new PasswordlessRefusal(401, 'invalid_client', 'Unknown client.');
  const conn = await passwordlessConnection(env, client.id, body.connection);
  // auth0.js sends the address and verification_code; Auth0's reference names them username and password.
  const address = addressFor(conn, str(conn.data.strategy === 'sms' ? 'phone_number' : 'email') ?? str('username'));
  const code = str('verification_code') ?? str('password');
  if (!code) throw new PasswordlessRefusal(400, 'bad.verification_code', 'Missing required property: verification_code');
  const attempt = {
    ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined, identifier: address,
    client: { id: client.id, name: client.data.name }, connection: conn,
  };
  const { account, pending } = await codeLogin(env, attempt, conn, address, code);
  if (pending.client_id !== client.id) throw new PasswordlessRefusal(403, 'invalid_grant', 'The verification code was sent for another application.');
  const { ticket } = await issueLoginTicket(env, { user_id: account.user_id, client_id: client.id }, TICKET_TTL);
  ctx.cookies.set(COOKIE, ticket, { httpOnly: true, secure: true, sameSite: 'lax', path: COOKIE_PATH, maxAge: TICKET_TTL * 1000, overwrite: true });
  ctx.set('Cache-Control', 'no-store');
  ctx.body = {};
}

/**
 * GET /passwordless/verify_redirect from a Classic page (a verified code's
 * cookie and the page's `_csrf`): finishes that login transaction. False
 * when the request is not one, so the magic link's handler takes it.
 */
export async function classicVerifyRedirect(ctx: Koa.Context, env: Env, engine: Engine): Promise<boolean> {
  const q = ctx.query as Record<string, unknown>;
  const ticket = ctx.cookies.get(COOKIE);
  if (!ticket || typeof q._csrf !== 'string') return false;
  ctx.cookies.set(COOKIE, null, { path: COOKIE_PATH });
  const lc = await loadInteraction(ctx, engine, q.state);
  if (!lc) return true;
  const expired = () => errorPage(ctx, lc.brand, 'This login has expired or was already used. Please go back to the application and sign in again.');
  if (lc.interaction.params.client_id !== q.client_id || !classicCsrfMatches(env, lc.uid, q._csrf)) {
    errorPage(ctx, lc.brand, 'Invalid or expired login transaction. Please go back to the application and sign in again.', 403);
    return true;
  }
  const peeked = await peekLoginTicket(env, ticket, lc.client.id);
  if (!peeked || !(await spendLoginTicket(env, peeked))) { expired(); return true; }
  await finish(ctx, lc.interaction, { login: { accountId: peeked.user_id, remember: true } });
  return true;
}

export function passwordlessVerifyRoutes(router: Router, env: Env, engine: Engine) {
  router.options('/passwordless/verify', preflight('POST'));
  router.post('/passwordless/verify', (ctx) => answering(ctx, () => verify(ctx, env, engine)));
}
