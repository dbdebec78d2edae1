import * as oidc from 'openid-client';
import type { Env } from '../tenant/env.ts';
import type { ConnectionDoc } from '../tenant/federated-users.ts';
import { openOptions } from '../management/connections.ts';
import { clientAssertion } from './keys.ts';
import { needsUserinfo } from './profile-map.ts';
import type { UpstreamTokens } from '../tenant/federated-token-sets.ts';

// Postern as a relying party of an Okta or OIDC connection's IdP, through
// openid-client: the authorization request it redirects the browser to, and
// the checks and token exchange when the browser comes back to /login/callback.

/** What the login keeps between the redirect and the callback (on the engine's interaction). */
export interface UpstreamRequest { connection: string; state: string; nonce?: string; verifier?: string }

export const callbackUrl = (env: Env) => new URL('login/callback', env.issuer).toString();

/** The options with the client secret unsealed, and the metadata with explicit endpoints over discovered ones. */
function settings(env: Env, conn: ConnectionDoc) {
  const o = openOptions(env, conn.data.options);
  const metadata: oidc.ServerMetadata = { ...o.oidc_metadata };
  for (const k of ['issuer', 'authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri'] as const) if (o[k]) (metadata as any)[k] = o[k];
  return { o, metadata };
}

function configuration(env: Env, conn: ConnectionDoc) {
  const { o, metadata } = settings(env, conn);
  const alg = o.id_token_signed_response_algs?.[0] ?? metadata.id_token_signing_alg_values_supported?.[0] ?? 'RS256';
  const auth = o.token_endpoint_auth_method === 'private_key_jwt' ? oidc.None() : oidc.ClientSecretPost(o.client_secret);
  const config = new oidc.Configuration(metadata, o.client_id, { id_token_signed_response_alg: alg }, auth);
  if (/^http:/.test(String(metadata.issuer))) oidc.allowInsecureRequests(config);
  if (o.type === 'front_channel') oidc.useIdTokenResponseType(config);
  // An ID token from the token endpoint is checked against the IdP's keys too, as Auth0 does.
  else oidc.enableNonRepudiationChecks(config);
  return { o, metadata, config };
}

/** PKCE toward the IdP: `auto` uses the strongest method it advertises. */
function pkceMethod(o: any, metadata: oidc.ServerMetadata): 'S256' | 'plain' | undefined {
  const setting = o.connection_settings?.pkce ?? 'auto';
  if (setting === 'S256' || setting === 'plain') return setting;
  if (setting === 'disabled') return undefined;
  const supported = metadata.code_challenge_methods_supported ?? [];
  return supported.includes('S256') ? 'S256' : supported.includes('plain') ? 'plain' : undefined;
}

/** `upstream_params`: static values, or aliases of the application's own authorization parameters. */
function upstreamParams(o: any, params: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, spec] of Object.entries<any>(o.upstream_params ?? {})) {
    const v = spec?.value ?? (spec?.alias ? params[spec.alias] : undefined);
    if (typeof v === 'string' && v) out[name] = v;
  }
  return out;
}

/** The IdP's authorization URL for this login, and what the callback will check. */
export async function startUpstreamLogin(env: Env, conn: ConnectionDoc, uid: string, params: Record<string, unknown>, loginHint?: string) {
  const { o, metadata, config } = configuration(env, conn);
  const frontChannel = o.type === 'front_channel';
  const request: UpstreamRequest = { connection: conn.data.name, state: `${uid}.${oidc.randomState()}` };
  const query: Record<string, string> = {
    ...upstreamParams(o, { ...params, ...(loginHint ? { login_hint: loginHint } : {}) }),
    redirect_uri: callbackUrl(env), scope: o.scope, state: request.state,
  };
  if (frontChannel) {
    Object.assign(query, { response_type: 'id_token', response_mode: 'form_post' });
    request.nonce = oidc.randomNonce();
  } else {
    query.response_type = 'code';
    if (o.send_back_channel_nonce) request.nonce = oidc.randomNonce();
    const method = pkceMethod(o, metadata);
    if (method) {
      request.verifier = oidc.randomPKCECodeVerifier();
      Object.assign(query, { code_challenge_method: method, code_challenge: method === 'S256' ? await oidc.calculatePKCECodeChallenge(request.verifier) : request.verifier });
    }
  }
  if (request.nonce) query.nonce = request.nonce;
  return { url: oidc.buildAuthorizationUrl(config, query).toString(), request };
}

/** `tokens`: the token endpoint's answer (back_channel only), for Token Vault. */
export interface UpstreamResult { sub: string; tokenset: Record<string, unknown>; userinfo?: Record<string, unknown>; tokens?: UpstreamTokens }

/**
 * The IdP's answer at /login/callback, checked: state, the code exchanged
 * (client_secret_post or private_key_jwt), the ID token's signature, issuer,
 * audience, expiry and nonce, and userinfo where the profile needs it.
 */
export async function finishUpstreamLogin(env: Env, conn: ConnectionDoc, request: UpstreamRequest, current: URL | Request): Promise<UpstreamResult> {
  const { o, metadata, config } = configuration(env, conn);
  if (o.type === 'front_channel') {
    const claims = await oidc.implicitAuthentication(config, current, request.nonce!, { expectedState: request.state });
    return { sub: String(claims.sub), tokenset: { ...claims } };
  }
  const extra: Record<string, string> = {};
  if (o.token_endpoint_auth_method === 'private_key_jwt') {
    const aud = o.token_endpoint_jwtca_aud_format === 'issuer' ? String(metadata.issuer) : String(metadata.token_endpoint);
    Object.assign(extra, { client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: await clientAssertion(env, conn, aud) });
  }
  const tokens = await oidc.authorizationCodeGrant(config, current, {
    expectedState: request.state, idTokenExpected: true,
    ...(request.verifier ? { pkceCodeVerifier: request.verifier } : {}),
    ...(request.nonce ? { expectedNonce: request.nonce } : {}),
  }, extra);
  const claims = tokens.claims()!;
  const sub = String(claims.sub);
  // Okta's ID tokens from the token endpoint carry only the base claims; its profile is at userinfo.
  const wantUserinfo = (conn.data.strategy === 'okta' || needsUserinfo(o)) && metadata.userinfo_endpoint && tokens.access_token;
  const userinfo = wantUserinfo ? { ...(await oidc.fetchUserInfo(config, tokens.access_token, sub)) } : undefined;
  return { sub, tokenset: { ...claims }, userinfo, tokens };
}
