import { createPublicKey } from 'node:crypto';
import { badRequest } from '../lib/errors.ts';
import { route, type Route } from './router.ts';
import { singleton, type Singleton } from './singleton.ts';

// The tenant's custom signing keys: a JWKS of public keys, replaced whole by
// PUT. Private key members are refused by the schema; each key must also be a
// usable public key of its type, with a kid of its own. Postern verifies no
// token with them.

interface Jwks { keys: Record<string, any>[] }

const MIN_RSA_BITS = 2048;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const ALGS: Record<string, RegExp> = { RSA: /^(RS|PS)/, EC: /^ES/ };
const bad = (i: number, why: string) => badRequest(`Payload validation error: '${why}' on property keys[${i}].`);

function checkKeys(doc: Jwks) {
  const kids = new Set<string>();
  doc.keys.forEach((k, i) => {
    // Node decodes base64url leniently, so a member with other characters would pass for a shorter one.
    if (['n', 'e', 'x', 'y'].some((m) => k[m] !== undefined && !BASE64URL.test(k[m]))) throw bad(i, `Not a valid ${k.kty} public key`);
    let key;
    try { key = createPublicKey({ key: k as any, format: 'jwk' }); } catch { throw bad(i, `Not a valid ${k.kty} public key`); }
    if (k.kty === 'RSA' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) throw bad(i, `An RSA key must have at least ${MIN_RSA_BITS} bits`);
    if (k.kty === 'RSA' && k.crv !== undefined) throw bad(i, 'An RSA key has no crv');
    if (k.alg && !ALGS[k.kty]?.test(k.alg)) throw bad(i, `The alg ${k.alg} does not fit a ${k.kty} key`);
    if (k.kid !== undefined) {
      if (kids.has(k.kid)) throw bad(i, `Duplicate kid: ${k.kid}`);
      kids.add(k.kid);
    }
  });
}

const DOC = 'keys.custom_signing';
export const CUSTOM_SIGNING_KEYS: Singleton<Jwks> = { path: '/keys/custom-signing', doc: DOC, defaults: { keys: [] }, check: checkKeys };

export const customSigningKeyRoutes: Route[] = [
  ...singleton(CUSTOM_SIGNING_KEYS),
  route('DELETE', '/keys/custom-signing', async ({ env }) => { await env.store.deleteTenantDoc(DOC); }),
];
