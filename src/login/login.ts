import type Router from '@koa/router';
import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';
import type { Engine } from '../oidc/provider.ts';
import { userByLogin, verifyPassword } from '../tenant/users.ts';
import { attackRefusal, recordFailedLogin, recordLogin, type LoginAttempt } from '../oidc/account.ts';
import { csrfToken, page } from './html.ts';
import { type LoginContext, csrfSecret, dbConnections, finish, loadInteraction, readInteractionForm } from './interaction.ts';
import { loginForm } from './pages.ts';

// /u/login: email (or, where the connection requires one, username) and
// password against the application's database connection.

const WRONG = 'Wrong email or password';

async function renderLogin(ctx: Koa.Context, env: Env, lc: LoginContext, opts: { email?: string; error?: string; status?: number } = {}) {
  const q = (extra: Record<string, string>) => new URLSearchParams({ state: lc.uid, ...extra }).toString();
  const p = lc.interaction.params;
  const [conn] = await dbConnections(env, lc.client.id, p.connection);
  page(ctx, {
    title: 'Welcome', brand: lc.brand, status: opts.status,
    body: loginForm({
      state: lc.uid, csrf: csrfToken(ctx, csrfSecret(env)), email: opts.email ?? p.login_hint, error: opts.error,
      withUsername: Boolean(conn?.data.options?.requires_username),
      appName: lc.client.data.name ?? 'the application',
      resetUrl: `/u/reset-password/request?${new URLSearchParams({ state: lc.uid, client_id: lc.client.id, ...(p.connection ? { connection: p.connection } : {}) })}`,
      signupUrl: `/u/signup?${q({})}`,
    }),
  });
}

/** A login page's attempt, for the tenant log. */
export const loginAttempt = (ctx: Koa.Context, lc: LoginContext, conn: LoginAttempt['connection'], identifier: string): LoginAttempt => ({
  ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined, identifier,
  client: { id: lc.client.id, name: lc.client.data.name }, connection: conn,
});

export function loginRoutes(router: Router, env: Env, engine: Engine) {
  router.get('/u/login', async (ctx) => {
    const lc = await loadInteraction(ctx, engine, ctx.query.state);
    if (lc) await renderLogin(ctx, env, lc);
  });

  router.post('/u/login', async (ctx) => {
    const form = await readInteractionForm(ctx, env, engine);
    if (!form) return;
    const { body, lc } = form;
    const email = typeof body.username === 'string' ? body.username.trim() : '';
    const password = typeof body.password === 'string' ? body.password : '';
    if (!email || !password) return renderLogin(ctx, env, lc, { email, error: 'Please enter your email address and password.', status: 400 });
    const [conn] = await dbConnections(env, lc.client.id, lc.interaction.params.connection);
    if (!conn) return renderLogin(ctx, env, lc, { email, error: 'No database connection is enabled for this application.', status: 400 });
    const user = await userByLogin(env, conn, email);
    const attempt = loginAttempt(ctx, lc, conn, email);
    const wrong = conn.data.options?.requires_username ? 'Wrong username or password' : WRONG;
    const refusal = await attackRefusal(env, attempt, user);
    if (refusal) return renderLogin(ctx, env, lc, { email, error: refusal, status: 429 });
    if (!(await verifyPassword(user, password)) || !user) {
      await recordFailedLogin(env, attempt, user);
      return renderLogin(ctx, env, lc, { email, error: wrong, status: 401 });
    }
    if (user.blocked) {
      await recordFailedLogin(env, attempt, user, true);
      return renderLogin(ctx, env, lc, { email, error: 'Your account has been blocked. Please contact the administrator.', status: 401 });
    }
    await recordLogin(env, user, attempt);
    await finish(ctx, lc.interaction, { login: { accountId: user.user_id, remember: true } });
  });
}
