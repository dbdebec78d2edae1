import { invalidQuery } from '../lib/errors.ts';
import { groupsByIds, memberOrgGroupRoles, userGroupRoles } from '../store/group-store.ts';
import { listMemberRoleIds, listUserRoleIds } from '../store/rbac-store.ts';
import type { Env } from '../tenant/env.ts';
import { loadUser } from '../tenant/users.ts';
import { inMemory } from './doc-helpers.ts';
import { groupJson, tenantName } from './group-json.ts';
import { loadMember } from './organization-member-roles.ts';
import { checkpointOnly, listResponse } from './pagination.ts';
import { loadRole, rolesByIds } from './roles.ts';
import { route, type Route } from './router.ts';

// The roles a user holds, in the tenant or as a member of an organization, each
// with where it comes from: `direct` (assigned to the user, or to the member)
// or `groups` (assigned to a group the user is in, or, in an organization, to
// one of its groups: organization-groups.ts), and, for one role, the groups it
// comes through. Auth0 pages these lists by checkpoint only.

/** The router checks the types of query parameters, not their presence. */
export function requiredQuery(query: Record<string, any>, name: string): string {
  if (query[name] === undefined || query[name] === '') throw invalidQuery(`Query validation error: 'Missing required property: ${name}'.`);
  return String(query[name]);
}

// Far more roles than a user can be given; one read.
const EVERY = { offset: 0, limit: 100_000 };

/** Roles by id, each with its sources: assigned ones and those through groups. */
async function withSources(env: Env, direct: string[], viaGroups: { role_id: string }[]) {
  const sources = new Map<string, Set<'direct' | 'groups'>>();
  const add = (id: string, source: 'direct' | 'groups') => sources.set(id, (sources.get(id) ?? new Set()).add(source));
  for (const id of direct) add(id, 'direct');
  for (const r of viaGroups) add(r.role_id, 'groups');
  const ids = [...sources.keys()].sort();
  return (await rolesByIds(env, ids)).map((r) => ({ ...r, sources: [...sources.get(r.id)!].sort() }));
}

/** The user's roles, assigned and through groups, by id, each with its sources. */
export async function userEffectiveRoles(env: Env, userId: string) {
  const [direct, viaGroups] = await Promise.all([listUserRoleIds(env.store, userId, EVERY, false), userGroupRoles(env.store, userId)]);
  return withSources(env, direct.ids, viaGroups);
}

/** The groups, of those `links` name, through which the role comes. */
async function sourceGroups(env: Env, links: { role_id: string; group_id: string }[], roleId: string) {
  const through = links.filter((r) => r.role_id === roleId).map((r) => r.group_id);
  return (await groupsByIds(env.store, through)).map(groupJson(await tenantName(env)));
}

export const effectiveRoleRoutes: Route[] = [
  route('GET', '/users/{id}/effective-roles', async ({ env, params, query }) => {
    const user = await loadUser(env, params.id);
    return listResponse(checkpointOnly(query), inMemory(() => userEffectiveRoles(env, user.user_id)), { key: 'roles' });
  }),
  route('GET', '/users/{id}/effective-roles/sources/groups', async ({ env, params, query }) => {
    const roleId = requiredQuery(query, 'role_id');
    const user = await loadUser(env, params.id);
    const role = await loadRole(env, roleId);
    return listResponse(checkpointOnly(query), inMemory(async () => sourceGroups(env, await userGroupRoles(env.store, user.user_id), role.id)), { key: 'groups' });
  }),
  route('GET', '/organizations/{id}/members/{user_id}/effective-roles', async ({ env, params, query }) => {
    const org = await loadMember(env, params.id, params.user_id);
    return listResponse(checkpointOnly(query), inMemory(async () => {
      const [direct, viaGroups] = await Promise.all([
        listMemberRoleIds(env.store, org.id, params.user_id, EVERY, false), memberOrgGroupRoles(env.store, org.id, params.user_id),
      ]);
      return withSources(env, direct.ids, viaGroups);
    }), { key: 'roles' });
  }),
  route('GET', '/organizations/{id}/members/{user_id}/effective-roles/sources/groups', async ({ env, params, query }) => {
    const roleId = requiredQuery(query, 'role_id');
    const org = await loadMember(env, params.id, params.user_id);
    const role = await loadRole(env, roleId);
    return listResponse(checkpointOnly(query), inMemory(async () => sourceGroups(env, await memberOrgGroupRoles(env.store, org.id, params.user_id), role.id)), { key: 'groups' });
  }),
];
