import * as x509 from '@peculiar/x509';
import { createPrivateKey, KeyObject, randomBytes, webcrypto } from 'node:crypto';
import { SignJWT } from 'jose';
import { badRequest, notFound, UniqueViolation } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';

// A connection's own key pairs, which sign the client assertions
// (private_key_jwt) we send to the upstream IdP's token endpoint. They live in
// one `connection_keys` document per connection (id = connection id), so a
// rotation is a single compare-and-swap and can never leave two current keys;
// the connection's options never hold key material.

export const SIGNING_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'ES256', 'ES384'] as const;
export type SigningAlg = typeof SIGNING_ALGS[number];
export const isSigningAlg = (a: unknown): a is SigningAlg => SIGNING_ALGS.includes(a as SigningAlg);

export interface StoredKey {
  kid: string;
  alg: SigningAlg;
  status: 'current' | 'next' | 'previous';
  cert: string;
  /** PKCS#8 PEM, sealed with the master key. */
  private_key: string;
  created_at: string;
  current_since?: string;
}
interface KeysDoc { keys: StoredKey[] }

// --- certificates -------------------------------------------------------------
// @peculiar/x509 builds the certificates (node-forge cannot for EC keys) over
// node's WebCrypto, which also makes the key pairs.
x509.cryptoProvider.set(webcrypto as Crypto); // node's and the DOM's Crypto types differ only in overloads

// The certificate's own signature: SHA-256 with RSA for every RSA key (PS* keys
// are plain RSA keys: PKCS#8 export names them rsaEncryption whatever they were made for).
const RSA = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) };
const KEY_TYPES: Record<SigningAlg, { gen: RsaHashedKeyGenParams | EcKeyGenParams; sign: Algorithm | EcdsaParams }> = {
  RS256: { gen: RSA, sign: RSA }, RS384: { gen: RSA, sign: RSA }, RS512: { gen: RSA, sign: RSA },
  PS256: { gen: RSA, sign: RSA }, PS384: { gen: RSA, sign: RSA },
  ES256: { gen: { name: 'ECDSA', namedCurve: 'P-256' }, sign: { name: 'ECDSA', hash: 'SHA-256' } },
  ES384: { gen: { name: 'ECDSA', namedCurve: 'P-384' }, sign: { name: 'ECDSA', hash: 'SHA-384' } },
};

// Auth0 hands out PEM with CRLF line ends and a final CRLF; the library uses LF and none.
const crlf = (pem: string) => `${pem.replace(/\r?\n/g, '\r\n')}\r\n`;

/** The certificate as a degenerate (certificates-only) PKCS#7 SignedData, in PEM, as Auth0's `pkcs`. */
export function pkcs7Of(certPem: string) {
  // export('pem') labels it CMS, which `openssl pkcs7` rejects; Auth0's label is PKCS7.
  const der = new x509.X509Certificates([new x509.X509Certificate(certPem)]).export('raw');
  return crlf(x509.PemConverter.encode(der, 'PKCS7'));
}

async function newKey(env: Env, alg: SigningAlg, status: StoredKey['status'], ts: string): Promise<StoredKey> {
  const { gen, sign } = KEY_TYPES[alg];
  const keys = await webcrypto.subtle.generateKey(gen, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: [{ CN: [env.config.domain.replace(/:\d+$/, '')] }], // JSON form: no DN string parsing or escaping
    keys, signingAlgorithm: sign, // serialNumber left out: the library picks a random positive one
    notBefore: new Date(Date.now() - 60_000), // a little clock skew
    notAfter: new Date(Date.now() + 10 * 365 * 86400_000),
  });
  return {
    kid: randomBytes(16).toString('base64url'), alg, status, cert: crlf(cert.toString('pem')), created_at: ts,
    private_key: env.box.seal(KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }) as string),
    ...(status === 'current' ? { current_since: ts } : {}),
  };
}

// --- the keys of a connection ---------------------------------------------------------

/** Current, next and previous, in that order; empty when none were made yet. */
export async function listConnectionKeys(env: Env, connectionId: string): Promise<StoredKey[]> {
  const doc = await env.store.connectionKeys.get(connectionId);
  const order = { current: 0, next: 1, previous: 2 };
  return ((doc?.data as KeysDoc | undefined)?.keys ?? []).slice().sort((a, b) => order[a.status] - order[b.status]);
}

/**
 * A connection's first keys: a current one and the next one, so the next key
 * can be registered at the IdP before a rotation puts it in use. Throws
 * UniqueViolation when the connection already has keys (also when another
 * request made them first).
 */
export async function provisionConnectionKeys(env: Env, connectionId: string, alg: SigningAlg): Promise<StoredKey[]> {
  const ts = new Date().toISOString();
  const keys = await Promise.all([newKey(env, alg, 'current', ts), newKey(env, alg, 'next', ts)]);
  await env.store.connectionKeys.insert(connectionId, { keys } satisfies KeysDoc, { name: connectionId });
  return keys;
}

/**
 * Next → current, current → previous, and a new next key, which is returned.
 * Older previous keys are dropped: they only ever signed assertions and are
 * never needed again, and it keeps the document bounded. Concurrent rotations
 * each land on what the other wrote (DocRepo.modify), one after the other.
 * Undefined when the connection has no keys.
 */
export async function rotateConnectionKeys(env: Env, connectionId: string, alg: SigningAlg): Promise<StoredKey | undefined> {
  const ts = new Date().toISOString();
  // Generated before the read-modify-write, which may run more than once.
  const fresh = await newKey(env, alg, 'next', ts);
  const saved = await env.store.connectionKeys.modify(connectionId, (doc) => {
    const keys = (doc.data as KeysDoc).keys;
    const current = keys.find((k) => k.status === 'current');
    const next = keys.find((k) => k.status === 'next');
    const promoted = next ? [{ ...next, status: 'current' as const, current_since: ts }] : [];
    const kept = current ? [{ ...current, status: 'previous' as const }] : [];
    // Without a next key (never written by this module) the fresh key goes straight into use.
    const added = next ? fresh : { ...fresh, status: 'current' as const, current_since: ts };
    return { data: { keys: [...promoted, ...kept, added] } satisfies KeysDoc };
  });
  return saved ? (saved.data as KeysDoc).keys.find((k) => k.kid === fresh.kid) : undefined;
}

/** The algorithm a connection asks for (`options.token_endpoint_auth_signing_alg`), if it is one keys can be made for. */
export function configuredAlg(options: any): SigningAlg | undefined {
  const a = options?.token_endpoint_auth_signing_alg;
  return isSigningAlg(a) ? a : undefined;
}

/**
 * The current signing key of a connection. A connection without keys gets them
 * here (made for `alg`, RS256 by default), so private_key_jwt works without a
 * POST /connections/{id}/keys first. The key signs with its own algorithm.
 * Read on every call, not cached: another node may have rotated.
 */
export async function connectionSigningKey(env: Env, connectionId: string, alg?: string): Promise<{ kid: string; alg: string; key: KeyObject }> {
  let keys = await listConnectionKeys(env, connectionId);
  if (!keys.length) {
    if (alg !== undefined && !isSigningAlg(alg)) throw badRequest(`Unsupported signing algorithm: ${alg}`);
    if (!(await env.store.connections.get(connectionId))) throw notFound('The connection does not exist', 'inexistent_connection');
    keys = await provisionConnectionKeys(env, connectionId, alg ?? 'RS256').catch(async (e) => {
      if (e instanceof UniqueViolation) return listConnectionKeys(env, connectionId); // made by a concurrent first use
      throw e;
    });
  }
  const current = keys.find((k) => k.status === 'current')!;
  return { kid: current.kid, alg: current.alg, key: createPrivateKey(env.box.open(current.private_key)) };
}

/**
 * A private_key_jwt client assertion for the connection's IdP (RFC 7523):
 * issuer and subject are the connection's client_id, valid for one minute.
 */
export async function clientAssertion(env: Env, conn: { id: string; data: { options?: any } }, audience: string): Promise<string> {
  const clientId = conn.data.options?.client_id;
  if (typeof clientId !== 'string' || !clientId) throw new Error(`connection ${conn.id} has no client_id`);
  const { kid, alg, key } = await connectionSigningKey(env, conn.id, configuredAlg(conn.data.options));
  const iat = Math.floor(Date.now() / 1000);
  return new SignJWT({ jti: randomBytes(16).toString('base64url') })
    .setProtectedHeader({ alg, kid })
    .setIssuer(clientId).setSubject(clientId).setAudience(audience)
    .setIssuedAt(iat).setExpirationTime(iat + 60)
    .sign(key);
}
