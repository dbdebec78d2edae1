import type Koa from 'koa';
import { handToEngine, readOAuthParams } from './engine-request.ts';
import { OAuthError, sendOAuthError } from './errors.ts';

// Auth0's /oauth/revoke takes JSON (node-auth0, spa-js) or form bodies and
// Basic or post credentials; the engine's revocation endpoint wants a form
// with post credentials, as the application is registered with.

export const revokeParams: Koa.Middleware = async (ctx, next) => {
  if (ctx.method !== 'POST' || ctx.path !== '/oauth/revoke') return next();
  let params: Record<string, string>;
  try {
    params = await readOAuthParams(ctx);
  } catch (e) {
    if (e instanceof OAuthError) return sendOAuthError(ctx, e);
    throw e;
  }
  handToEngine(ctx, params);
  await next();
  const body = ctx.body as any;
  if (body && typeof body === 'object' && body.error === 'invalid_client') {
    ctx.status = 401;
    ctx.body = { error: 'access_denied', error_description: 'Unauthorized' };
  }
};
