import type Router from '@koa/router';
import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';
import type { Engine } from '../oidc/provider.ts';
import { ApiError } from '../lib/errors.ts';
import { RegistrationDenied, registerUser } from '../actions/registration.ts';
import { executionDetails } from '../actions/executions.ts';
import { checkPassword } from '../connections/password-policy.ts';
import { attemptFields, recordLogin } from '../oidc/account.ts';
import { loginAttempt, textsFor } from './login.ts';
import { csrfToken, page } from './html.ts';
import { type LoginContext, csrfSecret, dbConnections, finish, loadInteraction, readInteractionForm } from './interaction.ts';
import { signupForm } from './pages.ts';
import { invitedEmail } from './invitation.ts';

// /u/signup: a new database user under the connection's password policy
// (createUser enforces it), then logged in straight away as Auth0 does.

async function renderSignup(ctx: Koa.Context, env: Env, lc: LoginContext, opts: { email?: string; username?: string; error?: string; status?: number } = {}) {
  const [conn] = await dbConnections(env, lc.client.id, lc.interaction.params.connection);
  const invited = await invitedEmail(env, lc.interaction);
  const t = await textsFor(env, lc, 'signup');
  page(ctx, {
    title: t.title, brand: lc.brand, status: opts.status,
    body: signupForm({
      t, state: lc.uid, csrf: csrfToken(ctx, csrfSecret(env)), email: invited ?? opts.email ?? lc.interaction.params.login_hint, emailFixed: Boolean(invited), error: opts.error,
      loginUrl: `/u/login?${new URLSearchParams({ state: lc.uid })}`,
      policy: conn ? `Your password must have:\n${checkPassword(conn.data.options, { password: '' }).policy}` : undefined,
      username: conn?.data.options?.requires_username ? opts.username ?? '' : undefined,
    }),
  });
}

/** The person's view of createUser's refusals: no error class names, the policy spelled out. */
function signupMessage(e: ApiError): string {
  if (e instanceof RegistrationDenied) return e.message;
  if (e.errorCode === 'auth0_idp_error' || e.statusCode === 409) return 'Something went wrong, please try again later.';
  const text = e.message.replace(/^\w+Error: /, '').replace(/^Payload validation error: '?Missing required property: (\w+)'?\.?$/, 'Please enter a $1.');
  const policy = (e.extra as { policy?: string } | undefined)?.policy;
  return e.errorCode === 'invalid_password' && policy ? `${text}. Your password must have:\n${policy}` : `${text}.`.replace(/\.\.$/, '.');
}

export function signupRoutes(router: Router, env: Env, engine: Engine) {
  router.get('/u/signup', async (ctx) => {
    const lc = await loadInteraction(ctx, engine, ctx.query.state);
    if (lc) await renderSignup(ctx, env, lc);
  });

  router.post('/u/signup', async (ctx) => {
    const form = await readInteractionForm(ctx, env, engine);
    if (!form) return;
    const { body, lc } = form;
    const email = typeof body.email === 'string' ? body.email.trim() : '';
    const username = typeof body.username === 'string' && body.username.trim() ? body.username.trim() : undefined;
    const password = typeof body.password === 'string' ? body.password : '';
    if (!/^[^\s@]+@[^\s@]+$/.test(email) || !password) return renderSignup(ctx, env, lc, { email, username, error: 'Please enter a valid email address and a password.', status: 400 });
    const invited = await invitedEmail(env, lc.interaction);
    if (invited && invited.toLowerCase() !== email.toLowerCase()) return renderSignup(ctx, env, lc, { username, error: 'Please sign up with the email address the invitation was sent to.', status: 400 });
    const [conn] = await dbConnections(env, lc.client.id, lc.interaction.params.connection);
    if (!conn || conn.data.options?.disable_signup) return renderSignup(ctx, env, lc, { email, username, error: 'Sign up is not available for this application.', status: 400 });
    const attempt = loginAttempt(ctx, lc, conn, email);
    let user;
    try {
      user = await registerUser(env, { ctx, params: { email, username }, client: lc.client }, { connection: conn.data.name, email, password, ...(conn.data.options?.requires_username ? { username } : {}) });
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      env.events.record({ ...attemptFields(attempt), ...executionDetails(ctx), type: 'fs', description: e instanceof RegistrationDenied ? e.reason : e.message });
      return renderSignup(ctx, env, lc, { email, username, error: signupMessage(e), status: 400 });
    }
    env.events.record({ ...attemptFields(attempt), ...executionDetails(ctx), type: 'ss', description: 'Successful signup', user_id: user.user_id });
    await recordLogin(env, user, attempt);
    await finish(ctx, lc.interaction, { login: { accountId: user.user_id, remember: true } });
  });
}
