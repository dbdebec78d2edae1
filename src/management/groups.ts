import { deleteGroup, groupMembers, listGroups } from '../store/group-store.ts';
import { projector } from './fields.ts';
import { groupJson, loadGroup, tenantName } from './group-json.ts';
import { checkpointOnly, checkpointUnlessPaged, decodeKeyCursor, encodeKeyCursor, listResponse } from './pagination.ts';
import { route, type Route } from './router.ts';

// Groups are made, renamed and filled by the connection's IdP over SCIM
// (src/scim/groups.ts); the Management API reads them, deletes them and gives
// them roles (group-roles.ts).

export const groupRoutes: Route[] = [
  route('GET', '/groups', async ({ env, query }) => {
    const tenant = await tenantName(env);
    const filter = { connection: query.connection_id, name: query.name, external_id: query.external_id, search: query.search };
    return listResponse(checkpointUnlessPaged(query), {
      async page(page, withTotal) {
        const r = await listGroups(env.store, filter, page, withTotal);
        return { items: r.items.map(groupJson(tenant)), total: r.total };
      },
    }, { key: 'groups', project: projector(query) });
  }),
  route('GET', '/groups/{id}', async ({ env, params }) => groupJson(await tenantName(env))(await loadGroup(env, params.id))),
  route('DELETE', '/groups/{id}', async ({ env, params }) => {
    await loadGroup(env, params.id);
    await deleteGroup(env.store, params.id);
  }),
  route('GET', '/groups/{id}/members', async ({ env, params, query }) => {
    const group = await loadGroup(env, params.id);
    return listResponse(checkpointOnly(query), {
      page: async () => ({ items: [] }),
      async after(cursor, limit) {
        const rows = await groupMembers(env.store, group.id, decodeKeyCursor(cursor), limit + 1);
        const items = rows.slice(0, limit).map((m) => ({ id: m.user_id, member_type: 'user', created_at: m.created_at }));
        return { items, next: rows.length > limit ? encodeKeyCursor(items[items.length - 1].id) : undefined };
      },
    }, { key: 'members', project: projector(query) });
  }),
];
