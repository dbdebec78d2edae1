import type Koa from 'koa';
import { handToEngine, readOAuthParams } from './engine-request.ts';
import { ApiError } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';
import type { Engine } from './provider.ts';
import { OAuthError, auth0ErrorBody, sendOAuthError } from './errors.ts';
import { assertionSubject, callerAuthenticated } from './client-assertion.ts';
import { requestFacts } from '../tenant/logs.ts';
import { CC_ORGANIZATION, clientCredentialsOrganization } from './client-credentials-organization.ts';
import { runCredentialsExchange } from '../actions/credentials-exchange.ts';
import { executionDetails, noteExecutions } from '../actions/executions.ts';
import { codeExecutions } from './action-claims.ts';
import { constrainEngineGrant } from './sender-constraint.ts';
import { DEVICE_CODE_GRANT } from './device-flow.ts';
import { CIBA_GRANT } from './ciba.ts';
import { POLLED_GRANTS, auth0PollAnswer, pacePolling, stillPolling, type Poll } from './polling.ts';

/** Where a defaulted client_credentials scope waits for the JWT customizer and the response. */
export const DEFAULT_SCOPE = 'posternDefaultScope';
/** Where the claims credentials-exchange actions add wait for the JWT customizer. */
export const CC_ACTION_CLAIMS = 'posternActionClaims';

async function clientCredentials(env: Env, engine: Engine, params: Record<string, any>, ctx: Koa.Context) {
  // A private_key_jwt caller may name itself in its assertion only.
  const sub = params.client_id === undefined ? assertionSubject(params.client_assertion) : undefined;
  if (sub) params.client_id = sub;
  const client = params.client_id ? await engine.clients.get(String(params.client_id)) : undefined;
  // Authenticity is the engine's job; it answers unknown clients and bad secrets
  // alike. Unauthenticated callers must not learn about grants or audiences, so
  // the Auth0 checks below only run for a caller holding the right secret or assertion.
  if (!client || !(await callerAuthenticated(env, client, params))) return;
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
  const org = await clientCredentialsOrganization(env, client.grantDocs.get(String(audience))!, params.organization,
    async () => (await engine.settings.load()).allow_organization_name_in_authentication_api === true);
  if (org) ctx.state[CC_ORGANIZATION] = org;
  delete params.organization;
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
  const claims = await runCredentialsExchange(env, ctx, client, String(audience), params,
    params.scope === undefined ? client.grantScope.get(String(audience))! : String(params.scope));
  if (claims && Object.keys(claims).length) ctx.state[CC_ACTION_CLAIMS] = claims;
  params.resource = String(audience);
  delete params.audience;
}

/** Every parameter of the token request, for grants whose actions see more than the engine keeps (custom token exchange). */
export const TOKEN_PARAMS = 'posternTokenParams';

/** Auth0's log codes and description for each grant's success and failure. */
const GRANT_EVENTS: Record<string, [ok: string, failed: string, description: string]> = {
  client_credentials: ['seccft', 'feccft', 'Client Credentials for Access Token'],
  authorization_code: ['seacft', 'feacft', 'Authorization Code for Access Token'],
  refresh_token: ['sertft', 'fertft', 'Refresh Token for Access Token'],
  password: ['sepft', 'fepft', 'Password for Access Token'],
  'http://auth0.com/oauth/grant-type/password-realm': ['sepft', 'fepft', 'Password for Access Token'],
  'http://auth0.com/oauth/grant-type/passwordless/otp': ['sepft', 'fepft', 'Passwordless One-time Password for Access Token'],
  'urn:ietf:params:oauth:grant-type:token-exchange': ['secte', 'fecte', 'Custom Token Exchange'],
  'http://auth0.com/oauth/grant-type/mfa-otp': ['seotpft', 'feotpft', 'One-time Password for Access Token'],
  'http://auth0.com/oauth/grant-type/mfa-recovery-code': ['sercft', 'fercft', 'Recovery Code for Access Token'],
  [DEVICE_CODE_GRANT]: ['sede', 'fede', 'Device Code for Access Token'],
  [CIBA_GRANT]: ['ciba_exchange_succeeded', 'ciba_exchange_failed', 'CIBA for Access Token'],
};

/** The claims of a token just signed here, read back without verification (it is ours); undefined for an opaque token. */
function claimsOf(jwt: unknown): Record<string, any> | undefined {
  const part = typeof jwt === 'string' ? jwt.split('.')[1] : undefined;
  if (!part) return undefined;
  try { return JSON.parse(Buffer.from(part, 'base64url').toString()); } catch { return undefined; }
}

/** The user a token was issued to. */
function subjectOf(body: any): string | undefined {
  return claimsOf(body?.id_token)?.sub ?? claimsOf(body?.access_token)?.sub;
}

async function recordExchange(env: Env, engine: Engine, ctx: Koa.Context, params: Record<string, any>) {
  const codes = GRANT_EVENTS[String(params.grant_type)];
  if (!codes) return;
  const ok = ctx.status === 200;
  const body = ctx.body as any;
  if (!ok && stillPolling(body?.error)) return;
  const clientId = typeof params.client_id === 'string' ? params.client_id : undefined;
  const client = clientId ? await engine.clients.get(clientId) : undefined;
  env.events.record({
    ...requestFacts(ctx), type: ok ? codes[0] : codes[1], description: ok ? codes[2] : String(body?.error_description ?? body?.error ?? 'failed'),
    client_id: clientId, client_name: client?.data.name, ...executionDetails(ctx),
    ...(params.grant_type === 'client_credentials' ? { audience: params.resource ?? params.audience } : { user_id: ok ? subjectOf(body) : undefined }),
  });
}

/**
 * Auth0's /oauth/token in front of the engine: JSON or form bodies, Basic or
 * post credentials, `audience` as the resource indicator, Auth0's checks and
 * error bodies. The engine then authenticates the client and issues tokens.
 */
export function tokenEndpoint(env: Env, engine: Engine): Koa.Middleware {
  return async (ctx, next) => {
    if (ctx.method !== 'POST' || (ctx.path !== '/oauth/token' && ctx.path !== `/${env.config.domain}/oauth/token`)) return next();
    let params: Record<string, any> | undefined;
    let poll: Poll | undefined;
    try {
      params = await readOAuthParams(ctx);
      if (!params.grant_type) throw new OAuthError(400, 'invalid_request', 'Missing required parameter: grant_type');
      if (params.grant_type === 'client_credentials') await clientCredentials(env, engine, params, ctx);
      poll = await pacePolling(env, params);
      await constrainEngineGrant(engine, ctx, params);
    } catch (e) {
      if (e instanceof OAuthError) sendOAuthError(ctx, e);
      else if (e instanceof ApiError) sendOAuthError(ctx, new OAuthError(e.statusCode, e.errorCode ?? 'invalid_request', e.message));
      else throw e;
      if (params) await recordExchange(env, engine, ctx, params);
      return;
    }
    ctx.state[TOKEN_PARAMS] = params;
    handToEngine(ctx, params);
    ctx.path = '/oauth/token';
    await next();
    const body = ctx.body as any;
    if (ctx.status === 200 && body?.access_token && ctx.state[DEFAULT_SCOPE]) body.scope = ctx.state[DEFAULT_SCOPE];
    // The engine answers with the API's scopes alone; Auth0 with what the access token says (the OIDC scopes too).
    if (ctx.status === 200 && (params.grant_type === 'authorization_code' || params.grant_type === 'refresh_token' || POLLED_GRANTS.has(params.grant_type))) {
      const claimed = claimsOf(body?.access_token)?.scope;
      if (typeof claimed === 'string' && claimed) body.scope = claimed;
    }
    await auth0PollAnswer(env, ctx, params, poll);
    auth0ErrorBody(ctx);
    noteExecutions(ctx, codeExecutions(ctx));
    await recordExchange(env, engine, ctx, params);
  };
}
