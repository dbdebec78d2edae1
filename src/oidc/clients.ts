import { createHash, timingSafeEqual } from 'node:crypto';
import type { Env } from '../tenant/env.ts';
import { backchannelLogoutUri } from './backchannel-logout.ts';
import { assertionJwks, nextAssertionExpiry } from '../tenant/client-credentials.ts';
import { cimdClientId, isCimdUrl } from '../tenant/cimd-client-id.ts';
import { deviceFlowAllowed, DEVICE_CODE_GRANT } from './device-flow.ts';
import { cibaAllowed, CIBA_GRANT } from './ciba.ts';

const sha256 = (v: string) => createHash('sha256').update(v).digest();

export interface CachedClient {
  id: string; data: any; secret?: string;
  /** Hashed once per cache fill: comparing digests keeps the check constant-time whatever the given length. */
  secretDigest?: Buffer;
  /** Client grants: audience → scopes, and the same scopes space-joined (the token path wants them as one string). */
  grants: Map<string, string[]>; grantScope: Map<string, string>;
  /** The grant documents by audience, for their organization rules (client-credentials-organization.ts). */
  grantDocs: Map<string, { id: string; data: any }>;
  /** For private_key_jwt: the keys that verify its client assertions (unexpired when the entry was filled). */
  jwks?: { keys: Record<string, unknown>[] };
  /** A CIMD application looked up by its document's URL: that URL, the client_id the engine knows it by. */
  presentedId?: string;
}

/**
 * Auth0 applications as the protocol engine and the compatibility layer see
 * them. Entries live a few seconds so several nodes sharing one database
 * converge, and writes in this process drop them at once.
 */
export class ClientCache {
  private entries = new Map<string, { until: number; value: CachedClient | null }>();
  constructor(private env: Env, private ttlMs = 5000) {}

  clear() { this.entries.clear(); }

  /**
   * A CIMD application presents its document's URL as client_id, as in Auth0,
   * and the engine then puts that URL in its codes and tokens (azp, client_id);
   * grants and enabled connections still name the application's own id.
   */
  private async load(id: string) {
    if (!isCimdUrl(id)) {
      const doc = await this.env.store.clients.get(id);
      // The tenant's global client holds settings; it is no application anyone logs in to.
      return doc?.data.global === true ? undefined : doc;
    }
    const doc = await this.env.store.clients.get(cimdClientId(id));
    return doc?.data.external_client_id === id ? doc : undefined;
  }

  async get(id: string): Promise<CachedClient | undefined> {
    const hit = this.entries.get(id);
    if (hit && Date.now() < hit.until) return hit.value ?? undefined;
    const doc = await this.load(id);
    let value: CachedClient | null = null;
    if (doc) {
      const grants = (await this.env.store.clientGrants.list({ client_id: doc.id })).items;
      const secret = doc.secret ? this.env.box.open(doc.secret) : undefined;
      value = {
        id: doc.id, ...(doc.id !== id ? { presentedId: id } : {}), data: doc.data, secret, secretDigest: secret ? sha256(secret) : undefined,
        grants: new Map(grants.map((g) => [g.data.audience, g.data.scope ?? []])),
        grantScope: new Map(grants.map((g) => [g.data.audience, (g.data.scope ?? []).join(' ')])),
        grantDocs: new Map(grants.map((g) => [g.data.audience, g])),
        jwks: assertionJwks(doc.data),
      };
    }
    // An entry never outlives a private_key_jwt credential's expiry, so an expired key is never used.
    this.entries.set(id, { until: Math.min(Date.now() + this.ttlMs, doc ? nextAssertionExpiry(doc.data) : Infinity), value });
    if (this.entries.size > 5000) this.entries.delete(this.entries.keys().next().value!);
    return value ?? undefined;
  }
}

/** Whether `given` is the client's secret, in constant time. */
export function secretMatches(c: CachedClient, given: unknown): boolean {
  if (!c.secretDigest || typeof given !== 'string') return false;
  return timingSafeEqual(c.secretDigest, sha256(given));
}

const ENGINE_GRANTS = new Set([
  'authorization_code', 'refresh_token', 'client_credentials', 'implicit', 'password', 'http://auth0.com/oauth/grant-type/password-realm',
  // The MFA API's grants (grants-mfa.ts).
  'http://auth0.com/oauth/grant-type/mfa-otp', 'http://auth0.com/oauth/grant-type/mfa-recovery-code', 'http://auth0.com/oauth/grant-type/mfa-oob',
  'http://auth0.com/oauth/grant-type/passwordless/otp',
  // The passkey grant (grants-passkey.ts).
  'urn:okta:params:oauth:grant-type:webauthn',
  // Auth0's legacy grants behind /oauth/ro and /delegation (legacy-ro.ts, legacy-delegation.ts).
  'http://auth0.com/oauth/legacy/grant-type/ro', 'http://auth0.com/oauth/legacy/grant-type/ro/jwt-bearer',
  'http://auth0.com/oauth/legacy/grant-type/delegation/id_token', 'http://auth0.com/oauth/legacy/grant-type/delegation/refresh_token',
]);

function validUrl(u: unknown): u is string {
  try { return typeof u === 'string' && Boolean(new URL(u)); } catch { return false; }
}

/** oidc-provider client metadata for an Auth0 application. */
export function engineMetadata(c: CachedClient) {
  const grantTypes: string[] = (c.data.grant_types ?? []).filter((g: string) => ENGINE_GRANTS.has(g) && g !== 'implicit');
  const implicit = (c.data.grant_types ?? []).includes('implicit');
  const responseTypes = [
    ...(grantTypes.includes('authorization_code') ? ['code'] : []),
    ...(implicit ? ['id_token', 'id_token token'] : []),
  ];
  if (implicit && !grantTypes.includes('implicit')) grantTypes.push('implicit');
  // Auth0 lists no grant type for custom token exchange: the application's token_exchange setting enables it.
  if ((c.data.token_exchange?.allow_any_profile_of_type ?? []).includes('custom_authentication')) grantTypes.push('urn:ietf:params:oauth:grant-type:token-exchange');
  // Listing the grant is not enough: Auth0 keeps the device flow to native, public applications.
  if (deviceFlowAllowed(c.data)) grantTypes.push(DEVICE_CODE_GRANT);
  const ciba = cibaAllowed(c.data);
  if (ciba) grantTypes.push(CIBA_GRANT);
  const isPublic = c.data.token_endpoint_auth_method === 'none';
  const backchannel = backchannelLogoutUri(c.data);
  return {
    client_id: c.presentedId ?? c.id,
    ...(isPublic ? {} : { client_secret: c.secret }),
    client_name: c.data.name,
    grant_types: grantTypes,
    response_types: responseTypes,
    redirect_uris: (c.data.callbacks ?? []).filter(validUrl),
    post_logout_redirect_uris: (c.data.allowed_logout_urls ?? []).filter(validUrl),
    // Basic credentials are moved into the body before the engine sees them, so post covers both.
    token_endpoint_auth_method: isPublic ? 'none' : c.jwks ? 'private_key_jwt' : 'client_secret_post',
    ...(c.jwks ? { jwks: c.jwks } : {}),
    id_token_signed_response_alg: c.data.jwt_configuration?.alg === 'HS256' ? 'HS256' : 'RS256',
    ...(backchannel ? { backchannel_logout_uri: backchannel, backchannel_logout_session_required: true } : {}),
    ...(ciba ? { backchannel_token_delivery_mode: 'poll' } : {}),
  };
}
