import type { UserRow } from '../store/schema.ts';
import type { Env } from '../tenant/env.ts';

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
    return { accountId: row.user_id, claims: async () => profileClaims(row) as any };
  };
}

/** Bookkeeping Auth0 does on each successful login. */
export async function recordLogin(env: Env, row: UserRow, ip: string) {
  await env.store.recordLogin(row.user_id, new Date().toISOString(), ip);
}
