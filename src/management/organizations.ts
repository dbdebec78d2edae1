import { badRequest, conflict, notFound, UniqueViolation } from '../lib/errors.ts';
import { ids } from '../lib/ids.ts';
import { mergeMetadata } from '../lib/merge.ts';
import { deleteOrganization, insertOrgConnection } from '../store/rbac-store.ts';
import type { Env } from '../tenant/env.ts';
import { decodeKeyCursor, encodeKeyCursor, listResponse } from './pagination.ts';
import { connectionForOrg, orgConnectionJson } from './organization-connections.ts';
import { forgetOrganizationClients } from './organization-clients.ts';
import { reply, route, type Route } from './router.ts';
import { patchDoc } from './patch-doc.ts';

export function orgJson(doc: { id: string; data: any }) {
  const { name, display_name, branding, metadata } = doc.data;
  return {
    id: doc.id, name,
    ...(display_name !== undefined ? { display_name } : {}),
    ...(branding !== undefined ? { branding } : {}),
    ...(metadata !== undefined && Object.keys(metadata).length ? { metadata } : {}),
  };
}

export async function loadOrg(env: Env, id: string) {
  const doc = await env.store.organizations.get(id);
  if (!doc) throw notFound('No organization found by that id or name', 'inexistent_organization');
  return doc;
}

// Lowercase letters, digits, '-' and '_', starting and ending with a letter or digit.
const ORG_NAME = /^[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?$/;
function checkName(name: unknown) {
  if (name !== undefined && !ORG_NAME.test(String(name))) {
    throw badRequest(`Payload validation error: 'Object didn't pass validation for format organization-name: ${name}' on property name.`);
  }
}
const nameTaken = () => conflict('An organization with this name already exists.', 'conflict');

export const organizationRoutes: Route[] = [
  route('GET', '/organizations', async ({ env, query }) => listResponse(query, {
    async page(page, withTotal) {
      const r = await env.store.organizations.list({}, page, { total: withTotal });
      return { items: r.items.map(orgJson), total: r.total };
    },
    async after(cursor, limit) {
      const r = await env.store.organizations.list({}, { offset: 0, limit: limit + 1 }, { afterId: decodeKeyCursor(cursor) ?? '' });
      const items = r.items.slice(0, limit);
      return { items: items.map(orgJson), next: r.items.length > limit ? encodeKeyCursor(items[items.length - 1].id) : undefined };
    },
  }, { key: 'organizations' })),
  route('POST', '/organizations', async ({ env, body }) => {
    checkName(body.name);
    const enabled = body.enabled_connections ?? [];
    const conns: Awaited<ReturnType<typeof connectionForOrg>>[] = [];
    for (const c of enabled) conns.push(await connectionForOrg(env, c));
    const id = ids.organization();
    const { enabled_connections: _, ...data } = body;
    try { await env.store.organizations.insert(id, data, { name: data.name }); } catch (e) { if (e instanceof UniqueViolation) throw nameTaken(); throw e; }
    for (const c of conns) await insertOrgConnection(env.store, id, c.link);
    return reply(201, { ...orgJson({ id, data }), ...(enabled.length ? { enabled_connections: conns.map((c) => orgConnectionJson(c.link, c.conn)) } : {}) });
  }),
  route('GET', '/organizations/name/{name}', async ({ env, params }) => {
    const doc = await env.store.organizations.findBy('name', params.name);
    if (!doc) throw notFound('No organization found by that id or name', 'inexistent_organization');
    return orgJson(doc);
  }),
  route('GET', '/organizations/{id}', async ({ env, params }) => orgJson(await loadOrg(env, params.id))),
  route('PATCH', '/organizations/{id}', async ({ env, params, body }) => {
    checkName(body.name);
    const doc = await loadOrg(env, params.id);
    try {
      return orgJson(await patchDoc(env.store.organizations, doc.id, () => loadOrg(env, doc.id), (cur) => {
        const data = { ...cur.data, ...body };
        if ('metadata' in body) data.metadata = mergeMetadata(cur.data.metadata ?? {}, body.metadata);
        return { data, columns: { name: data.name } };
      }));
    } catch (e) { if (e instanceof UniqueViolation) throw nameTaken(); throw e; }
  }),
  route('DELETE', '/organizations/{id}', async ({ env, params }) => {
    const doc = await loadOrg(env, params.id);
    await deleteOrganization(env.store, doc.id);
    await forgetOrganizationClients(env, doc.id);
  }),
];
