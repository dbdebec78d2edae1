import { createHash, randomInt } from 'node:crypto';
import { notFound } from '../lib/errors.ts';
import { alnum } from '../lib/ids.ts';
import type { UserRow } from '../store/schema.ts';
import { RETRY, untilLanded } from '../store/store.ts';
import type { Env } from './env.ts';
import { loadUser } from './users.ts';

// A user's MFA authenticators. Auth0 shows them twice: as authentication
// methods (`totp|dev_…`) and as Guardian enrollments (`dev_…`, the same id
// without the type). They live in the user's row (`data.mfa`), so they go
// when the user goes, and every change is a compare-and-swap on that row
// (Store.updateUser), so concurrent changes never drop each other.
// Secrets are never kept in the clear: a TOTP secret is sealed with the
// master key, a recovery code is kept only as its hash.

export type AuthenticatorType = 'phone' | 'email' | 'totp' | 'webauthn-roaming' | 'webauthn-platform' | 'passkey' | 'recovery-code';

export interface Authenticator {
  id: string;
  type: AuthenticatorType;
  created_at: string;
  name?: string;
  phone_number?: string;
  preferred_authentication_method?: 'sms' | 'voice';
  email?: string;
  /** Sealed. */
  totp_secret?: string;
  /** sha256, hex. */
  recovery_code_hash?: string;
  key_id?: string;
  public_key?: string;
  relying_party_identifier?: string;
  aaguid?: string;
  credential_device_type?: string;
  credential_backed_up?: boolean;
  identity_user_id?: string;
  user_agent?: string;
  user_handle?: string;
  transports?: string[];
  /** A passkey's or security key's signature counter, kept to refuse a cloned authenticator (never answered). */
  counter?: number;
  last_auth_at?: string;
}

export interface MfaState {
  authenticators: Authenticator[]; remember_browser_invalidated_at?: string;
  /** A one-time-password enrollment begun at a login and not yet proven with a code (see otp.ts). */
  pending_totp?: { id: string; totp_secret: string; created_at: string };
  /** The last time step whose code was accepted: a code works once. */
  totp_last_step?: number;
  /** Attempts left to guess a code, and when they were counted (a bucket that refills). */
  otp_attempts?: { left: number; at: number };
}

/** Auth0's shape: `{type}|dev_` and 16 characters; the part after `|` is the Guardian enrollment id. */
export const newAuthenticatorId = (type: AuthenticatorType) => `${type}|dev_${alnum(16)}`;
export const enrollmentIdOf = (a: Authenticator) => a.id.slice(a.id.indexOf('|') + 1);
const ENROLLMENT_ID = /^dev_[A-Za-z0-9]{16}$/;

export const missingAuthenticator = () => notFound('The authentication method does not exist.', 'inexistent_authentication_method');
export const missingEnrollment = () => notFound('The enrollment does not exist.', 'inexistent_enrollment');

export function mfaOf(row: UserRow): MfaState {
  const mfa = JSON.parse(row.data).mfa;
  return { ...mfa, authenticators: mfa?.authenticators ?? [] };
}

/** Read-modify-write of a user's MFA state; `change` may run again on a fresher row, and throws to refuse. */
export async function changeMfa(env: Env, userId: string, change: (mfa: MfaState, row: UserRow) => MfaState): Promise<MfaState> {
  return untilLanded(async () => {
    const row = await loadUser(env, userId);
    const next = change(mfaOf(row), row);
    const data = JSON.stringify({ ...JSON.parse(row.data), mfa: next });
    return (await env.store.updateUser(userId, { data }, row)) ? next : RETRY;
  });
}

/** Removes the authenticators `drop` picks; a 404 from `missing` when it picks none and `missing` is given. */
export async function removeAuthenticators(env: Env, userId: string, drop: (a: Authenticator) => boolean, missing?: () => Error) {
  await changeMfa(env, userId, (mfa) => {
    const kept = mfa.authenticators.filter((a) => !drop(a));
    if (missing && kept.length === mfa.authenticators.length) throw missing();
    return { ...mfa, authenticators: kept };
  });
}

/**
 * The user holding a Guardian enrollment id. Enrollment ids are random and
 * name no user, so this narrows the users by the id in their row and then
 * checks exactly; it is an administrator's lookup, not one on a login's path.
 */
export async function findEnrollment(env: Env, id: string): Promise<{ row: UserRow; authenticator: Authenticator } | undefined> {
  if (!ENROLLMENT_ID.test(id)) return undefined;
  const rows = await env.store.usersQuery().selectAll().where('data', 'like', `%|${id}"%`).execute();
  for (const row of rows) {
    const authenticator = mfaOf(row).authenticators.find((a) => enrollmentIdOf(a) === id);
    if (authenticator) return { row, authenticator };
  }
  return undefined;
}

/** Recovery codes as Auth0 shows them: 24 characters of A-Z and 0-9 (about 124 bits). */
export function newRecoveryCode(): { code: string; hash: string } {
  const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const code = Array.from({ length: 24 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
  return { code, hash: createHash('sha256').update(code).digest('hex') };
}
