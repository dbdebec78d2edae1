import { notFound } from '../lib/errors.ts';
import { addMemberRoles, isMember, listMemberRoleIds, removeMemberRoles } from '../store/rbac-store.ts';
import type { Env } from '../tenant/env.ts';
import { bodyList } from './body-list.ts';
import { loadOrg } from './organizations.ts';
import { listResponse } from './pagination.ts';
import { loadRoles, rolesByIds } from './roles.ts';
import { route, type Route } from './router.ts';

export async function loadMember(env: Env, orgId: string, userId: string) {
  const org = await loadOrg(env, orgId);
  if (!(await isMember(env.store, org.id, userId))) throw notFound('The user is not a member of this organization', 'inexistent_organization_member');
  return org;
}

export const organizationMemberRoleRoutes: Route[] = [
  route('GET', '/organizations/{id}/members/{user_id}/roles', async ({ env, params, query }) => {
    const org = await loadMember(env, params.id, params.user_id);
    return listResponse(query, {
      async page(page, withTotal) {
        const r = await listMemberRoleIds(env.store, org.id, params.user_id, page, withTotal);
        return { items: await rolesByIds(env, r.ids), total: r.total };
      },
    }, { key: 'roles' });
  }),
  route('POST', '/organizations/{id}/members/{user_id}/roles', async ({ env, params, body }) => {
    const org = await loadMember(env, params.id, params.user_id);
    const roles = await loadRoles(env, body.roles);
    await addMemberRoles(env.store, org.id, params.user_id, [...roles.keys()]);
  }),
  route('DELETE', '/organizations/{id}/members/{user_id}/roles', async ({ env, params, body }) => {
    const org = await loadMember(env, params.id, params.user_id);
    await removeMemberRoles(env.store, org.id, params.user_id, bodyList(body, 'roles'));
  }),
];
