import type Router from '@koa/router';
import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';
import type { Engine } from '../oidc/provider.ts';
import type { CachedClient } from '../oidc/clients.ts';
import { callbackAllowed } from '../oidc/redirect-uri.ts';
import { engineBranding, errorPage } from './interaction.ts';
import { endBrowserSession, signedOut } from './end-session.ts';
import { participantsOf } from '../samlp/participants.ts';
import { startSingleLogout } from '../samlp/logout.ts';

// Auth0's /v2/logout: ends the SSO session, then goes to returnTo only if it
// is an Allowed Logout URL of the application named by client_id (or, with no
// client_id, of the tenant). Anything else gets an error page, never a redirect.
// The session's SAML applications with slo_enabled hear of it first
// (IdP-initiated single logout), each by a LogoutRequest through the browser.

export function logoutRoutes(router: Router, env: Env, engine: Engine) {
  router.get('/v2/logout', async (ctx) => {
    const q = ctx.query;
    const returnTo = typeof q.returnTo === 'string' ? q.returnTo : undefined;
    const clientId = typeof q.client_id === 'string' ? q.client_id : undefined;
    const client = clientId ? await engine.clients.get(clientId) : undefined;
    let target: string | undefined;
    if (returnTo) {
      if (!callbackAllowed(await allowedLogoutUrls(engine, client), returnTo)) {
        return errorPage(ctx, await engineBranding(engine), `The "returnTo" querystring parameter "${returnTo}" is not defined as a valid URL in "Allowed Logout URLs".`, 400);
      }
      target = returnTo;
    } else if (client) {
      target = (client.data.allowed_logout_urls ?? []).find((u: string) => !u.includes('*'));
    }

    await logOutAndGo(ctx, env, engine, client, target, returnTo ? { return_to: returnTo } : undefined);
  });
}

/** Where a logout may send the browser: the application's Allowed Logout URLs, or the tenant's when none is named. */
export async function allowedLogoutUrls(engine: Engine, client: CachedClient | undefined): Promise<string[]> {
  const urls: unknown = client ? client.data.allowed_logout_urls : (await engine.settings.load()).allowed_logout_urls;
  return Array.isArray(urls) ? urls.filter((u): u is string => typeof u === 'string') : [];
}

/**
 * Ends the browser's session, tells its SAML applications (single logout
 * through the browser), then goes to `target`, already checked against the
 * allowed logout URLs, or shows the signed-out page.
 */
export async function logOutAndGo(ctx: Koa.Context, env: Env, engine: Engine, client: CachedClient | undefined, target: string | undefined, details?: Record<string, unknown>) {
  const session = await endBrowserSession(ctx, env, engine, client, details);
  const participants = session ? await participantsOf(env, engine, session) : [];
  if (participants.length) return startSingleLogout(ctx, env, engine, participants, { returnTo: target });
  ctx.set('Cache-Control', 'no-store');
  if (!target) return signedOut(ctx, engine);
  ctx.status = 302;
  ctx.redirect(target);
}
