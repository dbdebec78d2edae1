import { createHash, type KeyObject } from 'node:crypto';
import { readPem } from './public-key-pem.ts';

// An application's credentials (Auth0's client credentials: public keys for
// private_key_jwt, certificates for mTLS) live inside the application's own
// document, under `credentials`, which the Management API never shows. One
// document means one conditional write: a credential cannot be deleted while a
// concurrent PATCH starts naming it, and deleting the application deletes them.

export type CredentialType = 'public_key' | 'cert_subject_dn' | 'x509_cert';
export interface StoredCredential {
  id: string;
  credential_type: CredentialType;
  kid?: string;
  alg?: 'RS256' | 'RS384' | 'PS256';
  name?: string;
  subject_dn?: string;
  thumbprint_sha256?: string;
  /** The public key or certificate as sent; never answered, as Auth0 never shows it back. */
  pem?: string;
  created_at: string;
  updated_at: string;
  expires_at?: string;
}

export const credentialsOf = (data: any): StoredCredential[] => data?.credentials ?? [];

/** RFC 7638 thumbprint (SHA-256) of an RSA public key: Auth0's default `kid`. */
export function rsaThumbprint(key: KeyObject): string {
  const { e, n } = key.export({ format: 'jwk' });
  // The members in lexicographic order and no whitespace, as RFC 7638 §3 requires.
  return createHash('sha256').update(JSON.stringify({ e, kty: 'RSA', n })).digest('base64url');
}

/** The ids the application's fields point at: its authentication methods' and its signed request objects' credentials. */
export function referencedCredentialIds(data: any): Set<string> {
  const lists = [
    ...Object.values<any>(data?.client_authentication_methods ?? {}).map((m) => m?.credentials),
    data?.signed_request_object?.credentials,
  ];
  return new Set(lists.flatMap((l) => (Array.isArray(l) ? l.map((c: any) => c?.id) : [])).filter((id): id is string => typeof id === 'string'));
}

const expiresMs = (c: StoredCredential) => (c.expires_at ? Date.parse(c.expires_at) : Infinity);

/** The credentials private_key_jwt accepts; undefined when the application does not authenticate that way. */
function assertionCredentials(data: any): StoredCredential[] | undefined {
  const listed = data?.client_authentication_methods?.private_key_jwt?.credentials;
  if (!Array.isArray(listed)) return undefined;
  const ids = new Set(listed.map((c: any) => c?.id));
  return credentialsOf(data).filter((c) => ids.has(c.id) && c.credential_type === 'public_key' && c.pem);
}

/**
 * The JWKS that verifies the application's client assertions at `now`: its
 * private_key_jwt credentials that have not expired, each bound to its `alg`.
 */
export function assertionJwks(data: any, now = Date.now()): { keys: Record<string, unknown>[] } | undefined {
  const creds = assertionCredentials(data);
  if (!creds) return undefined;
  return {
    keys: creds.filter((c) => expiresMs(c) > now).map((c) => {
      const { kty, n, e } = readPem(c.pem!).key.export({ format: 'jwk' });
      return { kty, n, e, kid: c.kid, alg: c.alg, use: 'sig' };
    }),
  };
}

/** When the next of those credentials expires (epoch ms), so a cached JWKS is dropped no later than that. */
export function nextAssertionExpiry(data: any, now = Date.now()): number {
  return Math.min(Infinity, ...(assertionCredentials(data) ?? []).map(expiresMs).filter((t) => t > now));
}
