import type Koa from 'koa';
import { readParams } from '../lib/body.ts';
import { ApiError } from '../lib/errors.ts';

// Auth0's /oauth/revoke takes JSON (node-auth0, spa-js) or form bodies and
// Basic or post credentials; the engine's revocation endpoint wants a form
// with post credentials, as the application is registered with.

function basic(header: string) {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header);
  if (!m) return undefined;
  const raw = Buffer.from(m[1], 'base64').toString('utf8');
  const i = raw.indexOf(':');
  if (i < 0) return undefined;
  const dec = (s: string) => { try { return decodeURIComponent(s.replace(/\+/g, ' ')); } catch { return s; } };
  return { id: dec(raw.slice(0, i)), secret: dec(raw.slice(i + 1)) };
}

export const revokeParams: Koa.Middleware = async (ctx, next) => {
  if (ctx.method !== 'POST' || ctx.path !== '/oauth/revoke') return next();
  let params: Record<string, any>;
  try {
    params = await readParams(ctx);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    ctx.status = 400;
    ctx.body = { error: 'invalid_request', error_description: e.message };
    return;
  }
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || typeof v === 'object') delete params[k];
    else params[k] = String(v);
  }
  const creds = basic(ctx.get('authorization'));
  if (creds) {
    params.client_id = creds.id;
    params.client_secret = creds.secret;
    delete ctx.req.headers.authorization;
  }
  (ctx.req as any).body = params;
  (ctx.request as any).body = params;
  ctx.req.headers['content-type'] = 'application/x-www-form-urlencoded';
  await next();
  const body = ctx.body as any;
  if (body && typeof body === 'object' && body.error === 'invalid_client') {
    ctx.status = 401;
    ctx.body = { error: 'access_denied', error_description: 'Unauthorized' };
  }
};
