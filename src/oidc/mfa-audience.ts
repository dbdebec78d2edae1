import { errors } from 'oidc-provider';
import type { MfaState } from '../tenant/authenticators.ts';
import type { Env } from '../tenant/env.ts';
import { offeredFactors, usableAuthenticators, type MfaNeed } from '../tenant/mfa-policy.ts';

// Auth0's MFA API as an API of the engine: `https://{domain}/mfa/` is an
// audience an application may ask for (at /authorize, the password grants, a
// refresh) to manage the user's authenticators through /mfa/* (mfa-api.ts).
// As at Auth0 it is built in: not stored with the tenant's APIs, not listed
// or editable through /api/v2/resource-servers, no client grant can name it.
// Its tokens are RS256 JWTs that last ten minutes (not configurable at
// Auth0), for users of first-party applications only.

export const MFA_API_SCOPES = ['enroll', 'read:authenticators', 'remove:authenticators'] as const;
export type MfaApiScope = typeof MFA_API_SCOPES[number];

export const mfaAudience = (env: Env) => `${env.issuer}mfa/`;

/** The built-in API for this identifier, in the shape of a stored one (ResourceServerCache). */
export function builtInApi(env: Env, identifier: string): { id: string; data: any } | undefined {
  if (identifier !== mfaAudience(env)) return undefined;
  return {
    id: 'mfa-api',
    data: {
      name: 'MFA API', identifier,
      scopes: MFA_API_SCOPES.map((value) => ({ value, description: value })),
      signing_alg: 'RS256', token_lifetime: 600, allow_offline_access: true,
      skip_consent_for_verifiable_first_party_clients: true, enforce_policies: false,
    },
  };
}

/** Where the engine resolves an API: only a user of a first-party application gets a token for the MFA API. */
export function refuseMfaApiCaller(env: Env, indicator: string, client: { data?: any } | undefined, clientCredentials: boolean) {
  if (indicator !== mfaAudience(env)) return;
  if (clientCredentials) throw new errors.AccessDenied(`Client is not authorized to access "${indicator}". The MFA API is for users, not for client credentials.`);
  if (client?.data?.is_first_party === false) throw new errors.AccessDenied(`Client is not authorized to access "${indicator}". The MFA API is for first-party applications.`);
}

/**
 * Auth0 asks for a second factor before any token for the MFA API, whatever
 * the policy and remembered browsers say, when the user has an authenticator
 * to answer with (an email address alone does not count; a security key does,
 * so a password alone never gets a token that could enroll another factor);
 * a user with none gets the token without one. Undefined when `resource` is another API.
 */
export async function mfaApiNeed(env: Env, resource: unknown, mfa: () => Promise<MfaState>): Promise<MfaNeed | undefined> {
  if (![resource].flat().includes(mfaAudience(env))) return undefined;
  const factors = await offeredFactors(env);
  if (!usableAuthenticators(await mfa(), factors.filter((f) => f !== 'email')).length) return undefined;
  return { kind: 'required', factors };
}
