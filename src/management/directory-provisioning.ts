import { ApiError, badRequest, conflict, invalidQuery, notFound } from '../lib/errors.ts';
import { connectionDocName } from '../store/store.ts';
import type { Env } from '../tenant/env.ts';
import { loadConnection } from './connections.ts';
import { checkMapping, DEFAULT_DIRECTORY_MAPPING, type MappingItem } from './directory-provisioning-mapping.ts';
import { reply, route, type Route } from './router.ts';
import { componentValidator, validationMessage } from './spec.ts';
import { checkpointList } from './tenant-collection.ts';

// Directory Sync of a Google Workspace connection: its configuration (the
// attribute mapping, automatic synchronization, which groups) and its selected
// groups, kept as one tenant document per connection, which the connection's
// delete removes (Store.deleteConnection). Postern stores the configuration
// but never synchronizes: it cannot reach Google's Directory API (no network
// access to Google, no admin grant), so nothing is ever recorded as synced.

interface Config {
  mapping: MappingItem[];
  synchronize_automatically: boolean;
  synchronize_groups: 'all' | 'off' | 'selected';
  /** Google group ids selected for synchronization, in the order they were added. */
  groups: string[];
  created_at: string;
  updated_at: string;
}
type Conn = { id: string; data: any };

/** The strategies Auth0 offers Directory Sync for. */
const DIRECTORY_STRATEGIES = new Set(['google-apps']);

const docName = (connectionId: string) => connectionDocName('directory-provisioning', connectionId);
const missing = () => notFound('The directory provisioning configuration does not exist.', 'inexistent_directory_provisioning');

async function provisionableConnection(env: Env, id: string) {
  const conn = await loadConnection(env, id);
  if (!DIRECTORY_STRATEGIES.has(conn.data.strategy)) {
    throw badRequest(`Directory provisioning is not supported for connections with strategy ${conn.data.strategy}.`, 'operation_not_supported');
  }
  return conn;
}

async function loadConfig(env: Env, id: string): Promise<{ conn: Conn; config: Config }> {
  const conn = await loadConnection(env, id);
  const config = await env.store.getTenantDoc<Config>(docName(conn.id));
  if (!config) throw missing();
  return { conn, config };
}

/** Read-modify-write of a connection's configuration, a 404 when it is gone. */
async function changeConfig(env: Env, id: string, change: (cur: Config) => Config) {
  return env.store.modifyTenantDoc<Config>(docName(id), (cur) => {
    if (!cur) throw missing();
    return change(cur);
  });
}

// Google sends no group names or emails to Postern, and no synchronization ever ran, so neither appears.
const configJson = (conn: Conn, c: Config) => ({
  connection_id: conn.id, connection_name: conn.data.name, strategy: conn.data.strategy, mapping: c.mapping,
  synchronize_automatically: c.synchronize_automatically, synchronize_groups: c.synchronize_groups,
  created_at: c.created_at, updated_at: c.updated_at,
});

// The add and remove operations have no published body schema; they take the same `{groups: [{id}]}` as the replace.
const groupsBody = componentValidator('ReplaceSynchronizedGroupsRequestContent');
function groupIds(body: unknown): string[] {
  if (!groupsBody(body)) throw badRequest(validationMessage(groupsBody, 'Payload'));
  return [...new Set((body as { groups: { id: string }[] }).groups.map((g) => g.id))];
}

/** `q` is a prefix search on a group's name or email, which Postern never learns from Google. */
function checkGroupQuery(q: unknown) {
  if (q === undefined) return;
  if (typeof q !== 'string' || !/^(name|email):[^\s*:()"]+\*?$/i.test(q)) {
    throw invalidQuery('Query validation error: \'q\' must be a prefix search on name or email, such as name:engineering*.');
  }
}

export const directoryProvisioningRoutes: Route[] = [
  route('POST', '/connections/{id}/directory-provisioning', async ({ env, params, body }) => {
    const conn = await provisionableConnection(env, params.id);
    const now = new Date().toISOString();
    const config: Config = {
      mapping: checkMapping(body?.mapping ?? DEFAULT_DIRECTORY_MAPPING),
      synchronize_automatically: body?.synchronize_automatically ?? false,
      synchronize_groups: body?.synchronize_groups ?? 'off',
      groups: [], created_at: now, updated_at: now,
    };
    // Conditional on there being none, so of two concurrent creates one gets the 409.
    await env.store.modifyTenantDoc<Config>(docName(conn.id), (cur) => {
      if (cur) throw conflict('A directory provisioning configuration already exists for this connection.', 'directory_provisioning_conflict');
      return config;
    });
    // A connection deleted meanwhile took no configuration with it: remove this one too.
    if (!(await env.store.connections.get(conn.id))) {
      await env.store.deleteTenantDoc(docName(conn.id));
      await loadConnection(env, conn.id);
    }
    return reply(201, configJson(conn, config));
  }),
  route('GET', '/connections/{id}/directory-provisioning', async ({ env, params }) => {
    const { conn, config } = await loadConfig(env, params.id);
    return configJson(conn, config);
  }),
  route('PATCH', '/connections/{id}/directory-provisioning', async ({ env, params, body }) => {
    const { conn } = await loadConfig(env, params.id);
    const mapping = body?.mapping === undefined ? undefined : checkMapping(body.mapping);
    const saved = await changeConfig(env, conn.id, (cur) => ({
      ...cur,
      ...(mapping ? { mapping } : {}),
      ...(body?.synchronize_automatically !== undefined ? { synchronize_automatically: body.synchronize_automatically } : {}),
      ...(body?.synchronize_groups !== undefined ? { synchronize_groups: body.synchronize_groups } : {}),
      updated_at: new Date().toISOString(),
    }));
    return configJson(conn, saved);
  }),
  route('DELETE', '/connections/{id}/directory-provisioning', async ({ env, params }) => {
    const { conn } = await loadConfig(env, params.id);
    await env.store.deleteTenantDoc(docName(conn.id));
  }),
  route('GET', '/connections/{id}/directory-provisioning/default-mapping', async ({ env, params }) => {
    await provisionableConnection(env, params.id);
    return { mapping: DEFAULT_DIRECTORY_MAPPING };
  }),
  route('POST', '/connections/{id}/directory-provisioning/synchronizations', async ({ env, params }) => {
    await loadConfig(env, params.id);
    // Not pretending: a synchronization reads Google's Directory API, which
    // Postern cannot reach, so it is refused as Auth0 refuses a connection it
    // cannot synchronize, and no last_synchronization_* field is ever set.
    throw new ApiError(400, 'Postern cannot reach the Google Workspace Directory API, so this connection cannot be synchronized.', 'directory_unreachable');
  }),
  route('GET', '/connections/{id}/directory-provisioning/synchronized-groups', async ({ env, params, query }) => {
    const { conn } = await loadConfig(env, params.id);
    checkGroupQuery(query.q);
    const all = async () => (query.q !== undefined ? [] : ((await env.store.getTenantDoc<Config>(docName(conn.id)))?.groups ?? []).map((id) => ({ id })));
    return checkpointList(query, all, 'groups');
  }),
  route('PUT', '/connections/{id}/directory-provisioning/synchronized-groups', async ({ env, params, body }) => {
    const { conn } = await loadConfig(env, params.id);
    const ids = groupIds(body);
    await changeConfig(env, conn.id, (cur) => ({ ...cur, groups: ids, updated_at: new Date().toISOString() }));
    return reply(204);
  }),
  route('POST', '/connections/{id}/directory-provisioning/synchronized-groups', async ({ env, params, body }) => {
    const { conn } = await loadConfig(env, params.id);
    const ids = groupIds(body);
    await changeConfig(env, conn.id, (cur) => ({ ...cur, groups: [...new Set([...cur.groups, ...ids])], updated_at: new Date().toISOString() }));
    return reply(204);
  }),
  route('DELETE', '/connections/{id}/directory-provisioning/synchronized-groups', async ({ env, params, body }) => {
    const { conn } = await loadConfig(env, params.id);
    const ids = new Set(groupIds(body));
    await changeConfig(env, conn.id, (cur) => ({ ...cur, groups: cur.groups.filter((g) => !ids.has(g)), updated_at: new Date().toISOString() }));
  }),
  route('GET', '/connections-directory-provisionings', async ({ env, query }) => {
    // Checkpoint paging only, by connection id (the documents' names sort by it).
    const all = async () => {
      const docs = await env.store.listTenantDocs<Config>(docName(''));
      const conns = new Map((await env.store.connections.getMany(docs.map((d) => d.name.slice(docName('').length)))).map((c) => [c.id, c]));
      return docs.flatMap((d) => {
        const conn = conns.get(d.name.slice(docName('').length));
        return conn ? [configJson(conn, d.data)] : [];
      });
    };
    return checkpointList(query, all, 'directory_provisionings');
  }),
];
