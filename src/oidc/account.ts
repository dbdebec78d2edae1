import type { UserRow } from '../store/schema.ts';
import type { Env } from '../tenant/env.ts';
import type { LogEvent } from '../tenant/logs.ts';
import { BLOCKED_MESSAGE, countFailedLogin, loginBlocked, resetFailedLogins } from '../tenant/brute-force.ts';
import { countFailedFromIp, ipThrottled, SUSPICIOUS_MESSAGE } from '../tenant/ip-throttle.ts';

// Accounts as the engine sees them: Auth0 users by user_id, with the profile
// claims Auth0 puts into ID tokens and /userinfo. Blocked users have no
// account, so sessions, codes and refresh tokens of a blocked user stop working.

export const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access', 'address', 'phone'];

export const CLAIMS_BY_SCOPE = {
  openid: ['sub'],
  profile: ['name', 'nickname', 'picture', 'updated_at', 'given_name', 'family_name', 'preferred_username'],
  email: ['email', 'email_verified'],
  phone: ['phone_number', 'phone_number_verified'],
};

/** Every claim Auth0 would release for this user; the engine filters by scope. */
export function profileClaims(row: UserRow): Record<string, unknown> {
  const out: Record<string, unknown> = {
    sub: row.user_id,
    name: row.name ?? row.email ?? undefined,
    nickname: row.nickname ?? undefined,
    picture: row.picture ?? undefined,
    updated_at: row.updated_at,
    given_name: row.given_name ?? undefined,
    family_name: row.family_name ?? undefined,
    email: row.email ?? undefined,
    email_verified: row.email ? Boolean(row.email_verified) : undefined,
    phone_number: row.phone_number ?? undefined,
  };
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
}

export function findAccountFor(env: Env) {
  return async (_ctx: unknown, sub: string) => {
    const row = await env.store.getUser(sub);
    if (!row || row.blocked) return undefined;
    // The row rides along so that what runs later in the request (userinfo, actions) need not read it again.
    return { accountId: row.user_id, row, claims: async () => profileClaims(row) as any };
  };
}

/** Who tried to sign in, from where, through what: what a login's log event names. */
export interface LoginAttempt {
  ip: string; userAgent?: string; identifier: string;
  client: { id: string; name?: string };
  connection: { id: string; data: { name: string; strategy: string } };
}

/** The tenant log fields every event of a login attempt carries. */
export const attemptFields = (a: LoginAttempt): Omit<LogEvent, 'type'> => ({
  ip: a.ip, user_agent: a.userAgent, user_name: a.identifier,
  client_id: a.client.id, client_name: a.client.name,
  connection: a.connection.data.name, connection_id: a.connection.id, strategy: a.connection.data.strategy, strategy_type: a.connection.data.strategy === 'auth0' ? 'database' : 'enterprise',
});

/** Bookkeeping Auth0 does on each successful login: the user's counters, the end of a run of failures, and an `s` event. */
export async function recordLogin(env: Env, row: UserRow, a: LoginAttempt, identity: UserRow = row) {
  await env.store.recordLogin(row.user_id, new Date().toISOString(), a.ip);
  // Failures count against the identity that was tried (a linked one logs in as its primary).
  await resetFailedLogins(env, identity.user_id, a.ip);
  env.events.record({ ...attemptFields(a), type: 's', description: 'Successful login', user_id: row.user_id });
}

/**
 * A refused login, in Auth0's codes: `fu` no such user, `fp` wrong password
 * (which brute-force protection counts, and may answer with a block:
 * `limit_wc`), `f` a user an administrator blocked.
 */
export async function recordFailedLogin(env: Env, a: LoginAttempt, user: UserRow | undefined, blocked = false) {
  const [type, description] = !user ? ['fu', 'Wrong email or password.'] : blocked ? ['f', 'user is blocked'] : ['fp', 'Wrong email or password.'];
  env.events.record({ ...attemptFields(a), type, description, user_id: user?.user_id });
  if (type === 'fp' && await countFailedLogin(env, user, a.ip)) {
    env.events.record({ ...attemptFields(a), type: 'limit_wc', description: BLOCKED_MESSAGE, user_id: user?.user_id });
  }
  if (type !== 'f' && await countFailedFromIp(env, a.ip)) {
    env.events.record({ ...attemptFields(a), type: 'limit_mu', description: SUSPICIOUS_MESSAGE });
  }
}

/**
 * Why attack protection refuses this attempt before any password is checked
 * (and its event: `limit_mu` for a throttled address, `limit_wc` for a blocked
 * account), or undefined when it does not.
 */
export async function attackRefusal(env: Env, a: LoginAttempt, user: UserRow | undefined): Promise<string | undefined> {
  if (await ipThrottled(env, a.ip)) {
    env.events.record({ ...attemptFields(a), type: 'limit_mu', description: SUSPICIOUS_MESSAGE, user_id: user?.user_id });
    return SUSPICIOUS_MESSAGE;
  }
  if (!(await loginBlocked(env, user, a.ip))) return undefined;
  env.events.record({ ...attemptFields(a), type: 'limit_wc', description: BLOCKED_MESSAGE, user_id: user?.user_id });
  return BLOCKED_MESSAGE;
}
