import { conflict, notFound } from '../lib/errors.ts';
import {
  deleteOrgConnection, getOrgConnection, insertOrgConnection, linkEnabled, listOrgConnections, updateOrgConnection, type OrgConnection,
} from '../store/rbac-store.ts';
import type { Env } from '../tenant/env.ts';
import { listResponse } from './pagination.ts';
import { loadOrg } from './organizations.ts';
import { reply, route, type Route } from './router.ts';

// An organization's connections, in two forms over the same rows
// (organization_connections): `enabled_connections` here, and the newer
// early-access `connections` (organization-connections-ea.ts), whose links may
// also be disabled, named and given an access level. A disabled link is not an
// enabled connection: the routes below neither list nor change it.

type ConnectionDoc = { data: any } | undefined;
const information = (conn: ConnectionDoc) => ({ name: conn?.data.name, strategy: conn?.data.strategy });

/** The enabled_connections shape (Auth0's OrganizationConnection). */
export function orgConnectionJson(link: OrgConnection, conn?: ConnectionDoc) {
  const { connection_id, assign_membership_on_login, show_as_button, is_signup_enabled } = link;
  return { connection_id, assign_membership_on_login, show_as_button, ...(is_signup_enabled !== undefined ? { is_signup_enabled } : {}), connection: information(conn) };
}
/** The newer shape (Auth0's OrganizationAllConnectionPost): every field of the link, `is_enabled` always. */
export function orgAllConnectionJson(link: OrgConnection, conn?: ConnectionDoc) {
  return { ...link, is_enabled: linkEnabled(link), connection: information(conn) };
}

/** Checks a requested connection exists and fills Auth0's defaults. */
export async function connectionForOrg(env: Env, body: any) {
  const conn = await env.store.connections.get(body.connection_id);
  if (!conn) throw notFound('No connection found by that id', 'inexistent_connection');
  const link: OrgConnection = {
    connection_id: conn.id,
    assign_membership_on_login: body.assign_membership_on_login ?? false,
    show_as_button: body.show_as_button ?? true,
    ...(body.is_signup_enabled !== undefined ? { is_signup_enabled: body.is_signup_enabled } : {}),
    // Only the newer form's bodies carry these; the schemas of the others refuse them.
    ...(body.is_enabled === false ? { is_enabled: false } : {}),
    ...(body.organization_connection_name !== undefined ? { organization_connection_name: body.organization_connection_name } : {}),
    ...(body.organization_access_level !== undefined ? { organization_access_level: body.organization_access_level } : {}),
  };
  return { conn, link };
}

const notEnabled = () => notFound('The connection is not enabled for this organization', 'inexistent_organization_connection');
const notLinked = () => notFound('The connection is not associated with this organization', 'inexistent_organization_connection');

/** The link of a connection to an organization; only an enabled one unless `includeDisabled`. */
export async function loadLink(env: Env, orgId: string, connectionId: string, includeDisabled = false) {
  const link = await getOrgConnection(env.store, orgId, connectionId, { includeDisabled });
  if (!link) throw includeDisabled ? notLinked() : notEnabled();
  return link;
}

/** One page of the organization's links, each with its connection, in the shape `json` gives. */
export function listLinks(env: Env, orgId: string, query: Record<string, any>, key: string, json: (l: OrgConnection, c: ConnectionDoc) => object, enabled?: boolean) {
  return listResponse(query, {
    async page(page, withTotal) {
      const r = await listOrgConnections(env.store, orgId, page, withTotal, enabled);
      const conns = new Map((await env.store.connections.getMany(r.items.map((l) => l.connection_id))).map((c) => [c.id, c]));
      return { items: r.items.map((l) => json(l, conns.get(l.connection_id))), total: r.total };
    },
  }, { key });
}

/** Writes the link and answers it in the shape `json` gives, with its connection. */
export async function saveLink(env: Env, orgId: string, link: OrgConnection, json: (l: OrgConnection, c: ConnectionDoc) => object) {
  await updateOrgConnection(env.store, orgId, link);
  return json(link, await env.store.connections.get(link.connection_id));
}

export const organizationConnectionRoutes: Route[] = [
  route('GET', '/organizations/{id}/enabled_connections', async ({ env, params, query }) =>
    listLinks(env, (await loadOrg(env, params.id)).id, query, 'enabled_connections', orgConnectionJson, true)),
  route('POST', '/organizations/{id}/enabled_connections', async ({ env, params, body }) => {
    const org = await loadOrg(env, params.id);
    const { conn, link } = await connectionForOrg(env, body);
    if (!(await insertOrgConnection(env.store, org.id, link))) {
      // A link kept disabled (through the newer form) is enabled again, with this body's settings.
      const kept = await getOrgConnection(env.store, org.id, link.connection_id, { includeDisabled: true });
      if (!kept || linkEnabled(kept)) throw conflict('The connection is already enabled for this organization.', 'conflict');
      const { is_enabled: _, ...rest } = kept;
      return reply(201, await saveLink(env, org.id, { ...rest, ...link }, orgConnectionJson));
    }
    return reply(201, orgConnectionJson(link, conn));
  }),
  route('GET', '/organizations/{id}/enabled_connections/{connectionId}', async ({ env, params }) => {
    const link = await loadLink(env, (await loadOrg(env, params.id)).id, params.connectionId);
    return orgConnectionJson(link, await env.store.connections.get(link.connection_id));
  }),
  route('PATCH', '/organizations/{id}/enabled_connections/{connectionId}', async ({ env, params, body }) => {
    const org = await loadOrg(env, params.id);
    return saveLink(env, org.id, { ...(await loadLink(env, org.id, params.connectionId)), ...body }, orgConnectionJson);
  }),
  route('DELETE', '/organizations/{id}/enabled_connections/{connectionId}', async ({ env, params }) => {
    const org = await loadOrg(env, params.id);
    await loadLink(env, org.id, params.connectionId);
    if (!(await deleteOrgConnection(env.store, org.id, params.connectionId))) throw notEnabled();
  }),
];
