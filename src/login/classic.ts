import type Router from '@koa/router';
import type Koa from 'koa';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readParams } from '../lib/body.ts';
import { ApiError } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';
import type { Engine } from '../oidc/provider.ts';
import type { CachedClient } from '../oidc/clients.ts';
import { Auth0GrantError } from '../oidc/errors.ts';
import { passwordAccount } from '../oidc/grants-password.ts';
import { issueLoginTicket, peekLoginTicket, spendLoginTicket } from '../tenant/login-tickets.ts';
import { globalClient } from '../tenant/global-client.ts';
import { esc } from './html.ts';
import { type LoginContext, csrfSecret, errorPage, findInteraction, finish, loadInteraction } from './interaction.ts';
import { LegacyError, badRequest, sendLegacy } from './legacy-errors.ts';

// Classic Universal Login: a tenant that customized its login page (the
// global client's `custom_login_page`, or an application's own) gets that
// page, with `@@config@@` replaced by the transaction's settings, instead of
// Postern's pages. Lock or auth0.js on it posts the credentials to
// /usernamepassword/login, which answers a form that auto-posts a one-time
// result to /login/callback, where the engine's interaction is finished.

/** Seconds between the credentials' check and the browser's post of its result. */
const RESULT_TTL = 120;

/** The custom login page this application's logins get, if the tenant made one. */
export async function customLoginPage(env: Env, client: CachedClient): Promise<string | undefined> {
  const own = client.data.custom_login_page;
  if (client.data.custom_login_page_on !== false && typeof own === 'string' && own.trim()) return own;
  const global = await globalClient(env);
  const page = global?.data.custom_login_page;
  return global?.data.custom_login_page_on === true && typeof page === 'string' && page.trim() ? page : undefined;
}

/** The page's `_csrf`: bound to the login transaction, so only a page of that transaction can post for it. */
const transactionCsrf = (env: Env, uid: string) => createHmac('sha256', csrfSecret(env)).update(`classic:${uid}`).digest('base64url');

/** Whether a post carries the `_csrf` of this transaction's Classic page (also /passwordless/verify_redirect's check). */
export function classicCsrfMatches(env: Env, uid: string, submitted: unknown) {
  if (typeof submitted !== 'string') return false;
  const a = Buffer.from(transactionCsrf(env, uid)); const b = Buffer.from(submitted);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The `config` object Auth0's login page templates decode from `@@config@@`. */
async function pageConfig(env: Env, lc: LoginContext) {
  const p = lc.interaction.params;
  const tenant = await env.store.getTenant();
  const responseType = String(p.response_type ?? 'code');
  const extraParams: Record<string, string> = {};
  for (const k of ['login_hint', 'screen_hint', 'ui_locales', 'prompt', 'max_age', 'acr_values']) if (typeof p[k] === 'string') extraParams[k] = p[k];
  return {
    auth0Domain: env.config.domain,
    auth0Tenant: tenant?.name,
    clientID: lc.client.id,
    clientConfigurationBaseUrl: env.issuer,
    assetsUrl: '',
    languageBaseUrl: env.issuer,
    cdn: env.issuer,
    callbackURL: p.redirect_uri,
    callbackOnLocationHash: responseType.includes('token'),
    icon: lc.brand.logo ?? '',
    dict: { signin: { title: lc.brand.name } },
    colors: { primary: lc.brand.primary ?? '#635dff', page_background: '#ffffff' },
    authorizationServer: { url: env.issuer, issuer: env.issuer },
    widgetMode: p.screen_hint === 'signup' ? 'signup' : 'signin',
    loggedIn: false,
    popupOptions: {},
    isThirdPartyClient: lc.client.data.is_first_party === false,
    prompt: p.prompt,
    connection: p.connection,
    extraParams,
    // What the page's Lock or auth0.js posts back: `state` names this login transaction, not the application's state.
    internalOptions: {
      state: lc.uid, _csrf: transactionCsrf(env, lc.uid), _intstate: 'deprecated', protocol: 'oauth2',
      response_type: responseType, scope: p.scope,
      ...(p.response_mode ? { response_mode: p.response_mode } : {}),
      ...(p.nonce ? { nonce: p.nonce } : {}),
      ...(p.audience ? { audience: p.audience } : {}),
    },
  };
}

export async function renderCustomLoginPage(ctx: Koa.Context, env: Env, lc: LoginContext, html: string) {
  const config = Buffer.from(JSON.stringify(await pageConfig(env, lc)), 'utf8').toString('base64');
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Cache-Control', 'no-store');
  // The page is the tenant's own markup and loads what it likes; only framing is refused.
  ctx.set('X-Frame-Options', 'DENY');
  ctx.set('Content-Security-Policy', "frame-ancestors 'none'");
  ctx.body = html.split('@@config@@').join(config);
}

/** A refused /usernamepassword/login, in the shape Lock and auth0.js read. */
function refusal(e: unknown): unknown {
  if (e instanceof ApiError && e.statusCode < 500) return badRequest('invalid_request', e.message);
  if (!(e instanceof Auth0GrantError)) return e;
  const g = e as Auth0GrantError & { status: number; error: string; error_description?: string };
  const description = g.error_description ?? g.error;
  if (g.error === 'invalid_grant') return new LegacyError({ name: 'ValidationError', code: 'invalid_user_password', description, statusCode: 401 });
  if (g.error === 'too_many_attempts') return new LegacyError({ name: 'AnomalyDetected', code: 'too_many_attempts', description, statusCode: 429 });
  if (g.error === 'unauthorized') return new LegacyError({ name: 'UnauthorizedError', code: 'unauthorized', description, statusCode: 401 });
  return new LegacyError({ name: 'BadRequestError', code: g.error, description, statusCode: g.status });
}

async function usernamePasswordLogin(ctx: Koa.Context, env: Env, engine: Engine) {
  const body = await readParams(ctx);
  const str = (k: string) => (typeof body[k] === 'string' && body[k] ? body[k] as string : undefined);
  const uid = str('state') ?? '';
  const interaction = await findInteraction(engine, uid);
  if (!interaction || interaction.params.client_id !== str('client_id') || !classicCsrfMatches(env, uid, body._csrf)) {
    throw new LegacyError({ name: 'ForbiddenError', code: 'invalid_request', description: 'Invalid or expired login transaction. Please go back to the application and sign in again.', statusCode: 403 });
  }
  const client = await engine.clients.get(interaction.params.client_id);
  const username = str('username') ?? str('email');
  const password = str('password');
  if (!client || !username || !password) throw badRequest('invalid_request', 'Missing required parameter(s) (username, password)');
  const account = await passwordAccount(env, engine.settings, {
    realm: str('connection'), username, password, client: { id: client.id, name: client.data.name }, ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined,
  });
  const { ticket } = await issueLoginTicket(env, { user_id: account.user_id, client_id: client.id, state: uid }, RESULT_TTL);
  const wctx = JSON.stringify({ strategy: 'auth0', connection: str('connection'), client_id: client.id, state: uid });
  const field = (name: string, value: string) => `<input type="hidden" name="${name}" value="${esc(value)}">`;
  ctx.set('Cache-Control', 'no-store');
  ctx.type = 'text/html; charset=utf-8';
  // auth0.js inserts this markup and submits its first element.
  ctx.body = `<form method="post" name="hiddenform" action="${esc(new URL('login/callback', env.issuer).href)}">`
    + field('wa', 'wsignin1.0') + field('wresult', ticket) + field('wctx', wctx)
    + '<noscript><p>Script is disabled. Click Submit to continue.</p><input type="submit" value="Submit"></noscript></form>';
}

/** /login/callback with the result of /usernamepassword/login (`wa=wsignin1.0`). */
export function isClassicResult(form: Record<string, any>) { return form.wa === 'wsignin1.0' && typeof form.wresult === 'string'; }

export async function classicCallback(ctx: Koa.Context, env: Env, engine: Engine, form: Record<string, any>) {
  let state: unknown;
  try { state = JSON.parse(String(form.wctx ?? '')).state; } catch { state = undefined; }
  const lc = await loadInteraction(ctx, engine, state);
  if (!lc) return;
  const ticket = await peekLoginTicket(env, form.wresult, lc.client.id);
  if (!ticket || ticket.state !== lc.uid || !(await spendLoginTicket(env, ticket))) {
    return errorPage(ctx, lc.brand, 'This login has expired or was already used. Please go back to the application and sign in again.');
  }
  await finish(ctx, lc.interaction, { login: { accountId: ticket.user_id, remember: true } });
}

/** What Lock on a classic page shows as "last time you logged in with…". */
async function ssoData(ctx: Koa.Context, env: Env, engine: Engine) {
  const session = await (engine.provider as any).Session.get(ctx);
  const user = session?.accountId ? await env.store.getUser(session.accountId) : undefined;
  if (!user) return { sso: false };
  const identity = JSON.parse(user.identities)[0] ?? {};
  const clients = Object.keys(session.authorizations ?? {});
  return {
    sso: true, sessionClients: clients, lastUsedClientID: clients[clients.length - 1],
    lastUsedConnection: { name: identity.connection, strategy: identity.provider },
    lastUsedUserID: user.user_id, lastUsedUsername: user.email ?? user.username,
  };
}

export function classicRoutes(router: Router, env: Env, engine: Engine) {
  router.post('/usernamepassword/login', async (ctx) => {
    try { await usernamePasswordLogin(ctx, env, engine); } catch (e) { sendLegacy(ctx, refusal(e)); }
  });
  // Postern asks no captcha on these pages.
  router.post('/usernamepassword/challenge', (ctx) => { ctx.body = { required: false }; });
  router.get('/user/ssodata', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await ssoData(ctx, env, engine);
  });
}
