import type Router from '@koa/router';
import { requestFacts } from '../tenant/logs.ts';
import { clearFailures } from '../store/login-failures.ts';
import type Koa from 'koa';
import { ApiError } from '../lib/errors.ts';
import { readParams } from '../lib/body.ts';
import { checkPassword } from '../connections/password-policy.ts';
import type { Env } from '../tenant/env.ts';
import { findDbConnection, updateUser } from '../tenant/users.ts';
import { passwordChanged, passwordResetChallenge } from '../actions/registration.ts';
import { executionDetails } from '../actions/executions.ts';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { UserRow } from '../store/schema.ts';
import type { TicketData } from './tickets.ts';
import { checkCsrf, csrfField, csrfToken, esc, page, type Branding } from './html.ts';
import { branding } from './branding.ts';
import { requestPasswordReset } from './account-mail.ts';
import { claimTicket, peekTicket, releaseTicket, resultRedirect } from './tickets.ts';
import { csrfSecret } from './interaction.ts';

// Forgot password (/u/reset-password/request) and the page the emailed link
// opens (/u/reset-password?ticket=...). The request page answers the same
// whether or not the account exists; the reset page enforces the
// connection's password policy and history through updateUser.

const EMAIL = /^[^\s@]+@[^\s@]+$/;
const str = (v: unknown) => (typeof v === 'string' ? v : '');

const message = (ctx: Koa.Context, brand: Branding, title: string, text: string, status = 200, extra = '') =>
  page(ctx, { title, brand, status, body: `<p role="status">${esc(text)}</p>${extra}` });
/** The login page's interaction id, so the person can go back to it. */
const loginState = (v: unknown) => (typeof v === 'string' && /^[\w-]{10,64}$/.test(v) ? v : '');
const backToLogin = (state: string) => (state ? `<p><a href="/u/login?state=${esc(encodeURIComponent(state))}">Back to log in</a></p>` : '');
const invalidLink = (ctx: Koa.Context, brand: Branding) =>
  message(ctx, brand, 'Link expired', 'This link is invalid, has expired or has already been used. Please ask for a new one.', 400);
const expiredForm = (ctx: Koa.Context, brand: Branding) =>
  message(ctx, brand, 'Please try again', 'Your form expired. Please go back, reload the page and try again.', 403);

function requestForm(ctx: Koa.Context, env: Env, brand: Branding, v: { email?: string; connection?: string; client_id?: string; state?: string; error?: string }, status = 200) {
  const hidden = (['connection', 'client_id', 'state'] as const).filter((k) => v[k]).map((k) => `<input type="hidden" name="${k}" value="${esc(v[k])}">`).join('');
  page(ctx, {
    title: 'Forgot your password?', brand, status,
    body: `<p>Enter your email address and we will send you a link to reset your password.</p>
${v.error ? `<p class="error" role="alert">${esc(v.error)}</p>` : ''}
<form method="post" action="/u/reset-password/request">${csrfField(csrfToken(ctx, csrfSecret(env)))}${hidden}
<label for="email">Email address</label><input id="email" name="email" type="email" autocomplete="email" required autofocus value="${esc(v.email)}">
<button type="submit">Send reset link</button></form>${backToLogin(v.state ?? '')}`,
  });
}

async function policyText(env: Env, connection: string) {
  const conn = await findDbConnection(env, connection).catch(() => undefined);
  return conn ? checkPassword(conn.data.options, { password: '' }).policy : '';
}

// The form carries proof that the password-reset-post-challenge actions let this
// ticket through when the page was shown, so that posting it does not run them again.
const challengeProof = (env: Env, ticket: string) => createHmac('sha256', env.box.derive('postern reset challenge')).update(ticket).digest('base64url');
function provenChallenge(env: Env, ticket: string, given: unknown) {
  const want = Buffer.from(challengeProof(env, ticket));
  const got = Buffer.from(str(given));
  return got.length === want.length && timingSafeEqual(got, want);
}

/** Runs the post-challenge actions; true (after answering the refusal) when they refuse the reset. */
async function refusedReset(ctx: Koa.Context, env: Env, brand: Branding, data: TicketData, user: UserRow) {
  const client = data.client_id ? await env.store.clients.get(data.client_id) : undefined;
  const reason = await passwordResetChallenge(env, { ctx, params: {}, client }, user);
  if (reason === undefined) return false;
  env.events.record({ ...requestFacts(ctx), ...executionDetails(ctx), type: 'fcp', description: reason, user_id: user.user_id, user_name: user.email ?? undefined, connection: user.connection });
  message(ctx, brand, 'Password reset not allowed', 'Your password cannot be reset right now. Please contact the application\'s support.', 403);
  return true;
}

function resetForm(ctx: Koa.Context, env: Env, brand: Branding, v: { ticket: string; email?: string | null; policy: string; error?: string }, status = 200) {
  page(ctx, {
    title: 'Change your password', brand, status,
    body: `${v.email ? `<p>Enter a new password for ${esc(v.email)}.</p>` : ''}
${v.error ? `<p class="error" role="alert">${esc(v.error).replace(/\n/g, '<br>')}</p>` : ''}
${v.policy ? `<p id="policy">Your password must have:<br>${esc(v.policy).replace(/\n/g, '<br>')}</p>` : ''}
<form method="post" action="/u/reset-password">${csrfField(csrfToken(ctx, csrfSecret(env)))}<input type="hidden" name="ticket" value="${esc(v.ticket)}"><input type="hidden" name="challenge" value="${esc(challengeProof(env, v.ticket))}">
<label for="password">New password</label><input id="password" name="password" type="password" autocomplete="new-password" required autofocus aria-describedby="policy">
<label for="confirm">Confirm new password</label><input id="confirm" name="confirm_password" type="password" autocomplete="new-password" required>
<button type="submit">Reset password</button></form>`,
  });
}

function policyMessage(e: ApiError): string {
  const policy = (e.extra as any)?.policy;
  return policy ? `${e.message.replace(/^\w+Error: /, '')}. Your password must have:\n${policy}` : e.message.replace(/^\w+Error: /, '');
}

export function resetPasswordRoutes(router: Router, env: Env) {
  router.get('/u/reset-password/request', async (ctx) => {
    requestForm(ctx, env, await branding(env), { email: str(ctx.query.email), connection: str(ctx.query.connection), client_id: str(ctx.query.client_id), state: loginState(ctx.query.state) });
  });

  router.post('/u/reset-password/request', async (ctx) => {
    const brand = await branding(env);
    const body = await readParams(ctx);
    if (!checkCsrf(ctx, csrfSecret(env), body._csrf)) return expiredForm(ctx, brand);
    const v = { email: str(body.email).trim(), connection: str(body.connection), client_id: str(body.client_id), state: loginState(body.state) };
    if (!EMAIL.test(v.email) || v.email.length > 320) return requestForm(ctx, env, brand, { ...v, error: 'Please enter a valid email address.' }, 400);
    requestPasswordReset(env, { email: v.email, connection: v.connection || undefined, client_id: v.client_id || undefined });
    message(ctx, brand, 'Check your email', `If an account exists for ${v.email}, we have sent it a link to reset the password.`, 200, backToLogin(v.state));
  });

  router.get('/u/reset-password', async (ctx) => {
    const brand = await branding(env);
    const ticket = str(ctx.query.ticket);
    const data = await peekTicket(env, 'PasswordTicket', ticket);
    const user = data && await env.store.getUser(data.user_id, { linked: true });
    if (!user) return invalidLink(ctx, brand);
    if (await refusedReset(ctx, env, brand, data, user)) return;
    resetForm(ctx, env, brand, { ticket, email: user.email, policy: await policyText(env, user.connection) });
  });

  router.post('/u/reset-password', async (ctx) => {
    const brand = await branding(env);
    const body = await readParams(ctx);
    const ticket = str(body.ticket);
    if (!checkCsrf(ctx, csrfSecret(env), body._csrf)) return expiredForm(ctx, brand);
    const data = await claimTicket(env, 'PasswordTicket', ticket);
    const user = data && await env.store.getUser(data.user_id, { linked: true });
    if (!data || !user) return invalidLink(ctx, brand);
    // A form that was not shown by the page above has not been through the actions yet.
    if (!provenChallenge(env, ticket, body.challenge) && await refusedReset(ctx, env, brand, data, user)) {
      await releaseTicket(env, 'PasswordTicket', ticket);
      return;
    }
    const retry = async (error: string) => {
      await releaseTicket(env, 'PasswordTicket', ticket);
      resetForm(ctx, env, brand, { ticket, email: user.email, policy: await policyText(env, user.connection), error }, 400);
    };
    const password = str(body.password);
    if (!password) return retry('Please enter a new password.');
    if (password !== str(body.confirm_password)) return retry('The passwords do not match.');
    try {
      const saved = await updateUser(env, user.user_id, { password, ...(data.mark_email_as_verified ? { email_verified: true } : {}) }, { linked: true });
      passwordChanged(env, { ctx, params: {} }, saved);
    } catch (e) {
      if (e instanceof ApiError && e.statusCode === 400) return retry(policyMessage(e));
      await releaseTicket(env, 'PasswordTicket', ticket);
      throw e;
    }
    await clearFailures(env.store, [user.user_id]); // a new password ends brute-force blocks, as in Auth0
    env.events.record({ ...requestFacts(ctx), type: 'scp', description: 'Password changed', user_id: user.user_id, user_name: user.email ?? undefined, connection: user.connection });
    const target = resultRedirect(data, user.email, 'Your password has been changed successfully.');
    if (target) { ctx.status = 303; ctx.redirect(target); return; }
    message(ctx, brand, 'Password changed', 'Your password has been changed. You can now log in with your new password.');
  });
}
