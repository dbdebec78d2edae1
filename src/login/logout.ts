import type Router from '@koa/router';
import type { Env } from '../tenant/env.ts';
import type { Engine } from '../oidc/provider.ts';
import { callbackAllowed } from '../oidc/redirect-uri.ts';
import { page } from './html.ts';
import { requestFacts } from '../tenant/logs.ts';
import { engineBranding, errorPage } from './interaction.ts';
import { sendBackchannelLogouts } from '../oidc/backchannel-logout.ts';

// Auth0's /v2/logout: ends the SSO session, then goes to returnTo only if it
// is an Allowed Logout URL of the application named by client_id (or, with no
// client_id, of the tenant). Anything else gets an error page, never a redirect.

export function logoutRoutes(router: Router, env: Env, engine: Engine) {
  router.get('/v2/logout', async (ctx) => {
    const brand = await engineBranding(engine);
    const q = ctx.query;
    const returnTo = typeof q.returnTo === 'string' ? q.returnTo : undefined;
    const clientId = typeof q.client_id === 'string' ? q.client_id : undefined;
    const client = clientId ? await engine.clients.get(clientId) : undefined;
    let target: string | undefined;
    if (returnTo) {
      const allowed: string[] = client ? client.data.allowed_logout_urls ?? [] : (await engine.settings.load()).allowed_logout_urls ?? [];
      if (!callbackAllowed(allowed, returnTo)) {
        return errorPage(ctx, brand, `The "returnTo" querystring parameter "${returnTo}" is not defined as a valid URL in "Allowed Logout URLs".`, 400);
      }
      target = returnTo;
    } else if (client) {
      target = (client.data.allowed_logout_urls ?? []).find((u: string) => !u.includes('*'));
    }

    const session = await (engine.provider as any).Session.get(ctx);
    if (session && !session.new) {
      env.events.record({
        ...requestFacts(ctx), type: 'slo', description: 'User successfully logged out',
        user_id: session.accountId, client_id: clientId, client_name: client?.data.name, ...(returnTo ? { details: { return_to: returnTo } } : {}),
      });
      await session.destroy();
      await sendBackchannelLogouts(env, engine, session, 'rp-logout');
    }
    const name = (engine.provider as any).cookieName('session');
    ctx.cookies.set(name, null, { path: '/', secure: true, httpOnly: true, sameSite: 'none' });
    ctx.cookies.set(`${name}.sig`, null, { path: '/', secure: true, httpOnly: true, sameSite: 'none' });
    ctx.set('Cache-Control', 'no-store');
    if (target) {
      ctx.status = 302;
      ctx.redirect(target);
      return;
    }
    page(ctx, { title: 'Signed out', brand, body: '<p>You are signed out.</p>' });
  });
}
