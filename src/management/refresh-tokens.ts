import { badRequest, notFound, requireQuery } from '../lib/errors.ts';
import type { OidcPayloadRow } from '../store/schema.ts';
import type { Env } from '../tenant/env.ts';
import { loadUser } from '../tenant/users.ts';
import { listPayloadsByUid, live } from './payload-list.ts';
import { reply, route, type Route } from './router.ts';
import { destroyWithMetadata, readMetadata, writeMetadata } from './payload-metadata.ts';

// Refresh tokens are the engine's RefreshToken payloads. A token's jti is the
// token itself, so the public id is the hash the adapter keeps in `uid`
// (refreshTokenId). Deleting a token destroys its payload: it stops working.

const MODEL = 'RefreshToken';
const iso = (epoch: unknown) => (typeof epoch === 'number' ? new Date(epoch * 1000).toISOString() : null);

async function refreshTokenJson(env: Env, row: OidcPayloadRow) {
  const p = JSON.parse(row.payload);
  const meta = await readMetadata(env, MODEL, row);
  const client = p.clientId ? await env.store.clients.get(p.clientId) : undefined;
  const audiences = audiencesOf(row);
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
    ...(meta ? { refresh_token_metadata: meta } : {}),
  };
}

async function loadToken(env: Env, id: string) {
  const row = await env.store.findPayload(MODEL, 'uid', id);
  if (!row || !live(row)) throw notFound('The refresh token does not exist', 'inexistent_refresh_token');
  return row;
}

const audiencesOf = (row: OidcPayloadRow) => {
  const r = JSON.parse(row.payload).resource;
  return r ? (Array.isArray(r) ? r : [r]) as string[] : [];
};

export const refreshTokenRoutes: Route[] = [
  route('GET', '/refresh-tokens', async ({ env, query }) => {
    requireQuery(query, 'user_id');
    await loadUser(env, String(query.user_id));
    const rows = (await env.store.listPayloads(MODEL, { account_id: String(query.user_id) }))
      .filter((r) => !query.client_id || JSON.parse(r.payload).clientId === query.client_id);
    return listPayloadsByUid(query, rows, 'refresh_tokens', (r) => refreshTokenJson(env, r));
  }),
  route('POST', '/refresh-tokens/revoke', async ({ env, body }) => {
    const { ids, user_id, client_id, audience } = body ?? {};
    if (!ids && !user_id) throw badRequest('Payload validation error: give ids or user_id.', 'invalid_body');
    const rows = ids
      ? (await Promise.all((ids as string[]).map((id) => env.store.findPayload(MODEL, 'uid', id)))).filter((r): r is OidcPayloadRow => !!r)
      : await env.store.listPayloads(MODEL, { account_id: user_id });
    await destroyWithMetadata(env, MODEL, rows.filter((r) => (!user_id || r.account_id === user_id)
      && (!client_id || JSON.parse(r.payload).clientId === client_id) && (!audience || audiencesOf(r).includes(audience))));
    return reply(202);
  }),
  route('GET', '/refresh-tokens/{id}', async ({ env, params }) => refreshTokenJson(env, await loadToken(env, params.id))),
  route('PATCH', '/refresh-tokens/{id}', async ({ env, params, body }) => {
    const row = await loadToken(env, params.id);
    await writeMetadata(env, MODEL, row, 'refresh_token_metadata', body.refresh_token_metadata);
    return refreshTokenJson(env, row);
  }),
  route('DELETE', '/refresh-tokens/{id}', async ({ env, params }) => {
    const row = await env.store.findPayload(MODEL, 'uid', params.id);
    if (row) await destroyWithMetadata(env, MODEL, [row]);
    return reply(202);
  }),
  route('GET', '/users/{user_id}/refresh-tokens', async ({ env, params, query }) => {
    await loadUser(env, params.user_id);
    const rows = await env.store.listPayloads(MODEL, { account_id: params.user_id });
    return listPayloadsByUid(query, rows, 'tokens', (r) => refreshTokenJson(env, r));
  }),
  route('DELETE', '/users/{user_id}/refresh-tokens', async ({ env, params }) => {
    await loadUser(env, params.user_id);
    await destroyWithMetadata(env, MODEL, await env.store.listPayloads(MODEL, { account_id: params.user_id }));
    return reply(202);
  }),
];
