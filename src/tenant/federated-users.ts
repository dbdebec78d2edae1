import { conflict, UniqueViolation } from '../lib/errors.ts';
import type { UserRow } from '../store/schema.ts';
import type { Env } from './env.ts';
import { gravatar, updateUser } from './users.ts';

// Users of enterprise connections (Okta Workforce, OIDC): created by their
// first login or by inbound SCIM, never with a password. Both paths name a user
// the same way, so a user provisioned by SCIM is the one who later logs in.

/** Strategies whose users come from an upstream identity provider. */
export const ENTERPRISE_STRATEGIES = new Set(['okta', 'oidc']);

export interface ConnectionDoc { id: string; data: { name: string; strategy: string; options?: any } }

/** The root attributes an upstream profile (or a SCIM resource) sets on a user. */
export interface FederatedProfile {
  email?: string | null; email_verified?: boolean; name?: string | null; nickname?: string | null;
  given_name?: string | null; family_name?: string | null; picture?: string | null; username?: string | null;
  phone_number?: string | null; blocked?: boolean;
  app_metadata?: Record<string, unknown>; user_metadata?: Record<string, unknown>;
}

/** `{strategy}|{connection}|{sub}`: the identity's user_id is `{connection}|{sub}`, as for Auth0's enterprise users. */
export const federatedUserId = (conn: ConnectionDoc, sub: string) => `${conn.data.strategy}|${conn.data.name}|${sub}`;

export const findFederatedUser = (env: Env, conn: ConnectionDoc, sub: string) => env.store.getUser(federatedUserId(conn, sub));

export async function createFederatedUser(env: Env, conn: ConnectionDoc, sub: string, p: FederatedProfile): Promise<UserRow> {
  const ts = new Date().toISOString();
  const email = p.email ? String(p.email).trim() : null;
  const row: Omit<UserRow, 'tenant_id'> = {
    user_id: federatedUserId(conn, sub), connection: conn.data.name, provider: conn.data.strategy,
    email, email_norm: email?.toLowerCase() ?? null, email_verified: p.email_verified ? 1 : 0,
    username: p.username ?? null, phone_number: p.phone_number ?? null,
    name: p.name ?? email ?? sub, nickname: p.nickname ?? (email ? email.split('@')[0] : sub),
    given_name: p.given_name ?? null, family_name: p.family_name ?? null,
    picture: p.picture ?? gravatar(email, email ?? sub),
    blocked: p.blocked ? 1 : 0, created_at: ts, updated_at: ts, last_login: null, last_ip: null, logins_count: 0,
    app_metadata: JSON.stringify(p.app_metadata ?? {}), user_metadata: JSON.stringify(p.user_metadata ?? {}),
    identities: JSON.stringify([{ connection: conn.data.name, user_id: `${conn.data.name}|${sub}`, provider: conn.data.strategy, isSocial: false }]),
    data: JSON.stringify({}),
    password_hash: null,
  };
  try {
    await env.store.insertUser(row);
  } catch (e) {
    if (e instanceof UniqueViolation) throw conflict('The user already exists.', 'auth0_idp_error');
    throw e;
  }
  return { ...row, tenant_id: env.store.tenantId };
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
  return Object.keys(changed).length ? updateUser(env, row.user_id, changed) : row;
}
