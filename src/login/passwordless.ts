import type Router from '@koa/router';
import type Koa from 'koa';
import { readParams } from '../lib/body.ts';
import { ApiError } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';
import type { Engine } from '../oidc/provider.ts';
import { callerAuthenticated } from '../oidc/client-assertion.ts';
import { allowOrigin, preflight } from '../oidc/cors.ts';
import { addressFor, codeLogin, passwordlessConnection, PasswordlessRefusal, sendCode } from '../oidc/passwordless.ts';
import { claimLoginTicket, issueLoginTicket } from '../tenant/login-tickets.ts';
import { PASSWORDLESS_STRATEGIES, totpOf } from '../connections/passwordless.ts';
import type { ConnectionDoc } from '../tenant/passwordless.ts';
import { csrfToken, page } from './html.ts';
import { type LoginContext, csrfSecret, errorPage, finish, readInteractionForm, engineBranding } from './interaction.ts';
import { passwordlessAddressForm, passwordlessCodeForm } from './pages.ts';
import { loginAttempt } from './login.ts';
import { classicVerifyRedirect } from './passwordless-verify.ts';

// Passwordless from the outside: the Authentication API's /passwordless/start
// and the magic link it mails (/passwordless/verify_redirect), and the
// Universal Login pages for `/authorize?connection=email|sms`.

const SEND = new Set(['code', 'link']);
/** Seconds between opening a magic link and its /authorize reaching the login page. */
const MAGIC_LINK_TICKET_TTL = 300;

/** The answer to a refused request, in the Authentication API's shape (also /passwordless/verify's). */
export async function answering(ctx: Koa.Context, fn: () => Promise<void>) {
  try {
    await fn();
  } catch (e) {
    const r = e instanceof PasswordlessRefusal ? e
      : e instanceof ApiError && e.statusCode < 500 ? new PasswordlessRefusal(e.statusCode, e.errorCode ?? 'bad.request', e.message) : undefined;
    if (!r) throw e;
    ctx.status = r.status;
    ctx.body = { error: r.error, error_description: r.description };
  }
}

/** authParams as Auth0 takes them: an object of strings (the magic link's authorization parameters). */
function authParamsOf(raw: unknown): Record<string, string> | undefined {
  if (raw === undefined) return undefined;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new PasswordlessRefusal(400, 'bad.authParams', `error in authParams - invalid type: ${Array.isArray(raw) ? 'array' : typeof raw} (expected object)`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) if (['string', 'number', 'boolean'].includes(typeof v)) out[k] = String(v);
  return out;
}

async function start(ctx: Koa.Context, env: Env, engine: Engine) {
  const body = await readParams(ctx);
  if (!(await allowOrigin(ctx, env, body.client_id))) throw new PasswordlessRefusal(403, 'access_denied', `Origin ${ctx.get('Origin')} is not allowed for this client.`);
  if (typeof body.client_id !== 'string' || !body.client_id) throw new PasswordlessRefusal(400, 'bad.client_id', 'Missing required property: client_id');
  const client = await engine.clients.get(body.client_id);
  if (!client) throw new PasswordlessRefusal(401, 'invalid_client', 'Unknown client.');
  // A confidential application proves itself as at /oauth/token; a public one cannot.
  if (client.data.token_endpoint_auth_method !== 'none' && !(await callerAuthenticated(env, client, body).catch(() => false))) {
    throw new PasswordlessRefusal(401, 'invalid_client', 'Client authentication is required and the client secret or assertion did not check out.');
  }
  const conn = await passwordlessConnection(env, client.id, body.connection);
  const send = body.send ?? 'code';
  if (!SEND.has(send) || (send === 'link' && conn.data.strategy === 'sms')) throw new PasswordlessRefusal(400, 'bad.send', `error in send - No enum match for: ${String(send)}`);
  const address = addressFor(conn, conn.data.strategy === 'sms' ? body.phone_number : body.email);
  const authParams = authParamsOf(body.authParams);
  await sendCode(env, ctx, {
    conn, client: { id: client.id, name: client.data.name ?? '' }, address, send, authParams,
    language: ctx.get('x-request-language') || undefined,
  });
  ctx.status = 200;
  ctx.body = conn.data.strategy === 'sms'
    ? { _id: conn.id, phone_number: address, phone_verified: false }
    : { _id: conn.id, email: address, email_verified: false };
}

/**
 * A magic link, opened: the code logs the user in, and the browser goes on to
 * /authorize with the link's parameters and a single-use ticket that the
 * login page takes in place of a form (prompt=login, so an existing session
 * of someone else is not what answers).
 */
async function verifyRedirect(ctx: Koa.Context, env: Env, engine: Engine) {
  const q = ctx.query as Record<string, string>;
  const fail = async (message: string, status = 400) => errorPage(ctx, await engineBranding(engine), message, status);
  const client = typeof q.client_id === 'string' ? await engine.clients.get(q.client_id) : undefined;
  if (!client) return fail('Unknown application.');
  try {
    const conn = await passwordlessConnection(env, client.id, q.connection);
    const address = addressFor(conn, conn.data.strategy === 'sms' ? q.phone_number : q.email);
    const attempt = {
      ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined, identifier: address,
      client: { id: client.id, name: client.data.name }, connection: conn,
    };
    const { account, pending } = await codeLogin(env, attempt, conn, address, String(q.verification_code ?? ''));
    if (pending.client_id !== client.id) return await fail('This link was sent for another application.', 403);
    const params = new URLSearchParams({
      response_type: 'code', ...(pending.auth_params ?? {}),
      client_id: client.id, connection: conn.data.name, prompt: 'login', passwordless_ticket: (await issueLoginTicket(env, { user_id: account.user_id, client_id: client.id }, MAGIC_LINK_TICKET_TTL)).ticket,
    });
    ctx.redirect(`/authorize?${params}`);
  } catch (e) {
    if (!(e instanceof PasswordlessRefusal)) throw e;
    return fail(e.description, e.status);
  }
}

/** The passwordless connection a login page offers: the one /authorize named, or the only kind the application has. */
export async function loginPasswordlessConnection(env: Env, lc: LoginContext): Promise<ConnectionDoc | undefined> {
  const enabled = (await env.store.connections.list()).items.filter((c: any) => (c.data.enabled_clients ?? []).includes(lc.client.id));
  const named = lc.interaction.params.connection;
  if (named) return enabled.find((c: any) => c.data.name === named && PASSWORDLESS_STRATEGIES.has(c.data.strategy));
  if (enabled.some((c: any) => c.data.strategy === 'auth0')) return undefined;
  return enabled.find((c: any) => PASSWORDLESS_STRATEGIES.has(c.data.strategy));
}

export function renderAddressPage(ctx: Koa.Context, env: Env, lc: LoginContext, conn: ConnectionDoc, opts: { address?: string; error?: string; status?: number } = {}) {
  page(ctx, {
    title: 'Welcome', brand: lc.brand, status: opts.status,
    body: passwordlessAddressForm({
      state: lc.uid, csrf: csrfToken(ctx, csrfSecret(env)), sms: conn.data.strategy === 'sms',
      address: opts.address ?? lc.interaction.params.login_hint, error: opts.error, appName: lc.client.data.name ?? 'the application',
    }),
  });
}

function renderCodePage(ctx: Koa.Context, env: Env, lc: LoginContext, conn: ConnectionDoc, address: string, opts: { error?: string; status?: number } = {}) {
  page(ctx, {
    title: 'Enter your code', brand: lc.brand, status: opts.status,
    body: passwordlessCodeForm({
      state: lc.uid, csrf: csrfToken(ctx, csrfSecret(env)), address, length: totpOf(conn).length, error: opts.error,
      againUrl: `/u/login?${new URLSearchParams({ state: lc.uid })}`,
    }),
  });
}

/** A login page opened with a magic link's ticket: no form, the link already proved the address. */
export async function ticketLogin(ctx: Koa.Context, env: Env, lc: LoginContext) {
  const userId = await claimLoginTicket(env, lc.interaction.params.passwordless_ticket, lc.client.id);
  if (!userId) return errorPage(ctx, lc.brand, 'This link has expired or was already used. Please ask for a new one.');
  await finish(ctx, lc.interaction, { login: { accountId: userId, remember: true } });
}

export function passwordlessRoutes(router: Router, env: Env, engine: Engine) {
  router.options('/passwordless/start', preflight('POST'));
  router.post('/passwordless/start', (ctx) => answering(ctx, () => start(ctx, env, engine)));
  // A Classic login page's verified code comes back here too (passwordless-verify.ts); a magic link otherwise.
  router.get('/passwordless/verify_redirect', async (ctx) => {
    if (!(await classicVerifyRedirect(ctx, env, engine))) await verifyRedirect(ctx, env, engine);
  });

  /** A posted passwordless page: its fields, its interaction and the connection it logs in with (else an error page). */
  const passwordlessForm = async (ctx: Koa.Context) => {
    const form = await readInteractionForm(ctx, env, engine);
    if (!form) return undefined;
    const conn = await loginPasswordlessConnection(env, form.lc);
    if (conn) return { ...form, conn };
    errorPage(ctx, form.lc.brand, 'No passwordless connection is enabled for this application.');
    return undefined;
  };

  router.post('/u/login/passwordless', async (ctx) => {
    const form = await passwordlessForm(ctx);
    if (!form) return;
    const { lc, body, conn } = form;
    const raw = typeof body.address === 'string' ? body.address.trim() : '';
    try {
      const address = addressFor(conn, raw);
      await sendCode(env, ctx, { conn, client: { id: lc.client.id, name: lc.client.data.name ?? '' }, address, send: 'code' });
      renderCodePage(ctx, env, lc, conn, address);
    } catch (e) {
      if (!(e instanceof PasswordlessRefusal || (e instanceof ApiError && e.statusCode < 500))) throw e;
      const message = e instanceof PasswordlessRefusal && e.error.startsWith('bad.') && e.error !== 'bad.connection'
        ? `Please enter a valid ${conn.data.strategy === 'sms' ? 'phone number, with its country code' : 'email address'}.` : e.message;
      renderAddressPage(ctx, env, lc, conn, { address: raw, error: message, status: 400 });
    }
  });

  router.post('/u/login/passwordless/verify', async (ctx) => {
    const form = await passwordlessForm(ctx);
    if (!form) return;
    const { lc, body, conn } = form;
    let address: string;
    try { address = addressFor(conn, body.address); } catch { return renderAddressPage(ctx, env, lc, conn, { status: 400 }); }
    const code = typeof body.code === 'string' ? body.code.trim() : '';
    if (!code) return renderCodePage(ctx, env, lc, conn, address, { error: 'Please enter the code.', status: 400 });
    try {
      const { account } = await codeLogin(env, loginAttempt(ctx, lc, conn, address), conn, address, code);
      await finish(ctx, lc.interaction, { login: { accountId: account.user_id, remember: true } });
    } catch (e) {
      if (!(e instanceof PasswordlessRefusal)) throw e;
      renderCodePage(ctx, env, lc, conn, address, { error: e.description, status: e.status });
    }
  });
}
