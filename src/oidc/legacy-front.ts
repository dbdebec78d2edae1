import type Koa from 'koa';
import { handToEngine, readOAuthParams } from './engine-request.ts';
import { OAuthError, auth0ErrorBody, sendOAuthError } from './errors.ts';
import { preflight } from './cors.ts';

// What /oauth/ro and /delegation share: each is a front that reads Auth0's
// JSON or form body, names one of Auth0's legacy grant types (registered with
// the engine, which then checks the application's grant_types and
// authenticates it), hands the request to the engine's token endpoint, and
// reshapes the answer.

export interface LegacyCall {
  /** The parameters for the engine, grant_type already the legacy grant's; throws OAuthError for Auth0's refusals of the request. */
  prepare(params: Record<string, string>): Record<string, string>;
  /** The engine's successful token response, in the legacy endpoint's shape. */
  reshape(body: any): unknown;
}

export function legacyFront(path: string, call: LegacyCall): Koa.Middleware {
  const cors = preflight('POST');
  return async (ctx, next) => {
    if (ctx.path !== path) return next();
    if (ctx.method === 'OPTIONS') return cors(ctx, async () => { ctx.status = 204; });
    if (ctx.method !== 'POST') return next();
    let params: Record<string, string>;
    try {
      params = call.prepare(await readOAuthParams(ctx));
    } catch (e) {
      if (!(e instanceof OAuthError)) throw e;
      // A refusal before the engine still answers the browser that asked, so its SDK can read why.
      const origin = ctx.get('Origin');
      if (origin) { ctx.vary('Origin'); ctx.set('Access-Control-Allow-Origin', origin); }
      return sendOAuthError(ctx, e);
    }
    handToEngine(ctx, params);
    ctx.path = '/oauth/token';
    await next();
    auth0ErrorBody(ctx);
    if (ctx.status === 200 && ctx.body && typeof ctx.body === 'object') ctx.body = call.reshape(ctx.body);
  };
}

export const missing = (name: string) => new OAuthError(400, 'invalid_request', `Missing required parameter: ${name}`);
