import { assignGroupRoles, groupsByIds, linkedIdsAfter, unassignGroupRoles } from '../store/group-store.ts';
import type { Env } from '../tenant/env.ts';
import { bodyList } from './body-list.ts';
import { groupJson, groupNotFound, loadGroup, tenantName } from './group-json.ts';
import { checkpointOnly, decodeKeyCursor, encodeKeyCursor, listResponse } from './pagination.ts';
import { loadRole, loadRoles, rolesByIds } from './roles.ts';
import { route, type Route } from './router.ts';

// The roles assigned to groups, from either side; the group's members hold
// them (effective-roles.ts, tenant/rbac.ts). As with users' roles, assigning a
// held role or removing an absent one changes nothing and succeeds. Both lists
// page by checkpoint only.

/** A checkpoint page of ids from the group-role links, rendered by `render`. */
function linkedPage<T>(env: Env, query: Record<string, any>, by: 'group_id' | 'role_id', id: string, key: string, render: (ids: string[]) => Promise<T[]>) {
  return listResponse(checkpointOnly(query), {
    page: async () => ({ items: [] }),
    async after(cursor, limit) {
      const r = await linkedIdsAfter(env.store, by, id, decodeKeyCursor(cursor), limit);
      return { items: await render(r.ids), next: r.more ? encodeKeyCursor(r.ids[r.ids.length - 1]) : undefined };
    },
  }, { key });
}

/** Every group id in a body must exist; unknown ones fail the whole request. */
async function requireGroups(env: Env, groupIds: string[]) {
  const found = new Set((await groupsByIds(env.store, [...new Set(groupIds)])).map((g) => g.id));
  if (groupIds.some((g) => !found.has(g))) throw groupNotFound();
}

export const groupRoleRoutes: Route[] = [
  route('GET', '/groups/{id}/roles', async ({ env, params, query }) => {
    const group = await loadGroup(env, params.id);
    return linkedPage(env, query, 'group_id', group.id, 'roles', (ids) => rolesByIds(env, ids));
  }),
  route('POST', '/groups/{id}/roles', async ({ env, params, body }) => {
    const group = await loadGroup(env, params.id);
    const roles = await loadRoles(env, body.roles);
    await assignGroupRoles(env.store, [...roles.keys()].map((r) => ({ group_id: group.id, role_id: r })));
  }),
  route('DELETE', '/groups/{id}/roles', async ({ env, params, body }) => {
    const group = await loadGroup(env, params.id);
    await unassignGroupRoles(env.store, bodyList<string>(body, 'roles').map((r) => ({ group_id: group.id, role_id: r })));
  }),
  route('GET', '/roles/{id}/groups', async ({ env, params, query }) => {
    const role = await loadRole(env, params.id);
    const tenant = await tenantName(env);
    return linkedPage(env, query, 'role_id', role.id, 'groups', async (ids) => (await groupsByIds(env.store, ids)).map(groupJson(tenant)));
  }),
  route('POST', '/roles/{id}/groups', async ({ env, params, body }) => {
    const role = await loadRole(env, params.id);
    await requireGroups(env, body.groups);
    await assignGroupRoles(env.store, [...new Set<string>(body.groups)].map((g) => ({ group_id: g, role_id: role.id })));
  }),
  route('DELETE', '/roles/{id}/groups', async ({ env, params, body }) => {
    const role = await loadRole(env, params.id);
    await unassignGroupRoles(env.store, bodyList<string>(body, 'groups').map((g) => ({ group_id: g, role_id: role.id })));
  }),
];
