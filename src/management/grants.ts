import { requireQuery } from '../lib/errors.ts';
import type { OidcPayloadRow } from '../store/schema.ts';
import type { Env } from '../tenant/env.ts';
import { live } from './payload-list.ts';
import { listResponse } from './pagination.ts';
import { route, type Route } from './router.ts';

// User grants: what a user consented to give a third-party application, which
// is the engine's Grant for that application. Deleting one makes the consent
// page ask again, and the refresh tokens issued under it stop working.

const MODEL = 'Grant';

function grantJson(env: Env, row: OidcPayloadRow) {
  const p = JSON.parse(row.payload);
  const resources = Object.entries((p.resources ?? {}) as Record<string, string>);
  const scopes = [p.openid?.scope, ...resources.map(([, s]) => s)].filter(Boolean).join(' ').split(' ').filter(Boolean);
  return { id: row.id, clientID: p.clientId, user_id: p.accountId, audience: resources[0]?.[0] ?? `${env.issuer}userinfo`, scope: [...new Set(scopes)] };
}

/** The live grants of third-party applications, oldest first, as Auth0 shows user grants. */
async function userGrants(env: Env, filter: { user_id?: string; client_id?: string; audience?: string }) {
  const rows = (await env.store.listPayloads(MODEL, filter.user_id ? { account_id: filter.user_id } : {})).filter((r) => live(r));
  const thirdParty = new Map<string, boolean>();
  const out: { row: OidcPayloadRow; json: ReturnType<typeof grantJson> }[] = [];
  for (const row of rows) {
    const g = grantJson(env, row);
    if (!thirdParty.has(g.clientID)) thirdParty.set(g.clientID, (await env.store.clients.get(g.clientID))?.data.is_first_party === false);
    if (!thirdParty.get(g.clientID)) continue;
    if ((filter.client_id && g.clientID !== filter.client_id) || (filter.audience && g.audience !== filter.audience)) continue;
    out.push({ row, json: g });
  }
  return out.sort((a, b) => (a.row.id < b.row.id ? -1 : 1));
}

export const grantRoutes: Route[] = [
  route('GET', '/grants', async ({ env, query }) => {
    const all = (await userGrants(env, query)).map((g) => g.json);
    return listResponse(query, { async page(p) { return { items: all.slice(p.offset, p.offset + p.limit), total: all.length }; } }, { key: 'grants' });
  }),
  route('DELETE', '/grants', async ({ env, query }) => {
    requireQuery(query, 'user_id');
    for (const g of await userGrants(env, { user_id: String(query.user_id) })) await env.store.destroyPayload(MODEL, g.row.id);
  }),
  route('DELETE', '/grants/{id}', async ({ env, params }) => {
    const row = await env.store.findPayload(MODEL, 'id', params.id);
    if (row) await env.store.destroyPayload(MODEL, row.id);
  }),
];
