import type Router from '@koa/router';
import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';
import type { Engine } from '../oidc/provider.ts';
import { userByLogin, verifyPassword } from '../tenant/users.ts';
import { accountFor } from '../tenant/account-linking.ts';
import { attackRefusal, recordFailedLogin, recordLogin, type LoginAttempt } from '../oidc/account.ts';
import { csrfToken, page } from './html.ts';
import { type LoginContext, csrfSecret, dbConnections, finish, loadInteraction, readInteractionForm } from './interaction.ts';
import { identifierForm, loginForm } from './pages.ts';
import { screenText } from './custom-text.ts';
import { connectionForEmail, enterpriseConnections, redirectUpstream } from './federated.ts';
import { loginPasswordlessConnection, renderAddressPage, ticketLogin } from './passwordless.ts';
import { crossOriginTicketLogin } from './cross-origin.ts';
import { customLoginPage, renderCustomLoginPage } from './classic.ts';

// /u/login: email (or, where the connection requires one, username) and
// password against the application's database connection.

const WRONG = 'Wrong email or password';

/** Buttons for the enterprise connections shown on the login page (`show_as_button`). */
async function connectionButtons(env: Env, lc: LoginContext) {
  return (await enterpriseConnections(env, lc.client.id)).filter((c: any) => c.data.show_as_button).map((c: any) => ({
    label: `Continue with ${c.data.display_name ?? c.data.name}`,
    url: `/u/login/federated?${new URLSearchParams({ state: lc.uid, connection: c.data.name })}`,
  }));
}

/** Identifier first (the tenant's `identifier_first` prompt setting): the email alone, then the IdP or the password. */
const identifierFirst = async (env: Env) => Boolean((await env.store.getTenantDoc<any>('prompts.settings'))?.identifier_first);

/** A screen's texts for this login's application and tenant. */
export const textsFor = (env: Env, lc: LoginContext, prompt: string, screen = prompt) =>
  screenText(env, prompt, screen, { clientName: lc.client.data.name ?? 'the application', companyName: lc.brand.name });

async function renderIdentifier(ctx: Koa.Context, env: Env, lc: LoginContext, opts: { email?: string; error?: string; status?: number } = {}) {
  const t = await textsFor(env, lc, 'login-id');
  page(ctx, {
    title: t.title, brand: lc.brand, status: opts.status,
    body: identifierForm({
      t, state: lc.uid, csrf: csrfToken(ctx, csrfSecret(env)), email: opts.email ?? lc.interaction.params.login_hint, error: opts.error,
      buttons: await connectionButtons(env, lc),
      signupUrl: `/u/signup?${new URLSearchParams({ state: lc.uid })}`,
    }),
  });
}

async function renderLogin(ctx: Koa.Context, env: Env, lc: LoginContext, opts: { email?: string; error?: string; status?: number } = {}) {
  const q = (extra: Record<string, string>) => new URLSearchParams({ state: lc.uid, ...extra }).toString();
  const p = lc.interaction.params;
  const [conn] = await dbConnections(env, lc.client.id, p.connection);
  const t = await textsFor(env, lc, 'login');
  page(ctx, {
    title: t.title, brand: lc.brand, status: opts.status,
    body: loginForm({
      t, buttons: await connectionButtons(env, lc),
      state: lc.uid, csrf: csrfToken(ctx, csrfSecret(env)), email: opts.email ?? p.login_hint, error: opts.error,
      withUsername: Boolean(conn?.data.options?.requires_username),
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
    if (!lc) return;
    if (lc.interaction.params.login_ticket) return crossOriginTicketLogin(ctx, env, lc);
    // /authorize?connection=<enterprise connection> goes straight to its IdP.
    const named = lc.interaction.params.connection;
    const enterprise = named ? (await enterpriseConnections(env, lc.client.id)).find((c) => c.data.name === named) : undefined;
    if (enterprise) return redirectUpstream(ctx, env, lc, enterprise, lc.interaction.params.login_hint);
    if (lc.interaction.params.passwordless_ticket) return ticketLogin(ctx, env, lc);
    const custom = await customLoginPage(env, lc.client);
    if (custom) return renderCustomLoginPage(ctx, env, lc, custom);
    const passwordless = await loginPasswordlessConnection(env, lc);
    if (passwordless) return renderAddressPage(ctx, env, lc, passwordless);
    if (!named && await identifierFirst(env)) return renderIdentifier(ctx, env, lc);
    await renderLogin(ctx, env, lc);
  });

  router.post('/u/login/identifier', async (ctx) => {
    const form = await readInteractionForm(ctx, env, engine);
    if (!form) return;
    const email = typeof form.body.username === 'string' ? form.body.username.trim() : '';
    if (!email) return renderIdentifier(ctx, env, form.lc, { error: 'Please enter your email address.', status: 400 });
    const conn = await connectionForEmail(env, form.lc.client.id, email);
    if (conn) return redirectUpstream(ctx, env, form.lc, conn, email);
    await renderLogin(ctx, env, form.lc, { email });
  });

  router.post('/u/login', async (ctx) => {
    const form = await readInteractionForm(ctx, env, engine);
    if (!form) return;
    const { body, lc } = form;
    const email = typeof body.username === 'string' ? body.username.trim() : '';
    const password = typeof body.password === 'string' ? body.password : '';
    // Home realm discovery: an email in an enterprise connection's domain logs in at its IdP, with no password here.
    const realm = email && !lc.interaction.params.connection ? await connectionForEmail(env, lc.client.id, email) : undefined;
    if (realm) return redirectUpstream(ctx, env, lc, realm, email);
    if (!email || !password) return renderLogin(ctx, env, lc, { email, error: 'Please enter your email address and password.', status: 400 });
    const [conn] = await dbConnections(env, lc.client.id, lc.interaction.params.connection);
    if (!conn) return renderLogin(ctx, env, lc, { email, error: 'No database connection is enabled for this application.', status: 400 });
    const user = await userByLogin(env, conn, email);
    const attempt = loginAttempt(ctx, lc, conn, email);
    const wrong = conn.data.options?.requires_username ? 'Wrong username or password' : WRONG;
    const refusal = await attackRefusal(env, attempt, user);
    if (refusal) return renderLogin(ctx, env, lc, { email, error: refusal, status: 429 });
    if (!(await verifyPassword(user, password, env)) || !user) {
      await recordFailedLogin(env, attempt, user);
      return renderLogin(ctx, env, lc, { email, error: wrong, status: 401 });
    }
    const account = await accountFor(env, user);
    if (!account || user.blocked || account.blocked) {
      await recordFailedLogin(env, attempt, user, true);
      return renderLogin(ctx, env, lc, { email, error: 'Your account has been blocked. Please contact the administrator.', status: 401 });
    }
    await recordLogin(env, account, attempt, user);
    await finish(ctx, lc.interaction, { login: { accountId: account.user_id, remember: true } });
  });
}
