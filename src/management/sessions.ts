import { notFound } from '../lib/errors.ts';
import type { OidcPayloadRow } from '../store/schema.ts';
import type { Env } from '../tenant/env.ts';
import { loadUser } from '../tenant/users.ts';
import { tenantSettings } from './tenant-settings.ts';
import { listPayloadsByUid, live } from './payload-list.ts';
import { sessionExpired, type SessionLimits } from '../oidc/session-limits.ts';
import { reply, route, type Route } from './router.ts';
import { destroyWithMetadata, readMetadata, writeMetadata } from './payload-metadata.ts';

// Login sessions are the engine's Session payloads. Their public id is the
// session's uid, never its jti: the jti is the value of the session cookie.
// Deleting one destroys the payload, which ends it for the engine too.

const MODEL = 'Session';
const iso = (epoch: unknown) => (typeof epoch === 'number' ? new Date(epoch * 1000).toISOString() : null);

export async function sessionJson(env: Env, row: OidcPayloadRow) {
  const p = JSON.parse(row.payload);
  const meta = await readMetadata(env, MODEL, row);
  const settings = await tenantSettings(env);
  const authTs = p.loginTs ?? p.iat;
  const idle = Number(settings.idle_session_lifetime ?? 72) * 3600;
  // The engine re-saves a session with a fresh idle expiry on each use, so the
  // last interaction is that expiry minus the idle timeout.
  const lastSeen = p.seen ?? (row.expires_at ? Math.min(Date.now() / 1000, Math.max(p.iat ?? 0, row.expires_at - idle)) : p.iat);
  return {
    id: p.uid,
    user_id: p.accountId ?? row.account_id,
    created_at: iso(p.iat),
    updated_at: iso(Math.floor(lastSeen)),
    authenticated_at: iso(authTs),
    last_interacted_at: iso(Math.floor(lastSeen)),
    expires_at: iso(authTs + Number(settings.session_lifetime ?? 168) * 3600),
    idle_expires_at: iso(row.expires_at),
    device: {},
    clients: Object.keys(p.authorizations ?? {}).map((client_id) => ({ client_id })),
    authentication: { methods: ((p.amr as string[] | undefined) ?? ['pwd']).map((name) => ({ name, timestamp: iso(authTs) })) },
    ...(meta ? { session_metadata: meta } : {}),
  };
}

/** Live by the stored expiry and by the tenant's current session limits. */
const current = (row: OidcPayloadRow, limits: SessionLimits) => live(row) && !sessionExpired(JSON.parse(row.payload), limits);

async function findSession(env: Env, id: string) {
  const row = await env.store.findPayload(MODEL, 'uid', id);
  return row && current(row, await tenantSettings(env)) ? row : undefined;
}

async function loadSession(env: Env, id: string) {
  const row = await findSession(env, id);
  if (!row) throw notFound('The session does not exist', 'inexistent_session');
  return row;
}

/** Ends sessions and, unless kept, the refresh tokens issued in them (Auth0's revoke). */
export async function revokeSessions(env: Env, rows: OidcPayloadRow[], opts: { keepRefreshTokens?: boolean } = {}) {
  const uids = new Set(rows.map((r) => r.uid));
  await destroyWithMetadata(env, MODEL, rows);
  if (opts.keepRefreshTokens) return;
  const users = new Set(rows.map((r) => r.account_id).filter((u): u is string => !!u));
  for (const user of users) {
    const tokens = (await env.store.listPayloads('RefreshToken', { account_id: user })).filter((t) => uids.has(JSON.parse(t.payload).sessionUid));
    await destroyWithMetadata(env, 'RefreshToken', tokens);
  }
}

export const sessionRoutes: Route[] = [
  route('GET', '/sessions/{id}', async ({ env, params }) => sessionJson(env, await loadSession(env, params.id))),
  route('PATCH', '/sessions/{id}', async ({ env, params, body }) => {
    const row = await loadSession(env, params.id);
    await writeMetadata(env, MODEL, row, 'session_metadata', body.session_metadata);
    return sessionJson(env, row);
  }),
  route('DELETE', '/sessions/{id}', async ({ env, params }) => {
    const row = await env.store.findPayload(MODEL, 'uid', params.id);
    if (row) await destroyWithMetadata(env, MODEL, [row]);
    return reply(202);
  }),
  route('POST', '/sessions/{id}/revoke', async ({ env, params }) => {
    await revokeSessions(env, [await loadSession(env, params.id)]);
    return reply(202);
  }),
  route('GET', '/users/{user_id}/sessions', async ({ env, params, query }) => {
    await loadUser(env, params.user_id);
    const limits = await tenantSettings(env);
    const rows = (await env.store.listPayloads(MODEL, { account_id: params.user_id })).filter((r) => current(r, limits));
    return listPayloadsByUid(query, rows, 'sessions', (r) => sessionJson(env, r));
  }),
  route('DELETE', '/users/{user_id}/sessions', async ({ env, params }) => {
    await loadUser(env, params.user_id);
    await destroyWithMetadata(env, MODEL, await env.store.listPayloads(MODEL, { account_id: params.user_id }));
    return reply(202);
  }),
  // One session or all of them, with their refresh tokens unless asked to keep them.
  route('POST', '/users/{id}/revoke-access', async ({ env, params, body }) => {
    await loadUser(env, params.id);
    const rows = (await env.store.listPayloads(MODEL, { account_id: params.id })).filter((r) => !body?.session_id || r.uid === body.session_id);
    await revokeSessions(env, rows, { keepRefreshTokens: !!body?.preserve_refresh_tokens });
    if (!body?.session_id && !body?.preserve_refresh_tokens) await destroyWithMetadata(env, 'RefreshToken', await env.store.listPayloads('RefreshToken', { account_id: params.id }));
    return reply(202);
  }),
];
