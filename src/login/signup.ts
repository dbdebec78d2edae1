import type Router from '@koa/router';
import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';
import type { Engine } from '../oidc/provider.ts';
import { readParams } from '../lib/body.ts';
import { ApiError } from '../lib/errors.ts';
import { createUser } from '../tenant/users.ts';
import { recordLogin } from '../oidc/account.ts';
import { checkCsrf, csrfToken, page } from './html.ts';
import { csrfSecret, dbConnections, errorPage, finish, loadInteraction, type LoginContext } from './interaction.ts';
import { signupForm } from './pages.ts';

// /u/signup: a new database user under the connection's password policy
// (createUser enforces it), then logged in straight away as Auth0 does.

function renderSignup(ctx: Koa.Context, env: Env, lc: LoginContext, opts: { email?: string; error?: string; status?: number } = {}) {
  page(ctx, {
    title: 'Create your account', brand: lc.brand, status: opts.status,
    body: signupForm({
      state: lc.uid, csrf: csrfToken(ctx, csrfSecret(env)), email: opts.email ?? lc.interaction.params.login_hint, error: opts.error,
      appName: lc.client.data.name ?? 'the application', loginUrl: `/u/login?${new URLSearchParams({ state: lc.uid })}`,
    }),
  });
}

function signupMessage(e: ApiError): string {
  if (e.errorCode === 'auth0_idp_error' || e.statusCode === 409) return 'Something went wrong, please try again later.';
  const policy = (e as any).extra?.policy ?? (e as any).details?.policy;
  return policy ? `${e.message}. ${policy}` : e.message;
}

export function signupRoutes(router: Router, env: Env, engine: Engine) {
  router.get('/u/signup', async (ctx) => {
    const lc = await loadInteraction(ctx, engine, ctx.query.state);
    if (lc) renderSignup(ctx, env, lc);
  });

  router.post('/u/signup', async (ctx) => {
    const body = await readParams(ctx).catch(() => ({} as Record<string, any>));
    const lc = await loadInteraction(ctx, engine, body.state);
    if (!lc) return;
    if (!checkCsrf(ctx, csrfSecret(env), body._csrf)) return errorPage(ctx, lc.brand, 'Invalid or expired form. Please go back and try again.', 403);
    const email = typeof body.email === 'string' ? body.email.trim() : '';
    const password = typeof body.password === 'string' ? body.password : '';
    if (!/^[^\s@]+@[^\s@]+$/.test(email) || !password) return renderSignup(ctx, env, lc, { email, error: 'Please enter a valid email address and a password.', status: 400 });
    const [conn] = await dbConnections(env, lc.client.id, lc.interaction.params.connection);
    if (!conn || conn.data.options?.disable_signup) return renderSignup(ctx, env, lc, { email, error: 'Sign up is not available for this application.', status: 400 });
    let user;
    try {
      user = await createUser(env, { connection: conn.data.name, email, password });
    } catch (e) {
      if (e instanceof ApiError) return renderSignup(ctx, env, lc, { email, error: signupMessage(e), status: 400 });
      throw e;
    }
    await recordLogin(env, user, ctx.ip);
    await finish(ctx, lc.interaction, { login: { accountId: user.user_id, remember: true } });
  });
}
