import { addRolePermissions, listRolePermissions, removeRolePermissions } from '../store/rbac-store.ts';
import { listResponse } from './pagination.ts';
import { checkPermissions, permissionRenderer } from './permissions.ts';
import { loadRole } from './roles.ts';
import { reply, route, type Route } from './router.ts';
import { bodyList } from './body-list.ts';

export const rolePermissionRoutes: Route[] = [
  route('GET', '/roles/{id}/permissions', async ({ env, params, query }) => {
    const role = await loadRole(env, params.id);
    const render = await permissionRenderer(env);
    return listResponse(query, {
      async page(page, withTotal) {
        const r = await listRolePermissions(env.store, role.id, page, withTotal);
        return { items: r.items.map(render), total: r.total };
      },
    }, { key: 'permissions' });
  }),
  route('POST', '/roles/{id}/permissions', async ({ env, params, body }) => {
    const role = await loadRole(env, params.id);
    await checkPermissions(env, body.permissions);
    await addRolePermissions(env.store, role.id, body.permissions);
    return reply(201, '');
  }),
  route('DELETE', '/roles/{id}/permissions', async ({ env, params, body }) => {
    const role = await loadRole(env, params.id);
    await removeRolePermissions(env.store, role.id, bodyList(body, 'permissions'));
    return reply(200, '');
  }),
];
