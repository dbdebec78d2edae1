import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';
import { AUTH0_PATHS } from './paths.ts';
import { GTR_PREFIX } from './global-token-revocation.ts';
import { DEVICE_CODE_GRANT } from './device-flow.ts';
import { CIBA_GRANT } from './ciba.ts';

/**
 * Auth0's discovery document, limited to what this server answers: no
 * registration or MFA endpoints (not served), and the response types and modes
 * the engine accepts (Auth0's list has hybrid types the engine refuses), plus
 * web_message, which Auth0 supports without listing it.
 */
export function discovery(env: Env): Koa.Middleware {
  const base = env.issuer.replace(/\/$/, '');
  const doc = {
    issuer: env.issuer,
    authorization_endpoint: base + AUTH0_PATHS.authorization,
    token_endpoint: base + AUTH0_PATHS.token,
    device_authorization_endpoint: base + AUTH0_PATHS.device_authorization,
    backchannel_authentication_endpoint: base + AUTH0_PATHS.backchannel_authentication,
    backchannel_token_delivery_modes_supported: ['poll'],
    backchannel_user_code_parameter_supported: false,
    userinfo_endpoint: base + AUTH0_PATHS.userinfo,
    jwks_uri: base + AUTH0_PATHS.jwks,
    revocation_endpoint: base + AUTH0_PATHS.revocation,
    end_session_endpoint: base + AUTH0_PATHS.end_session,
    scopes_supported: ['openid', 'profile', 'offline_access', 'name', 'given_name', 'family_name', 'nickname', 'email', 'email_verified', 'picture', 'created_at', 'identities', 'phone', 'address'],
    response_types_supported: ['code', 'id_token', 'token id_token'],
    code_challenge_methods_supported: ['S256'],
    response_modes_supported: ['query', 'fragment', 'form_post', 'web_message'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['HS256', 'RS256'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    claims_supported: ['aud', 'auth_time', 'created_at', 'email', 'email_verified', 'exp', 'family_name', 'given_name', 'iat', 'identities', 'iss', 'name', 'nickname', 'phone_number', 'picture', 'sub'],
    request_uri_parameter_supported: false,
    request_parameter_supported: false,
    // Auth0 publishes the endpoint with the connection's name left as a placeholder.
    global_token_revocation_endpoint: `${base}${GTR_PREFIX}{connectionName}`,
    global_token_revocation_endpoint_auth_methods_supported: ['global-token-revocation+jwt'],
    dpop_signing_alg_values_supported: ['ES256'],
    grant_types_supported: ['authorization_code', 'client_credentials', 'refresh_token', 'implicit', 'password', 'http://auth0.com/oauth/grant-type/password-realm', 'http://auth0.com/oauth/grant-type/passwordless/otp', DEVICE_CODE_GRANT,
      CIBA_GRANT],
  };
  return async (ctx, next) => {
    if (ctx.method === 'GET' && ctx.path === '/.well-known/openid-configuration') {
      ctx.set('Access-Control-Allow-Origin', '*');
      ctx.body = doc;
      return;
    }
    return next();
  };
}
