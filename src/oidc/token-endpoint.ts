import type Koa from 'koa';
import { handToEngine, readOAuthParams } from './engine-request.ts';
import { ApiError } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';
import type { Engine } from './provider.ts';
import { OAuthError, auth0ErrorBody, sendOAuthError } from './errors.ts';
import { secretMatches } from './clients.ts';

/** Where a defaulted client_credentials scope waits for the JWT customizer and the response. */
export const DEFAULT_SCOPE = 'posternDefaultScope';

async function clientCredentials(env: Env, engine: Engine, params: Record<string, any>, ctx: Koa.Context) {
  const client = params.client_id ? await engine.clients.get(String(params.client_id)) : undefined;
  // Authenticity is the engine's job; it answers unknown clients and bad secrets
  // alike. Unauthenticated callers must not learn about grants or audiences, so
  // the Auth0 checks below only run for a caller holding the right secret.
  if (!client || !secretMatches(client, params.client_secret)) return;
  if (!(client.data.grant_types ?? []).includes('client_credentials')) {
    throw new OAuthError(403, 'unauthorized_client', "Grant type 'client_credentials' not allowed for the client.");
  }
  let audience = params.audience ?? params.resource;
  if (!audience) {
    const tenant = await env.store.getTenant();
    audience = tenant?.settingsObj?.default_audience || undefined;
    if (!audience) throw new OAuthError(403, 'access_denied', 'No audience parameter was provided, and no default audience has been configured');
  }
  const api = await engine.apis.get(String(audience));
  if (!api) throw new OAuthError(403, 'access_denied', `Service not enabled within domain: ${audience}`);
  const granted = client.grants.get(String(audience));
  if (!granted) {
    throw new OAuthError(403, 'access_denied', `Client is not authorized to access "${audience}". You need to create a "client-grant" associated to this API. See: https://auth0.com/docs/api/v2#!/Client_Grants/post_client_grants`);
  }
  if (params.scope === undefined || String(params.scope).trim() === '') {
    // Auth0 grants every granted scope when none is asked for; the engine
    // grants none. Handing it the Management API's ~250 scopes as a parameter
    // costs more than the signature, so the token gets them after the engine
    // (see customizeJwt) and so does the response below.
    delete params.scope;
    ctx.state[DEFAULT_SCOPE] = client.grantScope.get(String(audience))!;
  } else {
    const missing = String(params.scope).split(/\s+/).filter((s) => s && !granted.includes(s));
    if (missing.length) throw new OAuthError(403, 'access_denied', `Client has not been granted scopes: ${missing.join(', ')}`);
  }
  params.resource = String(audience);
  delete params.audience;
}

/**
 * Auth0's /oauth/token in front of the engine: JSON or form bodies, Basic or
 * post credentials, `audience` as the resource indicator, Auth0's checks and
 * error bodies. The engine then authenticates the client and issues tokens.
 */
export function tokenEndpoint(env: Env, engine: Engine): Koa.Middleware {
  return async (ctx, next) => {
    if (ctx.method !== 'POST' || (ctx.path !== '/oauth/token' && ctx.path !== `/${env.config.domain}/oauth/token`)) return next();
    let params: Record<string, any>;
    try {
      params = await readOAuthParams(ctx);
      if (!params.grant_type) throw new OAuthError(400, 'invalid_request', 'Missing required parameter: grant_type');
      if (params.grant_type === 'client_credentials') await clientCredentials(env, engine, params, ctx);
    } catch (e) {
      if (e instanceof OAuthError) return sendOAuthError(ctx, e);
      if (e instanceof ApiError) return sendOAuthError(ctx, new OAuthError(e.statusCode, e.errorCode ?? 'invalid_request', e.message));
      throw e;
    }
    handToEngine(ctx, params);
    ctx.path = '/oauth/token';
    await next();
    const body = ctx.body as any;
    if (ctx.status === 200 && body?.access_token && ctx.state[DEFAULT_SCOPE]) body.scope = ctx.state[DEFAULT_SCOPE];
    auth0ErrorBody(ctx);
  };
}
