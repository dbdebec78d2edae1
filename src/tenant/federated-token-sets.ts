import { randomUUID } from 'node:crypto';
import type { OidcPayloadRow, UserRow } from '../store/schema.ts';
import type { Env } from './env.ts';
import type { ConnectionDoc } from './federated-users.ts';

// Auth0's Token Vault storage: when an enterprise connection has
// `federated_connections_access_tokens.active`, each login through it keeps the
// IdP's tokens, one set per identity (so per user and connection) that the next
// login replaces. The tokens are sealed with the master key; only the metadata
// is readable. Rows are engine payloads whose account is the identity's own
// user_id, so deleting the user or its connection takes them with the user's
// other payloads.

const MODEL = 'FederatedTokenSet';

/** What the IdP's token endpoint answered. */
export interface UpstreamTokens { access_token?: string; refresh_token?: string; token_type?: string; scope?: string; expires_in?: number }

interface Sealed { access_token: string; refresh_token?: string; token_type?: string }

export const tokenVaultActive = (conn: ConnectionDoc) => conn.data.options?.federated_connections_access_tokens?.active === true;

/** Keeps the tokens of a login through `conn` for `identity` (the connection's own user row, linked or not). */
export async function storeTokenSet(env: Env, conn: ConnectionDoc, identity: UserRow, tokens: UpstreamTokens | undefined): Promise<void> {
  // A front_channel login has only an ID token: nothing to keep.
  if (!tokens?.access_token || !tokenVaultActive(conn)) return;
  const previous = await env.store.findPayload(MODEL, 'id', identity.user_id);
  // IdPs often send a refresh token only on first consent; a later login keeps the one held.
  const refresh = tokens.refresh_token ?? (previous ? openTokens(env, previous).refresh_token : undefined);
  const sealed: Sealed = { access_token: tokens.access_token, ...(refresh ? { refresh_token: refresh } : {}), ...(tokens.token_type ? { token_type: tokens.token_type } : {}) };
  const now = Date.now();
  const payload = {
    connection: conn.data.name,
    scope: tokens.scope ?? conn.data.options?.scope ?? '',
    issued_at: new Date(now).toISOString(),
    expires_at: typeof tokens.expires_in === 'number' ? new Date(now + tokens.expires_in * 1000).toISOString() : null,
    last_used_at: null,
    tokens: env.box.seal(JSON.stringify(sealed)),
  };
  // The public id stays with the identity across logins, so an id an admin listed stays valid.
  await env.store.upsertPayload({
    model: MODEL, id: identity.user_id, uid: previous?.uid ?? randomUUID(), account_id: identity.user_id,
    payload: JSON.stringify(payload), grant_id: null, user_code: null, expires_at: null, consumed_at: null,
  });
}

/** A set sealed under another master key opens to nothing rather than failing the login. */
function openTokens(env: Env, row: OidcPayloadRow): Partial<Sealed> {
  try { return JSON.parse(env.box.open(JSON.parse(row.payload).tokens)); } catch { return {}; }
}

/** The user_ids of a user's identities: its own and those linked into it. */
const identityIds = (user: UserRow) => (JSON.parse(user.identities) as { provider: string; user_id: string }[]).map((i) => `${i.provider}|${i.user_id}`);

export async function tokenSetsOf(env: Env, user: UserRow): Promise<OidcPayloadRow[]> {
  const ids = new Set([user.user_id, ...identityIds(user)]);
  const rows = (await Promise.all([...ids].map((id) => env.store.listPayloads(MODEL, { account_id: id })))).flat();
  return rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The set `id` if it belongs to one of the user's identities. */
export async function findTokenSet(env: Env, user: UserRow, id: string): Promise<OidcPayloadRow | undefined> {
  const row = await env.store.findPayload(MODEL, 'uid', id);
  return row && (row.account_id === user.user_id || identityIds(user).includes(row.account_id!)) ? row : undefined;
}

/** Drops an identity's set (a row's id is its identity's user_id). */
export async function deleteTokenSet(env: Env, identityUserId: string): Promise<void> {
  await env.store.destroyPayload(MODEL, identityUserId);
}

/** The Management API's view: the metadata, never a token. */
export function tokenSetJson(row: OidcPayloadRow) {
  const p = JSON.parse(row.payload);
  return { id: row.uid, connection: p.connection, scope: p.scope, expires_at: p.expires_at, issued_at: p.issued_at, last_used_at: p.last_used_at };
}
