import { notFound } from '../lib/errors.ts';
import type { OidcPayloadRow } from '../store/schema.ts';
import type { Env } from '../tenant/env.ts';
import { loadUser } from '../tenant/users.ts';
import { listPayloadsByUid, live } from './payload-list.ts';
import { reply, route, type Route } from './router.ts';

// Refresh tokens are the engine's RefreshToken payloads. A token's jti is the
// token itself, so the public id is the hash the adapter keeps in `uid`
// (refreshTokenId). Deleting a token destroys its payload: it stops working.

const MODEL = 'RefreshToken';
const iso = (epoch: unknown) => (typeof epoch === 'number' ? new Date(epoch * 1000).toISOString() : null);

async function refreshTokenJson(env: Env, row: OidcPayloadRow) {
  const p = JSON.parse(row.payload);
  const client = p.clientId ? await env.store.clients.get(p.clientId) : undefined;
  const audiences: string[] = p.resource ? (Array.isArray(p.resource) ? p.resource : [p.resource]) : [];
  return {
    id: row.uid,
    user_id: p.accountId ?? row.account_id,
    created_at: iso(p.iiat ?? p.iat),
    idle_expires_at: iso(row.expires_at),
    expires_at: iso(p.exp ?? row.expires_at),
    device: {},
    client_id: p.clientId,
    session_id: p.sessionUid ?? null,
    rotating: client?.data.refresh_token?.rotation_type === 'rotating',
    resource_servers: audiences.map((audience) => ({ audience, scopes: p.scope ?? '' })),
    last_exchanged_at: p.iiat && p.iat && p.iat !== p.iiat ? iso(p.iat) : null,
  };
}

export const refreshTokenRoutes: Route[] = [
  route('GET', '/refresh-tokens/{id}', async ({ env, params }) => {
    const row = await env.store.findPayload(MODEL, 'uid', params.id);
    if (!row || !live(row)) throw notFound('The refresh token does not exist', 'inexistent_refresh_token');
    return refreshTokenJson(env, row);
  }),
  route('DELETE', '/refresh-tokens/{id}', async ({ env, params }) => {
    const row = await env.store.findPayload(MODEL, 'uid', params.id);
    if (row) await env.store.destroyPayload(MODEL, row.id);
    return reply(202);
  }),
  route('GET', '/users/{user_id}/refresh-tokens', async ({ env, params, query }) => {
    await loadUser(env, params.user_id);
    const rows = await env.store.listPayloads(MODEL, { account_id: params.user_id });
    return listPayloadsByUid(query, rows, 'tokens', (r) => refreshTokenJson(env, r));
  }),
  route('DELETE', '/users/{user_id}/refresh-tokens', async ({ env, params }) => {
    await loadUser(env, params.user_id);
    for (const row of await env.store.listPayloads(MODEL, { account_id: params.user_id })) await env.store.destroyPayload(MODEL, row.id);
    return reply(202);
  }),
];
