import { conflict, notFound, UniqueViolation } from '../lib/errors.ts';
import { ids } from '../lib/ids.ts';
import { deleteRole } from '../store/rbac-store.ts';
import type { Env } from '../tenant/env.ts';
import { listResponse } from './pagination.ts';
import { reply, route, type Route } from './router.ts';
import { patchDoc } from './patch-doc.ts';

export const roleJson = (doc: { id: string; data: any }) => ({ id: doc.id, name: doc.data.name, description: doc.data.description ?? '' });

export async function loadRole(env: Env, id: string) {
  const doc = await env.store.roles.get(id);
  if (!doc) throw notFound('The role does not exist.', 'inexistent_role');
  return doc;
}
/** Roles named in a request body, in the order given; any unknown id fails the whole request. */
export async function loadRoles(env: Env, roleIds: string[]) {
  const docs = await env.store.roles.getMany([...new Set(roleIds)]);
  const byId = new Map(docs.map((d) => [d.id, d]));
  const missing = roleIds.filter((r) => !byId.has(r));
  if (missing.length) throw notFound(`The role does not exist: ${missing.join(', ')}`, 'inexistent_role');
  return byId;
}
/** Role documents for ids read from a link table, as Auth0 shows them. */
export async function rolesByIds(env: Env, roleIds: string[]) {
  const byId = new Map((await env.store.roles.getMany(roleIds)).map((d) => [d.id, d]));
  return roleIds.filter((r) => byId.has(r)).map((r) => roleJson(byId.get(r)!));
}

const nameTaken = () => conflict('A role with this name already exists', 'conflict');

export const roleRoutes: Route[] = [
  route('GET', '/roles', async ({ env, query }) => {
    const filter = query.name_filter ? String(query.name_filter).toLowerCase() : undefined;
    return listResponse(query, {
      async page(page, withTotal) {
        if (!filter) {
          const r = await env.store.roles.list({}, page, { total: withTotal });
          return { items: r.items.map(roleJson), total: r.total };
        }
        const all = (await env.store.roles.list()).items.filter((d) => String(d.data.name).toLowerCase().includes(filter));
        return { items: all.slice(page.offset, page.offset + page.limit).map(roleJson), total: all.length };
      },
    }, { key: 'roles' });
  }),
  route('POST', '/roles', async ({ env, body }) => {
    const id = ids.role();
    const data = { name: body.name, description: body.description ?? '' };
    try { await env.store.roles.insert(id, data, { name: data.name }); } catch (e) { if (e instanceof UniqueViolation) throw nameTaken(); throw e; }
    return reply(200, roleJson({ id, data }));
  }),
  route('GET', '/roles/{id}', async ({ env, params }) => roleJson(await loadRole(env, params.id))),
  route('PATCH', '/roles/{id}', async ({ env, params, body }) => {
    const doc = await loadRole(env, params.id);
    try {
      return roleJson(await patchDoc(env.store.roles, doc.id, () => loadRole(env, doc.id), (cur) => {
        const data = { ...cur.data, ...body };
        return { data, columns: { name: data.name } };
      }));
    } catch (e) { if (e instanceof UniqueViolation) throw nameTaken(); throw e; }
  }),
  route('DELETE', '/roles/{id}', async ({ env, params }) => {
    const doc = await loadRole(env, params.id);
    await deleteRole(env.store, doc.id);
    return reply(200, '');
  }),
];
