import { conflict } from '../lib/errors.ts';
import { deleteOrgConnection, insertOrgConnection, type OrgConnection } from '../store/rbac-store.ts';
import { boolFilter } from './doc-helpers.ts';
import { connectionForOrg, listLinks, loadLink, orgAllConnectionJson, saveLink } from './organization-connections.ts';
import { loadOrg } from './organizations.ts';
import { reply, route, type Route } from './router.ts';

// The newer (early-access) form of an organization's connections: the same
// links as enabled_connections, every one of them, enabled or not.

/** A PATCH body over a link: `null` clears the name and the access level, and makes the link enabled again. */
function patched(link: OrgConnection, body: Record<string, unknown>): OrgConnection {
  const out: Record<string, unknown> = { ...link };
  for (const [k, v] of Object.entries(body)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  if (out.is_enabled === true) delete out.is_enabled; // absent is enabled, as the older form writes it
  return out as unknown as OrgConnection;
}

export const organizationConnectionEaRoutes: Route[] = [
  route('GET', '/organizations/{id}/connections', async ({ env, params, query }) =>
    listLinks(env, (await loadOrg(env, params.id)).id, query, 'connections', orgAllConnectionJson, boolFilter(query.is_enabled))),
  route('POST', '/organizations/{id}/connections', async ({ env, params, body }) => {
    const org = await loadOrg(env, params.id);
    const { conn, link } = await connectionForOrg(env, body);
    if (!(await insertOrgConnection(env.store, org.id, link))) throw conflict('The connection is already associated with this organization.', 'conflict');
    return reply(201, orgAllConnectionJson(link, conn));
  }),
  route('GET', '/organizations/{id}/connections/{connection_id}', async ({ env, params }) => {
    const link = await loadLink(env, (await loadOrg(env, params.id)).id, params.connection_id, true);
    return orgAllConnectionJson(link, await env.store.connections.get(link.connection_id));
  }),
  route('PATCH', '/organizations/{id}/connections/{connection_id}', async ({ env, params, body }) => {
    const org = await loadOrg(env, params.id);
    return saveLink(env, org.id, patched(await loadLink(env, org.id, params.connection_id, true), body ?? {}), orgAllConnectionJson);
  }),
  route('DELETE', '/organizations/{id}/connections/{connection_id}', async ({ env, params }) => {
    const org = await loadOrg(env, params.id);
    await loadLink(env, org.id, params.connection_id, true);
    await deleteOrgConnection(env.store, org.id, params.connection_id);
  }),
];
