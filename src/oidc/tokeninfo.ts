import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';
import type { Engine } from './provider.ts';
import { readOAuthParams } from './engine-request.ts';
import { OAuthError, sendOAuthError } from './errors.ts';
import { allowOrigin, preflight } from './cors.ts';
import { checkIdToken, IdTokenRefused } from './legacy-id-token.ts';
import { userJson } from '../tenant/users.ts';

// Auth0's legacy POST /tokeninfo: an ID token of one of the tenant's
// applications, checked (signature, issuer, expiry), for the profile of the
// user it names, as Auth0 answered it (the user as the Management API shows
// it, identities included).

async function tokenInfo(ctx: Koa.Context, env: Env, engine: Engine) {
  const params = await readOAuthParams(ctx);
  if (!params.id_token) throw new OAuthError(400, 'invalid_request', 'Missing required parameter: id_token');
  let checked;
  try {
    checked = await checkIdToken(env, engine.clients, params.id_token);
  } catch (e) {
    if (e instanceof IdTokenRefused) throw new OAuthError(401, 'invalid_token', e.message);
    throw e;
  }
  if (!(await allowOrigin(ctx, env, checked.clientId))) throw new OAuthError(403, 'access_denied', `Origin ${ctx.get('Origin')} is not allowed for this client.`);
  const user = await env.store.getUser(checked.payload.sub);
  if (!user) throw new OAuthError(401, 'invalid_token', 'user does not exist');
  ctx.set('Cache-Control', 'no-store');
  ctx.body = userJson(user);
}

export function tokenInfoEndpoint(env: Env, engine: Engine): Koa.Middleware {
  const cors = preflight('POST');
  return async (ctx, next) => {
    if (ctx.path !== '/tokeninfo') return next();
    if (ctx.method === 'OPTIONS') return cors(ctx, async () => { ctx.status = 204; });
    if (ctx.method !== 'POST') return next();
    try {
      await tokenInfo(ctx, env, engine);
    } catch (e) {
      if (!(e instanceof OAuthError)) throw e;
      sendOAuthError(ctx, e);
    }
  };
}
