import { assignRoles, listUserRoleIds, unassignRoles } from '../store/rbac-store.ts';
import { loadUser } from '../tenant/users.ts';
import { bodyList } from './body-list.ts';
import { listResponse } from './pagination.ts';
import { loadRoles, rolesByIds } from './roles.ts';
import { route, type Route } from './router.ts';

// Provisioning tools replay grants and revokes: assigning a held role or
// removing an absent one is a 204 like any other.
export const userRoleRoutes: Route[] = [
  route('GET', '/users/{id}/roles', async ({ env, params, query }) => {
    const user = await loadUser(env, params.id);
    return listResponse(query, {
      async page(page, withTotal) {
        const r = await listUserRoleIds(env.store, user.user_id, page, withTotal);
        return { items: await rolesByIds(env, r.ids), total: r.total };
      },
    }, { key: 'roles' });
  }),
  route('POST', '/users/{id}/roles', async ({ env, params, body }) => {
    const user = await loadUser(env, params.id);
    const roles = await loadRoles(env, body.roles);
    await assignRoles(env.store, [...roles.keys()].map((r) => ({ user_id: user.user_id, role_id: r })));
  }),
  route('DELETE', '/users/{id}/roles', async ({ env, params, body }) => {
    const user = await loadUser(env, params.id);
    await unassignRoles(env.store, user.user_id, bodyList(body, 'roles'));
  }),
];
