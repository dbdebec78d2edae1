import { addUserPermissions, listUserDirectPermissions, listUserRolePermissions, removeUserPermissions, type Permission } from '../store/rbac-store.ts';
import type { Env } from '../tenant/env.ts';
import { loadUser } from '../tenant/users.ts';
import { bodyList } from './body-list.ts';
import { listResponse } from './pagination.ts';
import { checkPermissions, permissionRenderer } from './permissions.ts';
import { reply, route, type Route } from './router.ts';

type Source = { source_id: string; source_name: string; source_type: 'DIRECT' | 'ROLE' };

/** Direct and role-derived permissions, each once, with where it comes from. */
async function userPermissions(env: Env, userId: string) {
  const [direct, viaRoles] = await Promise.all([listUserDirectPermissions(env.store, userId), listUserRolePermissions(env.store, userId)]);
  const roleNames = new Map((await env.store.roles.getMany([...new Set(viaRoles.map((r) => r.role_id))])).map((d) => [d.id, d.data.name]));
  const all = new Map<string, Permission & { sources: Source[] }>();
  const add = (p: Permission, source: Source) => {
    const key = `${p.resource_server_identifier}\n${p.permission_name}`;
    const entry = all.get(key) ?? { resource_server_identifier: p.resource_server_identifier, permission_name: p.permission_name, sources: [] };
    entry.sources.push(source);
    all.set(key, entry);
  };
  for (const p of direct) add(p, { source_id: '', source_name: '', source_type: 'DIRECT' });
  for (const p of viaRoles) add(p, { source_id: p.role_id, source_name: roleNames.get(p.role_id) ?? '', source_type: 'ROLE' });
  return [...all.values()].sort((a, b) => a.resource_server_identifier.localeCompare(b.resource_server_identifier) || a.permission_name.localeCompare(b.permission_name));
}

export const userPermissionRoutes: Route[] = [
  route('GET', '/users/{id}/permissions', async ({ env, params, query }) => {
    const user = await loadUser(env, params.id);
    const render = await permissionRenderer(env);
    return listResponse(query, {
      async page(page, withTotal) {
        const all = await userPermissions(env, user.user_id);
        return { items: all.slice(page.offset, page.offset + page.limit).map((p) => ({ ...render(p), sources: p.sources })), total: withTotal ? all.length : undefined };
      },
    }, { key: 'permissions' });
  }),
  route('POST', '/users/{id}/permissions', async ({ env, params, body }) => {
    const user = await loadUser(env, params.id);
    await checkPermissions(env, body.permissions);
    await addUserPermissions(env.store, user.user_id, body.permissions);
    return reply(201, '');
  }),
  route('DELETE', '/users/{id}/permissions', async ({ env, params, body }) => {
    const user = await loadUser(env, params.id);
    await removeUserPermissions(env.store, user.user_id, bodyList(body, 'permissions'));
  }),
];
