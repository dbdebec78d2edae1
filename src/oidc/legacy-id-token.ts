import { decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { Env } from '../tenant/env.ts';
import type { ClientCache } from './clients.ts';
import { Auth0GrantError } from './errors.ts';

// The ID tokens that Auth0's legacy endpoints take back (/tokeninfo,
// /delegation, the jwt-bearer flavour of /oauth/ro): ours only, checked as
// Auth0 checked them, by signature and expiry. RS256 tokens verify under the
// tenant's published keys; an application set to HS256 gets ID tokens signed
// with its secret, so those verify with the secret of the application in `aud`.
// Refusals carry the jsonwebtoken wording Auth0's answers used.

export class IdTokenRefused extends Error {}

export interface CheckedIdToken { payload: JWTPayload & { sub: string }; clientId: string }

const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]*$/;

/** The token's claims once it checks out; `audience`: the application it must have been issued to. */
export async function checkIdToken(env: Env, clients: ClientCache, token: unknown, audience?: string): Promise<CheckedIdToken> {
  if (typeof token !== 'string' || !JWT_SHAPE.test(token)) throw new IdTokenRefused('jwt malformed');
  let alg: string | undefined;
  let aud: string | undefined;
  try {
    alg = decodeProtectedHeader(token).alg;
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
    aud = Array.isArray(claims?.aud) ? claims.aud[0] : claims?.aud;
  } catch {
    throw new IdTokenRefused('jwt malformed');
  }
  if (typeof aud !== 'string' || !aud) throw new IdTokenRefused('jwt audience invalid');
  if (audience !== undefined && aud !== audience) throw new IdTokenRefused(`jwt audience invalid. expected: ${audience}`);
  const client = await clients.get(aud);
  if (!client) throw new IdTokenRefused('jwt audience invalid');
  try {
    const key = alg === 'HS256' ? (client.secret ? new TextEncoder().encode(client.secret) : undefined) : env.keys.verifier;
    if (!key) throw new IdTokenRefused('invalid algorithm');
    const { payload } = await jwtVerify(token, key as any, { issuer: env.issuer, audience: aud, algorithms: [alg === 'HS256' ? 'HS256' : 'RS256'] });
    if (typeof payload.sub !== 'string' || !payload.sub) throw new IdTokenRefused('jwt subject invalid');
    return { payload: payload as CheckedIdToken['payload'], clientId: client.id };
  } catch (e) {
    if (e instanceof IdTokenRefused) throw e;
    if (e instanceof joseErrors.JWTExpired) throw new IdTokenRefused('jwt expired');
    if (e instanceof joseErrors.JWTClaimValidationFailed && e.claim === 'iss') throw new IdTokenRefused(`jwt issuer invalid. expected: ${env.issuer}`);
    if (e instanceof joseErrors.JWTClaimValidationFailed) throw new IdTokenRefused(`jwt ${e.claim} invalid`);
    if (e instanceof joseErrors.JOSEAlgNotAllowed) throw new IdTokenRefused('invalid algorithm');
    throw new IdTokenRefused('invalid signature');
  }
}

/** For a legacy grant: the subject of an ID token issued to `clientId`, a refusal being the grant's 401 invalid_token. */
export async function idTokenSubject(env: Env, clients: ClientCache, token: unknown, clientId: string): Promise<string> {
  try {
    return (await checkIdToken(env, clients, token, clientId)).payload.sub;
  } catch (e) {
    if (e instanceof IdTokenRefused) throw new Auth0GrantError(401, 'invalid_token', e.message);
    throw e;
  }
}

/** The user a legacy grant names, refused (401 unauthorized) when gone or blocked. */
export async function activeUser(env: Env, userId: string) {
  const user = await env.store.getUser(userId);
  if (!user || user.blocked) throw new Auth0GrantError(401, 'unauthorized', user ? 'user is blocked' : 'user does not exist');
  return user;
}
