import { errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { ApiError } from '../lib/errors.ts';
import type { Env } from './env.ts';

// The tenant's own APIs (the Management API, the MFA API) take a bearer JWT
// as Auth0 checks it: RS256 under the tenant's published keys, the tenant's
// issuer, the API among `aud`, not expired. Refusals are 401 `invalid_token`
// with Auth0's descriptions; each API renders them in its own error shape.

export type ApiToken = JWTPayload & { scope?: string; azp?: string };

const invalid = (message: string) => new ApiError(401, message, 'invalid_token');

export async function verifyApiToken(env: Env, token: string, audience: string): Promise<ApiToken> {
  try {
    const { payload } = await jwtVerify(token, env.keys.verifier, { issuer: env.issuer, algorithms: ['RS256'] });
    const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if (!aud.includes(audience)) throw invalid(`Bad audience: ${aud.join(' ')}`);
    return payload as ApiToken;
  } catch (e) {
    if (e instanceof ApiError) throw e;
    if (e instanceof joseErrors.JWTExpired) throw invalid('Expired token received for JSON Web Token validation');
    if (e instanceof joseErrors.JWTClaimValidationFailed && e.claim === 'iss') throw invalid(`Bad issuer: ${String((e.payload as any)?.iss ?? '')}`);
    throw invalid('Invalid token');
  }
}

export const scopesOf = (token: { scope?: unknown }) => String(token.scope ?? '').split(' ').filter(Boolean);

export const insufficientScope = (scopes: string[]) => new ApiError(403, `Insufficient scope, expected any of: ${scopes.join(',')}`, 'insufficient_scope');
