import { notFound } from '../lib/errors.ts';
import { listUserGroupRolePermissions } from '../store/group-store.ts';
import { listUserDirectPermissions, listUserRolePermissions } from '../store/rbac-store.ts';
import type { Env } from '../tenant/env.ts';
import { loadUser } from '../tenant/users.ts';
import { inMemory } from './doc-helpers.ts';
import { requiredQuery, userEffectiveRoles } from './effective-roles.ts';
import { checkpointOnly, listResponse } from './pagination.ts';
import { permissionRenderer } from './permissions.ts';
import { route, type Route } from './router.ts';

// A user's permissions on one API as its tokens carry them (tenant/rbac.ts):
// those assigned to the user and those of the user's roles (assigned, or held
// through groups), each once, with where it comes from (`direct`, `roles`);
// and, for one permission, the roles it comes through, with their sources. Roles held only as an organization member are not counted:
// they apply to tokens for that organization alone.

async function loadApi(env: Env, identifier: string) {
  if (!(await env.store.resourceServers.findBy('identifier', identifier))) {
    throw notFound(`Resource server ${identifier} does not exist`, 'inexistent_resource_server');
  }
}

type Source = 'direct' | 'roles';

/** Permissions for the API through the user's roles, assigned or through groups. */
async function rolePermissions(env: Env, userId: string, audience: string) {
  const [own, viaGroups] = await Promise.all([listUserRolePermissions(env.store, userId, audience), listUserGroupRolePermissions(env.store, userId, audience)]);
  return [...own, ...viaGroups];
}

export const effectivePermissionRoutes: Route[] = [
  route('GET', '/users/{id}/effective-permissions', async ({ env, params, query }) => {
    const audience = requiredQuery(query, 'resource_server_identifier');
    const user = await loadUser(env, params.id);
    await loadApi(env, audience);
    const render = await permissionRenderer(env);
    return listResponse(checkpointOnly(query), inMemory(async () => {
      const [direct, viaRoles] = await Promise.all([listUserDirectPermissions(env.store, user.user_id), rolePermissions(env, user.user_id, audience)]);
      const sources = new Map<string, Set<Source>>();
      const add = (name: string, source: Source) => sources.set(name, (sources.get(name) ?? new Set<Source>()).add(source));
      for (const p of direct) if (p.resource_server_identifier === audience) add(p.permission_name, 'direct');
      for (const p of viaRoles) add(p.permission_name, 'roles');
      return [...sources.keys()].sort().map((name) => ({
        ...render({ resource_server_identifier: audience, permission_name: name }), sources: [...sources.get(name)!].sort(),
      }));
    }), { key: 'permissions' });
  }),
  route('GET', '/users/{id}/effective-permissions/sources/effective-roles', async ({ env, params, query }) => {
    const audience = requiredQuery(query, 'resource_server_identifier');
    const permission = requiredQuery(query, 'permission_name');
    const user = await loadUser(env, params.id);
    await loadApi(env, audience);
    return listResponse(checkpointOnly(query), inMemory(async () => {
      const granting = new Set((await rolePermissions(env, user.user_id, audience)).filter((p) => p.permission_name === permission).map((p) => p.role_id));
      return (await userEffectiveRoles(env, user.user_id)).filter((r) => granting.has(r.id));
    }), { key: 'roles' });
  }),
];
