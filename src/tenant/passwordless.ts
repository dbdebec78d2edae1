import type { UserRow } from '../store/schema.ts';
import { ApiError } from '../lib/errors.ts';
import type { Env } from './env.ts';
import { insertNewUser, updateUser, userJson } from './users.ts';
import { totpOf } from '../connections/passwordless.ts';
import { CodeNotAccepted, issueCode, keyedMac, spendCode } from './one-time-codes.ts';

// The one-time codes of passwordless connections, and the users they log in.
// One code is pending per connection and address: a new one replaces it.
// Three tries use a code up, as does one right one.

const MODEL = 'PasswordlessCode';
const MAX_ATTEMPTS = 3;

interface Pending {
  client_id: string; send: 'code' | 'link';
  /** The magic link's authorization parameters, for the browser that follows it. */
  auth_params?: Record<string, string>;
}
export type ConnectionDoc = { id: string; data: any };

/** An address as Auth0 matches it: email case-insensitively, a phone number as written. */
const normal = (conn: ConnectionDoc, identifier: string) => (conn.data.strategy === 'email' ? identifier.trim().toLowerCase() : identifier.trim());
const keyOf = (env: Env, conn: ConnectionDoc, identifier: string) =>
  ({ model: MODEL, id: keyedMac(env, 'postern passwordless code row', `${conn.id}\n${normal(conn, identifier)}`) });

/** Makes a new code for the address (replacing a pending one) and returns it. */
export async function issuePasswordlessCode(env: Env, conn: ConnectionDoc, identifier: string, pending: Pending): Promise<string> {
  const { length, timeStep } = totpOf(conn);
  return issueCode(env, keyOf(env, conn, identifier), { length, ttlSeconds: timeStep }, pending);
}

/** Why a code did not log anyone in, in Auth0's words for each. */
export class CodeRefused extends Error {
  constructor(readonly reason: CodeNotAccepted['reason'], strategy: string) {
    super(reason === 'expired' ? 'The verification code has expired. Please try to login again.'
      : reason === 'too_many_attempts' ? "You've reached the maximum number of attempts. Please try to login again."
        : `Wrong ${strategy === 'sms' ? 'phone number' : 'email'} or verification code.`);
  }
}

/** Uses the code up when it is the pending one for the address; the pending code's own data then. */
export async function spendPasswordlessCode(env: Env, conn: ConnectionDoc, identifier: string, code: string): Promise<Pending> {
  try {
    return await spendCode<Pending>(env, keyOf(env, conn, identifier), code, MAX_ATTEMPTS);
  } catch (e) {
    throw e instanceof CodeNotAccepted ? new CodeRefused(e.reason, conn.data.strategy) : e;
  }
}

/** The connection's user with this address, if there is one. */
export async function findPasswordlessUser(env: Env, conn: ConnectionDoc, identifier: string): Promise<UserRow | undefined> {
  if (conn.data.strategy === 'email') return env.store.userByConnectionEmail(conn.data.name, identifier.trim());
  return env.store.usersQuery({ linked: true }).selectAll()
    .where('connection', '=', conn.data.name).where('phone_number', '=', identifier.trim()).executeTakeFirst();
}

/**
 * The user an address logs in as, made on its first login. The identity id is
 * derived from the address (keyed by the master key, so it does not reveal
 * it), so two first logins at once make one user.
 */
export async function passwordlessUser(env: Env, conn: ConnectionDoc, identifier: string): Promise<UserRow> {
  const found = await findPasswordlessUser(env, conn, identifier);
  if (found) return markVerified(env, conn, found);
  try {
    return await createPasswordlessUser(env, conn, { [conn.data.strategy === 'email' ? 'email' : 'phone_number']: identifier.trim() }, true);
  } catch (e) {
    if (!(e instanceof ApiError && e.statusCode === 409)) throw e;
    const raced = await findPasswordlessUser(env, conn, identifier);
    if (!raced) throw e;
    return raced;
  }
}

/** A login by code proves the address: Auth0 then counts it as verified. */
async function markVerified(env: Env, conn: ConnectionDoc, row: UserRow): Promise<UserRow> {
  if (conn.data.strategy === 'email' && !row.email_verified) return updateUser(env, row.user_id, { email_verified: true }, { linked: true });
  if (conn.data.strategy === 'sms' && !userJson(row).phone_verified) return updateUser(env, row.user_id, { phone_verified: true }, { linked: true });
  return row;
}

/** A new user of a passwordless connection (a first login, or the Management API). */
export async function createPasswordlessUser(
  env: Env, conn: ConnectionDoc, p: { email?: string; phone_number?: string; email_verified?: boolean; phone_verified?: boolean; [k: string]: any },
  verified = false,
): Promise<UserRow> {
  const byEmail = conn.data.strategy === 'email';
  const address = byEmail ? p.email : p.phone_number;
  if (!address) throw new ApiError(400, `Payload validation error: 'Missing required property: ${byEmail ? 'email' : 'phone_number'}'.`, 'invalid_body');
  if (await findPasswordlessUser(env, conn, address)) throw new ApiError(409, 'The user already exists.', 'auth0_idp_error');
  const identityId = keyedMac(env, 'postern passwordless user id', `${conn.id}\n${normal(conn, address)}`, 'hex').slice(0, 24);
  return insertNewUser(env, { connection: conn.data.name, provider: conn.data.strategy, identityId, handle: byEmail ? undefined : address }, {
    ...p, email_verified: byEmail ? (verified || p.email_verified === true) : p.email_verified,
  }, { data: verified || p.phone_verified ? (byEmail ? {} : { phone_verified: true }) : {}, password_hash: null });
}
