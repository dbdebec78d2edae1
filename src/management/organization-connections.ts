import { conflict, notFound } from '../lib/errors.ts';
import { deleteOrgConnection, getOrgConnection, insertOrgConnection, listOrgConnections, updateOrgConnection, type OrgConnection } from '../store/rbac-store.ts';
import type { Env } from '../tenant/env.ts';
import { listResponse } from './pagination.ts';
import { loadOrg } from './organizations.ts';
import { reply, route, type Route } from './router.ts';

export function orgConnectionJson(link: OrgConnection, conn?: { data: any }) {
  return { ...link, connection: { name: conn?.data.name, strategy: conn?.data.strategy } };
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
  };
  return { conn, link };
}

async function loadLink(env: Env, orgId: string, connectionId: string) {
  const link = await getOrgConnection(env.store, orgId, connectionId);
  if (!link) throw notFound('The connection is not enabled for this organization', 'inexistent_organization_connection');
  return link;
}

export const organizationConnectionRoutes: Route[] = [
  route('GET', '/organizations/{id}/enabled_connections', async ({ env, params, query }) => {
    const org = await loadOrg(env, params.id);
    return listResponse(query, {
      async page(page, withTotal) {
        const r = await listOrgConnections(env.store, org.id, page, withTotal);
        const conns = new Map((await env.store.connections.getMany(r.items.map((l) => l.connection_id))).map((c) => [c.id, c]));
        return { items: r.items.map((l) => orgConnectionJson(l, conns.get(l.connection_id))), total: r.total };
      },
    }, { key: 'enabled_connections' });
  }),
  route('POST', '/organizations/{id}/enabled_connections', async ({ env, params, body }) => {
    const org = await loadOrg(env, params.id);
    const { conn, link } = await connectionForOrg(env, body);
    if (!(await insertOrgConnection(env.store, org.id, link))) throw conflict('The connection is already enabled for this organization.', 'conflict');
    return reply(201, orgConnectionJson(link, conn));
  }),
  route('GET', '/organizations/{id}/enabled_connections/{connectionId}', async ({ env, params }) => {
    const org = await loadOrg(env, params.id);
    const link = await loadLink(env, org.id, params.connectionId);
    return orgConnectionJson(link, await env.store.connections.get(link.connection_id));
  }),
  route('PATCH', '/organizations/{id}/enabled_connections/{connectionId}', async ({ env, params, body }) => {
    const org = await loadOrg(env, params.id);
    const link = { ...(await loadLink(env, org.id, params.connectionId)), ...body };
    await updateOrgConnection(env.store, org.id, link);
    return orgConnectionJson(link, await env.store.connections.get(link.connection_id));
  }),
  route('DELETE', '/organizations/{id}/enabled_connections/{connectionId}', async ({ env, params }) => {
    const org = await loadOrg(env, params.id);
    if (!(await deleteOrgConnection(env.store, org.id, params.connectionId))) throw notFound('The connection is not enabled for this organization', 'inexistent_organization_connection');
  }),
];
