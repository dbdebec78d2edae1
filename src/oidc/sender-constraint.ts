import { createHash } from 'node:crypto';
import type Koa from 'koa';
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify } from 'jose';
import type Provider from 'oidc-provider';
import validateDpop, { checkDpopReplay } from 'oidc-provider/lib/helpers/validate_dpop.js';
import { Auth0GrantError, OAuthError } from './errors.ts';
import { assertionSubject } from './client-assertion.ts';
import { DEVICE_CODE_GRANT } from './device-flow.ts';
import { CIBA_GRANT } from './ciba.ts';

// Auth0's sender constraining (DPoP). Whether a token is bound to the caller's
// key depends on the application (`require_proof_of_possession`), the API
// (`proof_of_possession`) and whether the request carried a proof. Where Auth0
// issues a Bearer token despite a proof (an API without DPoP), the proof is
// ignored. The engine checks the proofs themselves.

export interface PopClient { requiresProof: boolean; isPublic: boolean }

/** `bind`: the token is bound to the proof's key; `bearer`: a plain token, any proof ignored. Throws where Auth0 issues nothing. */
export function senderConstraint(client: PopClient, api: any | undefined, proof: boolean): 'bind' | 'bearer' {
  const refuse = (why: string) => { throw new OAuthError(400, 'invalid_request', why); };
  if (!api) {
    // A token for /userinfo alone follows the proof.
    if (!proof && client.requiresProof) refuse('DPoP proof is required by the client');
    return proof ? 'bind' : 'bearer';
  }
  const pop = api.proof_of_possession;
  const required = pop?.required === true && (pop.required_for !== 'public_clients' || client.isPublic);
  if (pop?.mechanism === 'mtls') {
    // mTLS needs a client certificate on the TLS connection; Postern's listener asks for none.
    if (required || client.requiresProof) refuse(`The API ${api.identifier} uses mTLS sender constraining, which this server does not offer`);
    return 'bearer';
  }
  const dpop = pop?.mechanism === 'dpop';
  if (client.requiresProof && !dpop) refuse(`The client requires sender constraining, which the API ${api.identifier} does not support`);
  if (!proof && (required || client.requiresProof)) refuse(`DPoP proof is required by the ${client.requiresProof ? 'client' : 'API'}`);
  return proof && dpop ? 'bind' : 'bearer';
}

export const popClient = (data: any, isPublic: boolean): PopClient => ({ requiresProof: data?.require_proof_of_possession === true, isPublic });

const ENGINE_GRANTS = new Set(['client_credentials', 'authorization_code', 'refresh_token', DEVICE_CODE_GRANT, CIBA_GRANT]);
/** The engine's grants that redeem what it issued earlier, and where that is kept. */
const SOURCES: Record<string, [model: string, param: string]> = {
  authorization_code: ['AuthorizationCode', 'code'], refresh_token: ['RefreshToken', 'refresh_token'], [DEVICE_CODE_GRANT]: ['DeviceCode', 'device_code'],
  [CIBA_GRANT]: ['BackchannelAuthenticationRequest', 'auth_req_id'],
};

interface Caches {
  provider: Provider;
  clients: { get(id: string): Promise<{ id: string; data: any } | undefined> };
  apis: { get(id: string): Promise<{ data: any } | undefined> };
}

/**
 * The token endpoint's front, for the engine's own grants: refuses what Auth0
 * would not issue, and drops a proof Auth0 would ignore before the engine binds
 * the token to it. Client credentials name their API; a code or a refresh
 * token carries the API it was issued for, read here only when a proof came or
 * the application requires one (otherwise `refuseUnprovenToken` checks the API
 * once the engine knows it).
 * A code or refresh token already bound to a key keeps its binding.
 */
export async function constrainEngineGrant(engine: Caches, ctx: Koa.Context, params: Record<string, any>) {
  // Auth0's own grants decide inside the engine (bindUserTokens).
  if (!ENGINE_GRANTS.has(params.grant_type)) return;
  const proof = Boolean(ctx.get('dpop'));
  const clientId = params.client_id ?? assertionSubject(params.client_assertion);
  const client = typeof clientId === 'string' ? await engine.clients.get(clientId) : undefined;
  if (!client) return;
  const who = popClient(client.data, client.data.token_endpoint_auth_method === 'none');
  let audience: string | undefined;
  if (params.grant_type === 'client_credentials') {
    // Set only once the caller has proven who it is (token-endpoint.ts).
    if (!params.resource) return;
    audience = params.resource;
  } else if (proof || who.requiresProof) {
    const [model, param] = SOURCES[params.grant_type];
    const source = await (engine.provider as any)[model].find(String(params[param] ?? ''), { ignoreExpiration: true });
    // Unknown or another application's: the engine gives its own answer.
    if (!source || (source.clientId !== clientId && source.clientId !== client.id)) return;
    if (source.jkt || source.dpopJkt) return;
    audience = params.resource ?? (typeof source.resource === 'string' ? source.resource : undefined);
  } else {
    return;
  }
  const api = audience ? await engine.apis.get(audience) : undefined;
  if (senderConstraint(who, api?.data, proof) === 'bearer' && proof) delete ctx.req.headers.dpop;
}

/** Where the engine resolves a code's or refresh token's API: an API that requires proof issues nothing to a request without one. */
export function refuseUnprovenToken(ctx: any, clientData: any, api: any) {
  const grant = ctx.oidc?.params?.grant_type;
  if (ctx.oidc?.route !== 'token' || !(grant in SOURCES) || ctx.get('dpop')) return;
  inEngine(() => senderConstraint(popClient(clientData, ctx.oidc.client?.clientAuthMethod === 'none'), api, false));
}

/** Inside the engine a refusal must be an error the engine renders. */
function inEngine<T>(decide: () => T): T {
  try {
    return decide();
  } catch (e) {
    if (e instanceof OAuthError) throw new Auth0GrantError(e.status, e.error, e.description);
    throw e;
  }
}

/**
 * For Auth0's grants registered with the engine: the thumbprint their tokens
 * are bound to, after the engine's own proof check (signature, htm/htu, iat,
 * nonce) and replay check, or undefined for a Bearer token.
 */
export async function bindUserTokens(provider: Provider, ctx: any, clientData: any, api: any | undefined): Promise<string | undefined> {
  const { client } = ctx.oidc;
  const decision = inEngine(() => senderConstraint(popClient(clientData, client.clientAuthMethod === 'none'), api, Boolean(ctx.get('dpop'))));
  if (decision === 'bearer') return undefined;
  const dPoP = await validateDpop(provider, ctx);
  await checkDpopReplay(provider, ctx, dPoP, client.clientId);
  return dPoP?.thumbprint;
}

/** How far a proof's `iat` may be from now, as the engine allows at its own endpoints. */
const PROOF_WINDOW = 300;

/**
 * A resource request's proof for a key-bound JWT (the engine checks proofs only
 * for the tokens it stores): signed by the bound key, for this method and URL,
 * recent, for this token (`ath`), and not seen before.
 */
export async function proofHolds(provider: Provider, ctx: Koa.Context, token: string, jkt: string, clientId: string, url: string): Promise<boolean> {
  const proof = ctx.get('dpop');
  if (!proof) return false;
  try {
    const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] });
    const htu = new URL(String(payload.htu));
    htu.search = '';
    htu.hash = '';
    if (payload.htm !== ctx.method || htu.href !== url || typeof payload.jti !== 'string') return false;
    if (typeof payload.iat !== 'number' || Math.abs(Date.now() / 1000 - payload.iat) > PROOF_WINDOW) return false;
    if (payload.ath !== createHash('sha256').update(token).digest('base64url')) return false;
    if (await calculateJwkThumbprint(protectedHeader.jwk!) !== jkt) return false;
    return await (provider as any).ReplayDetection.unique(clientId, payload.jti, Math.floor(Date.now() / 1000) + PROOF_WINDOW);
  } catch {
    return false;
  }
}
