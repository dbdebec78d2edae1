import type Router from '@koa/router';
import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';
import type { Engine } from '../oidc/provider.ts';
import { readParams } from '../lib/body.ts';
import { callbackUrl, finishUpstreamLogin, startUpstreamLogin, type UpstreamRequest } from '../connections/upstream-login.ts';
import { mapProfile } from '../connections/profile-map.ts';
import { createFederatedUser, ENTERPRISE_STRATEGIES, findFederatedUser, syncFederatedUser, type ConnectionDoc } from '../tenant/federated-users.ts';
import { recordFailedLogin, recordLogin } from '../oidc/account.ts';
import { accountFor } from '../tenant/account-linking.ts';
import { storeTokenSet } from '../tenant/federated-token-sets.ts';
import { errorPage, engineBranding, finish, loadInteraction, type LoginContext } from './interaction.ts';
import { loginAttempt } from './login.ts';
import { classicCallback, isClassicResult } from './classic.ts';

// Logins through an enterprise connection (Okta Workforce, OIDC): the
// redirect to the IdP, chosen by `connection=`, by a button, or by the email's
// domain (home realm discovery), and /login/callback where the IdP sends the
// browser back. The pending request is kept on the engine's interaction.

const ttl = (interaction: any) => Math.max(1, interaction.exp - Math.floor(Date.now() / 1000));

/** Enterprise connections enabled for the application. */
export async function enterpriseConnections(env: Env, clientId: string): Promise<ConnectionDoc[]> {
  const all = (await env.store.connections.list()).items as ConnectionDoc[];
  return all.filter((c: any) => ENTERPRISE_STRATEGIES.has(c.data.strategy) && (c.data.enabled_clients ?? []).includes(clientId));
}

/** Home realm discovery: the enabled connection whose `domain_aliases` hold the email's domain. */
export async function connectionForEmail(env: Env, clientId: string, email: string): Promise<ConnectionDoc | undefined> {
  const domain = /@([^@\s]+)$/.exec(email.trim())?.[1]?.toLowerCase();
  if (!domain) return undefined;
  return (await enterpriseConnections(env, clientId)).find((c) =>
    (c.data.options?.domain_aliases ?? []).some((d: unknown) => typeof d === 'string' && d.toLowerCase() === domain));
}

/** Sends the browser to the connection's IdP, remembering what the callback must check. */
export async function redirectUpstream(ctx: Koa.Context, env: Env, lc: LoginContext, conn: ConnectionDoc, loginHint?: string) {
  const { url, request } = await startUpstreamLogin(env, conn, lc.uid, lc.interaction.params, loginHint);
  lc.interaction.lastSubmission = { ...lc.interaction.lastSubmission, upstream: request };
  await lc.interaction.save(ttl(lc.interaction));
  ctx.status = 302;
  ctx.redirect(url);
}

/** The application's authorization ends with an OAuth error instead of a login. */
async function deny(ctx: Koa.Context, interaction: any, error: string, description: string) {
  await finish(ctx, interaction, { error, error_description: description });
}

/** The callback's URL as the IdP addressed it (the issuer's origin, whatever proxy is in front). */
function currentRequest(env: Env, ctx: Koa.Context, form: Record<string, any>): URL | Request {
  if (ctx.method === 'GET') return new URL(`${callbackUrl(env)}?${ctx.querystring}`);
  return new Request(callbackUrl(env), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) });
}

async function callback(ctx: Koa.Context, env: Env, engine: Engine) {
  const form = ctx.method === 'POST' ? await readParams(ctx).catch(() => ({} as Record<string, any>)) : ctx.query as Record<string, any>;
  if (isClassicResult(form)) return classicCallback(ctx, env, engine, form);
  const state = typeof form.state === 'string' ? form.state : '';
  const lc = await loadInteraction(ctx, engine, state.split('.')[0]);
  if (!lc) return;
  const request: UpstreamRequest | undefined = lc.interaction.lastSubmission?.upstream;
  if (!request || request.state !== state) return errorPage(ctx, lc.brand, 'This login session has expired or is invalid. Please go back to the application and sign in again.');
  // One use: a replayed callback finds nothing to finish.
  delete lc.interaction.lastSubmission.upstream;
  await lc.interaction.save(ttl(lc.interaction));
  const conn = await env.store.connections.findBy('name', request.connection) as ConnectionDoc | undefined;
  if (!conn) return deny(ctx, lc.interaction, 'access_denied', 'The connection no longer exists');
  if (typeof form.error === 'string') return deny(ctx, lc.interaction, form.error === 'access_denied' ? 'access_denied' : 'server_error', String(form.error_description ?? form.error));

  let result;
  try {
    result = await finishUpstreamLogin(env, conn, request, currentRequest(env, ctx, form));
  } catch (e) {
    env.log.warn({ connection: conn.data.name, reason: (e as Error).message }, 'upstream login failed');
    return deny(ctx, lc.interaction, 'access_denied', `The identity provider's response could not be validated: ${(e as Error).message}`);
  }
  const profile = mapProfile(conn.data.options, { tokenset: result.tokenset, userinfo: result.userinfo, connection: { id: conn.id, strategy: conn.data.strategy, name: conn.data.name } });
  const attempt = loginAttempt(ctx, lc, conn, profile.email ?? result.sub);
  const mode = conn.data.options?.set_user_root_attributes ?? 'on_each_login';
  let user = await findFederatedUser(env, conn, result.sub);
  try {
    if (!user && mode === 'never_on_login') {
      await recordFailedLogin(env, attempt, undefined);
      return deny(ctx, lc.interaction, 'access_denied', 'The user does not exist and this connection does not create users at login');
    }
    user = !user ? await createFederatedUser(env, conn, result.sub, profile) : mode === 'on_each_login' ? await syncFederatedUser(env, user, profile) : user;
  } catch (e) {
    if ((e as any).statusCode !== 409) throw e;
    return deny(ctx, lc.interaction, 'access_denied', 'A user with this email address already exists in the connection');
  }
  const account = await accountFor(env, user);
  if (!account || user.blocked || account.blocked) {
    await recordFailedLogin(env, attempt, user, true);
    return deny(ctx, lc.interaction, 'unauthorized', 'user is blocked');
  }
  await storeTokenSet(env, conn, user, result.tokens);
  await recordLogin(env, account, attempt, user);
  await finish(ctx, lc.interaction, { login: { accountId: account.user_id, remember: true, amr: ['federated'] } });
}

export function federatedRoutes(router: Router, env: Env, engine: Engine) {
  // A connection button on the login page.
  router.get('/u/login/federated', async (ctx) => {
    const lc = await loadInteraction(ctx, engine, ctx.query.state);
    if (!lc) return;
    const conn = (await enterpriseConnections(env, lc.client.id)).find((c) => c.data.name === ctx.query.connection);
    if (!conn) return errorPage(ctx, await engineBranding(engine), 'This connection is not enabled for the application.');
    await redirectUpstream(ctx, env, lc, conn);
  });
  router.get('/login/callback', (ctx) => callback(ctx, env, engine));
  // front_channel connections answer with a form post.
  router.post('/login/callback', (ctx) => callback(ctx, env, engine));
}
