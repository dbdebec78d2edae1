import { createPublicKey, type KeyObject } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { errors } from 'oidc-provider';
import type { Env } from '../tenant/env.ts';
import { secretMatches, type CachedClient } from './clients.ts';
import { OAuthError } from './errors.ts';

// private_key_jwt as Auth0 has it: the application signs a short-lived JWT
// (iss = sub = its client_id, aud = the tenant's issuer or token endpoint) with
// the private key of one of its credentials. The engine verifies the assertion
// and refuses a replayed jti (ClientCache hands it only unexpired keys); the
// checks here are the ones Auth0 adds, and the proof the token endpoint needs
// before it may run Auth0's grant checks for the caller.

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** Auth0 refuses assertions meant to live longer than five minutes... */
const MAX_LIFETIME = 300;
/** ...and allows ten seconds of clock skew. */
const CLOCK_SKEW = 10;

/** The client an assertion claims to come from (its `sub`), unverified: only to look the client up. */
export function assertionSubject(assertion: unknown): string | undefined {
  if (typeof assertion !== 'string') return undefined;
  try {
    const { sub } = decodeJwt(assertion);
    return typeof sub === 'string' ? sub : undefined;
  } catch {
    return undefined;
  }
}

const keyObjects = new WeakMap<object, KeyObject>();
const keyOf = (jwk: Record<string, any>) => {
  let k = keyObjects.get(jwk);
  if (!k) keyObjects.set(jwk, k = createPublicKey({ key: jwk as any, format: 'jwk' }));
  return k;
};

/** Whether the assertion is signed by one of the client's keys and meant for this tenant (no replay check: the engine's). */
async function assertionVerifies(env: Env, c: CachedClient, assertion: string): Promise<boolean> {
  let header;
  try { header = decodeProtectedHeader(assertion); } catch { return false; }
  const audience = [env.issuer, new URL('oauth/token', env.issuer).href];
  const candidates = c.jwks!.keys.filter((k) => k.alg === header.alg && (header.kid === undefined || k.kid === header.kid));
  for (const jwk of candidates) {
    try {
      await jwtVerify(assertion, keyOf(jwk), {
        issuer: c.id, subject: c.id, audience, algorithms: [String(jwk.alg)], requiredClaims: ['exp', 'jti'], clockTolerance: CLOCK_SKEW,
      });
      return true;
    } catch { /* the next key, if any */ }
  }
  return false;
}

/**
 * Whether the caller of the token endpoint proved to be the client: by an
 * assertion when the client uses private_key_jwt (its secret then no longer
 * counts, as in Auth0), by its secret otherwise. A failed assertion is refused
 * here rather than left to the engine, so no token is ever issued past Auth0's
 * checks on an assertion the engine, with its own tolerances, might still take.
 */
export async function callerAuthenticated(env: Env, c: CachedClient, params: Record<string, any>): Promise<boolean> {
  if (!c.jwks) return secretMatches(c, params.client_secret);
  // Without an assertion the engine refuses the caller anyway, as Auth0 refuses a secret then.
  if (params.client_assertion === undefined) return false;
  const ok = params.client_assertion_type === ASSERTION_TYPE && typeof params.client_assertion === 'string'
    && await assertionVerifies(env, c, params.client_assertion);
  if (!ok) throw new OAuthError(401, 'invalid_client', 'client authentication failed');
  return true;
}

/** The engine's assertJwtClientAuthClaimsAndHeader: Auth0's five-minute ceiling on an assertion's lifetime. */
export async function assertionLifetime(_ctx: unknown, claims: { exp?: number; iat?: number }) {
  const from = typeof claims.iat === 'number' ? claims.iat : Math.floor(Date.now() / 1000);
  if (typeof claims.exp === 'number' && claims.exp - from > MAX_LIFETIME) {
    throw new errors.InvalidClientAuth("'exp' claim must specify a time that is no more than 5 minutes after 'iat'");
  }
}
