import type Router from '@koa/router';
import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';
import type { Engine } from '../oidc/provider.ts';
import { csrfToken, page } from './html.ts';
import { type LoginContext, csrfSecret, errorPage, finish, loadInteraction, readInteractionForm } from './interaction.ts';
import { consentForm } from './pages.ts';

// /u/consent: third-party applications (is_first_party: false) must be
// approved by the person; first-party ones are approved without asking.

function requested(interaction: any) {
  const d = interaction.prompt?.details ?? {};
  const oidc: string[] = d.missingOIDCScope ?? [];
  const resources: Record<string, string[]> = d.missingResourceScopes ?? {};
  return { oidc, resources, claims: (d.missingOIDCClaims ?? []) as string[] };
}

async function approve(ctx: Koa.Context, engine: Engine, lc: LoginContext) {
  const { Grant } = engine.provider as any;
  const i = lc.interaction;
  let grant = i.grantId ? await Grant.find(i.grantId) : undefined;
  grant ??= new Grant({ accountId: i.session?.accountId, clientId: i.params.client_id });
  const r = requested(i);
  if (r.oidc.length) grant.addOIDCScope(r.oidc.join(' '));
  if (r.claims.length) grant.addOIDCClaims(r.claims);
  for (const [indicator, scopes] of Object.entries(r.resources)) grant.addResourceScope(indicator, scopes.join(' '));
  const grantId = await grant.save();
  await finish(ctx, i, { consent: { grantId } });
}

export function consentRoutes(router: Router, env: Env, engine: Engine) {
  router.get('/u/consent', async (ctx) => {
    const lc = await loadInteraction(ctx, engine, ctx.query.state);
    if (!lc) return;
    if (lc.interaction.prompt?.name !== 'consent' || !lc.interaction.session?.accountId) return errorPage(ctx, lc.brand, 'There is nothing to approve.');
    if (lc.client.data.is_first_party !== false) return approve(ctx, engine, lc);
    const r = requested(lc.interaction);
    const missing = [...r.oidc, ...Object.values(r.resources).flat()];
    // prompt=consent with everything already granted: show what the request asks for.
    const scopes = missing.length ? missing : String(lc.interaction.params.scope ?? '').split(' ').filter(Boolean);
    const user = await env.store.getUser(lc.interaction.session.accountId);
    page(ctx, {
      title: 'Authorize application', brand: lc.brand,
      body: consentForm({ state: lc.uid, csrf: csrfToken(ctx, csrfSecret(env)), appName: lc.client.data.name ?? lc.client.id, scopes, user: user?.email ?? undefined }),
    });
  });

  router.post('/u/consent', async (ctx) => {
    const form = await readInteractionForm(ctx, env, engine);
    if (!form) return;
    const { body, lc } = form;
    if (lc.interaction.prompt?.name !== 'consent' || !lc.interaction.session?.accountId) return errorPage(ctx, lc.brand, 'There is nothing to approve.');
    if (body.action === 'accept') return approve(ctx, engine, lc);
    await finish(ctx, lc.interaction, { error: 'access_denied', error_description: 'User did not authorize the request' });
  });
}
