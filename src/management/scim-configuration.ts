import { randomBytes } from 'node:crypto';
import { alnum } from '../lib/ids.ts';
import { badRequest, conflict, notFound, UniqueViolation } from '../lib/errors.ts';
import type { Doc } from '../store/store.ts';
import type { Env } from '../tenant/env.ts';
import { DEFAULT_SCOPES, hashToken, SCIM_SCOPES } from '../scim/auth.ts';
import { checkUserIdAttribute, DEFAULT_MAPPING, defaultUserIdAttribute, resolveMapping } from '../scim/mapping.ts';
import { loadConnection } from './connections.ts';
import { decodeKeyCursor, encodeKeyCursor, listResponse } from './pagination.ts';
import { patchDoc } from './patch-doc.ts';
import { reply, route, type Route } from './router.ts';

// A connection's inbound SCIM configuration (the mapping and the attribute
// that names users) and its bearer tokens, as Auth0's Management API serves
// them. The SCIM endpoint itself is src/scim/. A token's value is in the
// create answer only; the store keeps its SHA-256 hash.

/** Strategies whose users come from an enterprise IdP, and so can be provisioned by it. */
const SCIM_STRATEGIES = new Set(['okta', 'oidc', 'samlp', 'waad', 'adfs', 'pingfederate', 'google-apps']);
const MAX_LIFETIME = 10 * 365 * 86_400; // seconds; keeps valid_until a date

const missing = () => notFound('The SCIM configuration does not exist.', 'inexistent_scim_configuration');

async function enterpriseConnection(env: Env, id: string) {
  const conn = await loadConnection(env, id);
  if (!SCIM_STRATEGIES.has(conn.data.strategy)) {
    throw badRequest(`SCIM is not supported for connections with strategy ${conn.data.strategy}.`, 'operation_not_supported');
  }
  return conn;
}

async function loadConfig(env: Env, id: string) {
  const conn = await loadConnection(env, id);
  const doc = await env.store.scimConfigurations.get(id);
  if (!doc) throw missing();
  return { conn, doc };
}

const tenantName = async (env: Env) => (await env.store.getTenant())?.name ?? '';

function configJson(tenant: string, conn: { id: string; data: any }, doc: Doc<any>) {
  return {
    connection_id: conn.id, connection_name: conn.data.name, strategy: conn.data.strategy, tenant_name: tenant,
    user_id_attribute: doc.data.user_id_attribute, mapping: doc.data.mapping, created_at: doc.created_at, updated_on: doc.updated_at,
  };
}

/** The configuration's fields, checked so that a saved one can always be applied by the SCIM endpoint. */
function configData(strategy: string, body: any) {
  const mapping = body?.mapping ?? DEFAULT_MAPPING;
  resolveMapping(mapping);
  const user_id_attribute = checkUserIdAttribute(body?.user_id_attribute ?? defaultUserIdAttribute(strategy));
  return { user_id_attribute, mapping: mapping.map(({ auth0, scim }: { auth0: string; scim: string }) => ({ auth0, scim })) };
}

const tokenJson = (doc: { id: string; data: any }) => ({
  token_id: doc.id, scopes: doc.data.scopes, created_at: doc.data.created_at,
  ...(doc.data.valid_until ? { valid_until: doc.data.valid_until } : {}),
  ...(doc.data.last_used_at ? { last_used_at: doc.data.last_used_at } : {}),
});

function tokenData(body: any) {
  const scopes: string[] = [...new Set<string>(body?.scopes ?? DEFAULT_SCOPES)];
  const unknown = scopes.filter((s) => !SCIM_SCOPES.includes(s));
  if (unknown.length) throw badRequest(`Payload validation error: 'scopes must be among ${SCIM_SCOPES.join(', ')}; not ${unknown.join(', ')}' on property scopes.`);
  const lifetime = body?.token_lifetime ?? null;
  if (lifetime !== null && (!Number.isInteger(lifetime) || lifetime <= 900 || lifetime > MAX_LIFETIME)) {
    throw badRequest(`Payload validation error: 'token_lifetime must be an integer of seconds above 900 and at most ${MAX_LIFETIME}, or null' on property token_lifetime.`);
  }
  const now = Date.now();
  return {
    scopes, created_at: new Date(now).toISOString(),
    ...(lifetime !== null ? { valid_until: new Date(now + lifetime * 1000).toISOString() } : {}),
  };
}

export const scimConfigurationRoutes: Route[] = [
  route('POST', '/connections/{id}/scim-configuration', async ({ env, params, body }) => {
    const conn = await enterpriseConnection(env, params.id);
    try {
      const doc = await env.store.scimConfigurations.insert(conn.id, configData(conn.data.strategy, body));
      return reply(201, configJson(await tenantName(env), conn, doc));
    } catch (e) {
      if (e instanceof UniqueViolation) throw conflict('A SCIM configuration already exists for this connection.', 'scim_configuration_conflict');
      throw e;
    }
  }),
  route('GET', '/connections/{id}/scim-configuration', async ({ env, params }) => {
    const { conn, doc } = await loadConfig(env, params.id);
    return configJson(await tenantName(env), conn, doc);
  }),
  route('PATCH', '/connections/{id}/scim-configuration', async ({ env, params, body }) => {
    const { conn } = await loadConfig(env, params.id);
    const data = configData(conn.data.strategy, body);
    const saved = await patchDoc(env.store.scimConfigurations, conn.id, () => loadConfig(env, conn.id), () => ({ data }));
    return configJson(await tenantName(env), conn, saved);
  }),
  route('DELETE', '/connections/{id}/scim-configuration', async ({ env, params }) => {
    const { conn } = await loadConfig(env, params.id);
    // The configuration first: the SCIM endpoint refuses every token of a
    // connection without one, so a token left by a racing create serves nothing.
    await env.store.scimConfigurations.delete(conn.id);
    for (const t of (await env.store.scimTokens.list({ name: conn.id })).items) await env.store.scimTokens.delete(t.id);
  }),
  route('GET', '/connections/{id}/scim-configuration/default-mapping', async ({ env, params }) => {
    await enterpriseConnection(env, params.id);
    return { mapping: DEFAULT_MAPPING };
  }),
  route('POST', '/connections/{id}/scim-configuration/tokens', async ({ env, params, body }) => {
    const { conn } = await loadConfig(env, params.id);
    const data = tokenData(body);
    const token = randomBytes(32).toString('base64url');
    const token_id = `tok_${alnum(16)}`;
    await env.store.scimTokens.insert(token_id, data, { name: conn.id, token_hash: hashToken(token) });
    return reply(201, { token_id, token, scopes: data.scopes, created_at: data.created_at, ...(data.valid_until ? { valid_until: data.valid_until } : {}) });
  }),
  route('GET', '/connections/{id}/scim-configuration/tokens', async ({ env, params }) => {
    const { conn } = await loadConfig(env, params.id);
    return (await env.store.scimTokens.list({ name: conn.id })).items.map(tokenJson);
  }),
  route('DELETE', '/connections/{id}/scim-configuration/tokens/{tokenId}', async ({ env, params }) => {
    const { conn } = await loadConfig(env, params.id);
    const doc = await env.store.scimTokens.get(params.tokenId);
    if (!doc || doc.name !== conn.id) throw notFound('The SCIM token does not exist.', 'inexistent_scim_token');
    await env.store.scimTokens.delete(doc.id);
  }),
  route('GET', '/connections-scim-configurations', async ({ env, query }) => {
    const tenant = await tenantName(env);
    // Checkpoint paging only, as Auth0 serves this list (`from`/`take`, then `next`).
    return listResponse({ ...query, take: query.take ?? 50 }, {
      page: async () => ({ items: [] }),
      async after(cursor, limit) {
        const r = await env.store.scimConfigurations.list({}, { offset: 0, limit: limit + 1 }, { afterId: decodeKeyCursor(cursor) ?? '' });
        const page = r.items.slice(0, limit);
        const conns = new Map((await env.store.connections.getMany(page.map((d) => d.id))).map((c) => [c.id, c]));
        const items = page.filter((d) => conns.has(d.id)).map((d) => configJson(tenant, conns.get(d.id)!, d));
        return { items, next: r.items.length > limit ? encodeKeyCursor(page[page.length - 1].id) : undefined };
      },
    }, { key: 'scim_configurations' });
  }),
];
