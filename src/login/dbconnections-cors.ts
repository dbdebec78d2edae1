import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';
import { clientBasedCORS } from '../oidc/cors.ts';

// CORS for /dbconnections/* (auth0.js calls them from the browser). As on the
// engine's token endpoint, the preflight is answered for any origin because
// the application is only known once the body names it; the request itself
// is then refused unless the origin is one of that application's Allowed Web
// Origins or Allowed Origins (the rule of ../oidc/cors.ts).

export const dbConnectionsPreflight: Koa.Middleware = async (ctx, next) => {
  const origin = ctx.get('Origin');
  if (!origin || !ctx.get('Access-Control-Request-Method')) return next();
  ctx.vary('Origin');
  ctx.set('Access-Control-Allow-Origin', origin);
  ctx.set('Access-Control-Allow-Methods', 'POST');
  const headers = ctx.get('Access-Control-Request-Headers');
  if (headers) ctx.set('Access-Control-Allow-Headers', headers);
  ctx.set('Access-Control-Max-Age', '600');
  ctx.status = 204;
};

/**
 * For a request with an Origin: true (and the CORS headers set) when the
 * origin is the server's own or allowed for the named application.
 * Requests without an Origin (servers, SDKs outside a browser) are not CORS.
 */
export async function allowOrigin(ctx: Koa.Context, env: Env, clientId: unknown): Promise<boolean> {
  const origin = ctx.get('Origin');
  if (!origin) return true;
  ctx.vary('Origin');
  const client = typeof clientId === 'string' && clientId ? await env.store.clients.get(clientId) : undefined;
  const own = origin === new URL(env.issuer).origin;
  if (!own && !(client && clientBasedCORS(ctx, origin, client.data))) return false;
  ctx.set('Access-Control-Allow-Origin', origin);
  return true;
}
