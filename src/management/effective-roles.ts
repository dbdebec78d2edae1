import { invalidQuery } from '../lib/errors.ts';
import { groupsByIds, userGroupRoles } from '../store/group-store.ts';
import { listMemberRoleIds, listUserRoleIds } from '../store/rbac-store.ts';
import type { Page } from '../store/store.ts';
import type { Env } from '../tenant/env.ts';
import { loadUser } from '../tenant/users.ts';
import { inMemory } from './doc-helpers.ts';
import { groupJson, tenantName } from './group-json.ts';
import { loadMember } from './organization-member-roles.ts';
import { checkpointOnly, listResponse } from './pagination.ts';
import { loadRole, roleJson, rolesByIds } from './roles.ts';
import { route, type Route } from './router.ts';

// The roles a user holds, in the tenant or as a member of an organization, each
// with where it comes from: `direct` (assigned to the user) or `groups`
// (assigned to a group the user is in), and, for one role, the groups it comes
// through. Organization groups are not served, so a member's organization roles
// are all direct. Auth0 pages these lists by checkpoint only.

/** The router checks the types of query parameters, not their presence. */
export function requiredQuery(query: Record<string, any>, name: string): string {
  if (query[name] === undefined || query[name] === '') throw invalidQuery(`Query validation error: 'Missing required property: ${name}'.`);
  return String(query[name]);
}

/** A role as the effective-role lists show it: assigned to the user, never through a group. */
export const directRole = (r: ReturnType<typeof roleJson>) => ({ ...r, sources: ['direct'] });

/** A checkpoint page of role ids, read from one of the role link tables, as effective roles. */
function effectiveRoles(env: Env, query: Record<string, any>, ids: (page: Page) => Promise<{ ids: string[] }>) {
  return listResponse(checkpointOnly(query), {
    async page(page) {
      return { items: (await rolesByIds(env, (await ids(page)).ids)).map(directRole) };
    },
  }, { key: 'roles' });
}

const noGroups = (query: Record<string, any>) => listResponse(checkpointOnly(query), inMemory(async () => []), { key: 'groups' });

// Far more roles than a user can be given; one read.
const EVERY = { offset: 0, limit: 100_000 };

/** The user's roles, assigned and through groups, by id, each with its sources. */
export async function userEffectiveRoles(env: Env, userId: string) {
  const [direct, viaGroups] = await Promise.all([listUserRoleIds(env.store, userId, EVERY, false), userGroupRoles(env.store, userId)]);
  const sources = new Map<string, Set<'direct' | 'groups'>>();
  const add = (id: string, source: 'direct' | 'groups') => sources.set(id, (sources.get(id) ?? new Set()).add(source));
  for (const id of direct.ids) add(id, 'direct');
  for (const r of viaGroups) add(r.role_id, 'groups');
  const ids = [...sources.keys()].sort();
  return (await rolesByIds(env, ids)).map((r) => ({ ...r, sources: [...sources.get(r.id)!].sort() }));
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
    return listResponse(checkpointOnly(query), inMemory(async () => {
      const through = (await userGroupRoles(env.store, user.user_id)).filter((r) => r.role_id === role.id).map((r) => r.group_id);
      return (await groupsByIds(env.store, through)).map(groupJson(await tenantName(env)));
    }), { key: 'groups' });
  }),
  route('GET', '/organizations/{id}/members/{user_id}/effective-roles', async ({ env, params, query }) => {
    const org = await loadMember(env, params.id, params.user_id);
    return effectiveRoles(env, query, (page) => listMemberRoleIds(env.store, org.id, params.user_id, page, false));
  }),
  route('GET', '/organizations/{id}/members/{user_id}/effective-roles/sources/groups', async ({ env, params, query }) => {
    const roleId = requiredQuery(query, 'role_id');
    await loadMember(env, params.id, params.user_id);
    await loadRole(env, roleId);
    return noGroups(query);
  }),
];
