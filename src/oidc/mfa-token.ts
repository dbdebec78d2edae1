import type { Env } from '../tenant/env.ts';
import type { LoginClaims } from '../actions/post-login.ts';
import type { Offered } from '../tenant/mfa-policy.ts';
import { Auth0GrantError } from './errors.ts';

// The `mfa_token` of an `mfa_required` answer: what the password grant had
// established (the user, the application, what it asked for, what the
// post-login actions gave), sealed with the master key so any node can read
// it back and no one can forge or read it. Auth0 gives it ten minutes.

export const MFA_TOKEN_TTL = 600;

export interface MfaContext {
  sub: string; client_id: string; scope: string[]; audience?: string;
  /** The grant the user started with (`password`, `password-realm`), for the tokens' `gty`. */
  gty: string;
  claims: LoginClaims;
  /** The factors the login may be finished with (mfa-policy.ts); tokens sealed before there were several mean the app alone. */
  factors?: Offered[];
  exp: number;
}

export function sealMfaToken(env: Env, c: Omit<MfaContext, 'exp'>): string {
  return env.box.seal(JSON.stringify({ use: 'mfa_token', ...c, exp: Math.floor(Date.now() / 1000) + MFA_TOKEN_TTL }));
}

/** The context of a token a client presents, or Auth0's errors for a forged or stale one. */
export function openMfaToken(env: Env, token: unknown): MfaContext {
  let c: any;
  try {
    c = JSON.parse(env.box.open(String(token ?? '')));
  } catch {
    throw new Auth0GrantError(403, 'invalid_grant', 'Malformed mfa_token');
  }
  if (c?.use !== 'mfa_token' || typeof c.sub !== 'string') throw new Auth0GrantError(403, 'invalid_grant', 'Malformed mfa_token');
  if (c.exp <= Math.floor(Date.now() / 1000)) throw new Auth0GrantError(403, 'expired_token', 'mfa_token is expired');
  return c;
}
