import { ApiError } from '../lib/errors.ts';
import { scopesOf, verifyApiToken } from '../tenant/access-tokens.ts';
import type { Env } from '../tenant/env.ts';
import { mfaApiFactors } from '../tenant/mfa-policy.ts';
import { mfaAudience, type MfaApiScope } from './mfa-audience.ts';
import { openMfaToken, type MfaContext } from './mfa-token.ts';

// Who calls the MFA API: the holder of an mfa_token (mfa-token.ts), or of an
// access token for the MFA API's audience (mfa-audience.ts), which Auth0
// also takes in place of an mfa_token where an enrollment is confirmed (the
// mfa-otp and mfa-oob grants). Both read as the same context, so the
// operations do not care which one came; only an access token's scopes are
// checked, operation by operation.

export interface MfaCaller extends MfaContext {
  /** Set for an access token: `scope` is what it was granted, checked by needScope. */
  accessToken?: true;
}

const JWT = /^[\w-]+\.[\w-]+\.[\w-]+$/;

/** The caller a bearer names: an access token's refusals are 401 invalid_token ApiErrors, an mfa_token's are mfa-token.ts's. */
export async function openMfaBearer(env: Env, token: unknown): Promise<MfaCaller> {
  const t = String(token ?? '');
  if (!JWT.test(t)) return openMfaToken(env, t);
  const payload = await verifyApiToken(env, t, mfaAudience(env));
  const refuse = (why: string) => new ApiError(401, why, 'invalid_token');
  if (typeof payload.sub !== 'string' || typeof payload.azp !== 'string' || payload.gty === 'client-credentials') throw refuse('The access token is not a user\'s.');
  // Its DPoP proof cannot be checked here: a key-bound token is not taken as a bearer.
  if ((payload as any).cnf) throw refuse('A sender-constrained access token is not accepted by the MFA API.');
  return {
    accessToken: true, sub: payload.sub, client_id: payload.azp, scope: scopesOf(payload), audience: mfaAudience(env),
    gty: 'mfa', claims: {}, factors: await mfaApiFactors(env), exp: payload.exp ?? 0,
  };
}

/**
 * Whether the caller may do what needs `scope`. An mfa_token, which a password
 * alone gets, may list and enroll but never remove: removing the factors that
 * guard an account takes an access token with `remove:authenticators`, as at Auth0.
 */
export const holdsScope = (caller: MfaCaller, scope: MfaApiScope) => (caller.accessToken ? caller.scope.includes(scope) : scope !== 'remove:authenticators');
