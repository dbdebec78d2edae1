import { notFound } from '../lib/errors.ts';
import type { OidcPayloadRow } from '../store/schema.ts';
import type { Env } from '../tenant/env.ts';
import { loadUser } from '../tenant/users.ts';
import { tenantSettings } from './tenant-settings.ts';
import { listPayloadsByUid, live } from './payload-list.ts';
import { sessionExpired, type SessionLimits } from '../oidc/session-limits.ts';
import { reply, route, type Route } from './router.ts';

// Login sessions are the engine's Session payloads. Their public id is the
// session's uid, never its jti: the jti is the value of the session cookie.
// Deleting one destroys the payload, which ends it for the engine too.

const MODEL = 'Session';
const iso = (epoch: unknown) => (typeof epoch === 'number' ? new Date(epoch * 1000).toISOString() : null);

export async function sessionJson(env: Env, row: OidcPayloadRow) {
  const p = JSON.parse(row.payload);
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
  };
}

/** Live by the stored expiry and by the tenant's current session limits. */
const current = (row: OidcPayloadRow, limits: SessionLimits) => live(row) && !sessionExpired(JSON.parse(row.payload), limits);

async function findSession(env: Env, id: string) {
  const row = await env.store.findPayload(MODEL, 'uid', id);
  return row && current(row, await tenantSettings(env)) ? row : undefined;
}

export const sessionRoutes: Route[] = [
  route('GET', '/sessions/{id}', async ({ env, params }) => {
    const row = await findSession(env, params.id);
    if (!row) throw notFound('The session does not exist', 'inexistent_session');
    return sessionJson(env, row);
  }),
  route('DELETE', '/sessions/{id}', async ({ env, params }) => {
    const row = await env.store.findPayload(MODEL, 'uid', params.id);
    if (row) await env.store.destroyPayload(MODEL, row.id);
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
    for (const row of await env.store.listPayloads(MODEL, { account_id: params.user_id })) await env.store.destroyPayload(MODEL, row.id);
    return reply(202);
  }),
];
