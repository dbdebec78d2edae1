import type Router from '@koa/router';
import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';
import type { Engine } from '../oidc/provider.ts';
import { readParams } from '../lib/body.ts';
import { listUserOrgIds } from '../store/rbac-store.ts';
import { findOrganization } from '../tenant/rbac.ts';
import { postLoginChoices } from '../tenant/organizations-login.ts';
import { POST_LOGIN_PROMPT, PRE_LOGIN_PROMPT } from '../oidc/organization.ts';
import { csrfField, csrfToken, esc, page } from './html.ts';
import { type LoginContext, csrfSecret, errorPage, finish, loadInteraction, rejectForgedForm } from './interaction.ts';

// /u/organization: Auth0's two organization prompts. Before login the person
// types their organization's name; after login they pick one of their
// organizations. Either way the choice goes into the authorization's
// parameters and the browser goes back to the engine, which checks membership.

const alert = (m?: string) => (m ? `<p class="error" role="alert" id="form-error">${esc(m)}</p>` : '');

function renderSelection(ctx: Koa.Context, env: Env, lc: LoginContext, opts: { value?: string; error?: string; status?: number } = {}) {
  page(ctx, {
    title: 'Enter your organization', brand: lc.brand, status: opts.status,
    body: `<p>Enter your organization name to continue to ${esc(lc.client.data.name ?? 'the application')}.</p>
${alert(opts.error)}
<form method="post" action="/u/organization" novalidate>
${csrfField(csrfToken(ctx, csrfSecret(env)))}<input type="hidden" name="state" value="${esc(lc.uid)}">
<label for="organizationName">Organization name</label>
<input id="organizationName" name="organizationName" type="text" autocomplete="organization" required autofocus value="${esc(opts.value ?? '')}"${opts.error ? ' aria-describedby="form-error"' : ''}>
<button type="submit" name="action" value="default">Continue</button>
</form>`,
  });
}

async function userOrganizations(env: Env, userId: string) {
  const { ids } = await listUserOrgIds(env.store, userId);
  return (await env.store.organizations.getMany(ids)).sort((a, b) => String(a.data.name).localeCompare(String(b.data.name)));
}

function renderPicker(ctx: Koa.Context, env: Env, lc: LoginContext, orgs: { id: string; data: any }[], error?: string) {
  const buttons = orgs.map((o) => `<li><button type="submit" name="organization" value="${esc(o.id)}">${esc(o.data.display_name || o.data.name)}</button></li>`).join('\n');
  page(ctx, {
    title: 'Select your organization', brand: lc.brand, status: error ? 400 : 200,
    body: `<p>Choose the organization to use with ${esc(lc.client.data.name ?? 'the application')}.</p>
${alert(error)}
<form method="post" action="/u/organization">
${csrfField(csrfToken(ctx, csrfSecret(env)))}<input type="hidden" name="state" value="${esc(lc.uid)}">
<ul aria-label="Your organizations">
${buttons}
</ul>
</form>`,
  });
}

/** The organization prompt this interaction waits on, or an error page. */
async function load(ctx: Koa.Context, engine: Engine, state: unknown) {
  const lc = await loadInteraction(ctx, engine, state);
  if (!lc) return undefined;
  const prompt = lc.interaction.prompt?.name;
  if (prompt === PRE_LOGIN_PROMPT) return { lc, when: 'pre' as const };
  const userId: string | undefined = lc.interaction.session?.accountId;
  if (prompt === POST_LOGIN_PROMPT && userId) return { lc, when: 'post' as const, userId };
  errorPage(ctx, lc.brand, 'There is no organization to choose here.');
  return undefined;
}

async function choose(ctx: Koa.Context, lc: LoginContext, orgId: string) {
  lc.interaction.params.organization = orgId;
  await finish(ctx, lc.interaction, {});
}

export function organizationRoutes(router: Router, env: Env, engine: Engine) {
  router.get('/u/organization', async (ctx) => {
    const p = await load(ctx, engine, ctx.query.state);
    if (!p) return;
    if (p.when === 'pre') return renderSelection(ctx, env, p.lc);
    const choices = postLoginChoices(await userOrganizations(env, p.userId));
    if (!choices.ok) return finish(ctx, p.lc.interaction, { ...choices.err });
    renderPicker(ctx, env, p.lc, choices.orgs);
  });

  router.post('/u/organization', async (ctx) => {
    const body = await readParams(ctx).catch(() => ({} as Record<string, any>));
    const p = await load(ctx, engine, body.state);
    if (!p) return;
    if (rejectForgedForm(ctx, env, p.lc.brand, body)) return;
    if (p.when === 'pre') {
      const value = typeof body.organizationName === 'string' ? body.organizationName.trim() : '';
      if (!value) return renderSelection(ctx, env, p.lc, { error: 'Please enter your organization name.', status: 400 });
      const org = await findOrganization(env, value);
      if (!org) return renderSelection(ctx, env, p.lc, { value, error: `We could not find an organization named "${value}".`, status: 400 });
      return choose(ctx, p.lc, org.id);
    }
    const orgs = await userOrganizations(env, p.userId);
    const picked = orgs.find((o) => o.id === body.organization);
    if (!picked) return renderPicker(ctx, env, p.lc, orgs, 'Please choose one of your organizations.');
    return choose(ctx, p.lc, picked.id);
  });
}
