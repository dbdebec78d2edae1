import type { UserRow } from '../store/schema.ts';
import type { Env } from './env.ts';
import { insertNewUser, updateUser, type NewUserProfile } from './users.ts';
import { refreshProfileData } from './account-linking.ts';

// Users of enterprise connections (Okta Workforce, OIDC): created by their
// first login or by inbound SCIM, never with a password. Both paths name a user
// the same way, so a user provisioned by SCIM is the one who later logs in.

/** Strategies whose users come from an upstream identity provider. */
export const ENTERPRISE_STRATEGIES = new Set(['okta', 'oidc']);

export interface ConnectionDoc { id: string; data: { name: string; strategy: string; options?: any } }

/** The root attributes an upstream profile (or a SCIM resource) sets on a user. */
export type FederatedProfile = NewUserProfile;

/** `{strategy}|{connection}|{sub}`: the identity's user_id is `{connection}|{sub}`, as for Auth0's enterprise users. */
export const federatedUserId = (conn: ConnectionDoc, sub: string) => `${conn.data.strategy}|${conn.data.name}|${sub}`;

/** The identity, linked into another user or not (a login resolves it with `accountFor`). */
export const findFederatedUser = (env: Env, conn: ConnectionDoc, sub: string) => env.store.getUser(federatedUserId(conn, sub), { linked: true });

export function createFederatedUser(env: Env, conn: ConnectionDoc, sub: string, p: FederatedProfile): Promise<UserRow> {
  return insertNewUser(env, { connection: conn.data.name, provider: conn.data.strategy, identityId: `${conn.data.name}|${sub}`, handle: sub }, p, { data: {}, password_hash: null });
}

/** Writes the profile's root attributes that differ from the stored user (Auth0's metadata merge for the metadata). */
export async function syncFederatedUser(env: Env, row: UserRow, p: FederatedProfile): Promise<UserRow> {
  const changed: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) {
    if (v === undefined) continue;
    const cur = (row as any)[k];
    const same = k === 'email_verified' || k === 'blocked' ? Boolean(cur) === Boolean(v) : k.endsWith('_metadata') ? false : (cur ?? null) === (v ?? null);
    if (!same) changed[k] = v;
  }
  if ('email' in changed && !('email_verified' in changed)) changed.email_verified = Boolean(p.email_verified ?? row.email_verified);
  if (!Object.keys(changed).length) return row;
  const saved = await updateUser(env, row.user_id, changed, { linked: true });
  await refreshProfileData(env, saved);
  return saved;
}
