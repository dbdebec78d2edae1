import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';

// CORS for /oauth/token, /userinfo, /oauth/revoke, /mfa/*, /dbconnections/* and
// /passwordless/start: an origin is allowed
// when it is one of the application's Allowed Web Origins or Allowed Origins
// (Auth0 also accepts the origins of its callback URLs, for SPAs).

function originOf(u: string): string | undefined {
  try { return new URL(u).origin; } catch { return undefined; }
}

export function clientBasedCORS(_ctx: unknown, origin: string, client: any): boolean {
  if (!origin) return false;
  const listed: string[] = [...(client.web_origins ?? []), ...(client.allowed_origins ?? [])];
  if (listed.some((o) => typeof o === 'string' && o.replace(/\/$/, '') === origin)) return true;
  return (client.callbacks ?? []).some((c: string) => !c.includes('*') && originOf(c) === origin);
}

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

/**
 * The preflight of an endpoint whose application is only known from the
 * request itself (its body, or its bearer mfa_token): answered for any origin,
 * as the engine's token endpoint does; the request is then refused unless
 * allowOrigin allows its origin for that application.
 */
export const preflight = (methods: string, opts: { credentials?: boolean } = {}): Koa.Middleware => async (ctx, next) => {
  const origin = ctx.get('Origin');
  if (!origin || !ctx.get('Access-Control-Request-Method')) return next();
  ctx.vary('Origin');
  ctx.set('Access-Control-Allow-Origin', origin);
  ctx.set('Access-Control-Allow-Methods', methods);
  const headers = ctx.get('Access-Control-Request-Headers');
  if (headers) ctx.set('Access-Control-Allow-Headers', headers);
  // Embedded login's /co/authenticate sends cookies, so its preflight must allow them.
  if (opts.credentials) ctx.set('Access-Control-Allow-Credentials', 'true');
  ctx.set('Access-Control-Max-Age', '600');
  ctx.status = 204;
};
