import { notFound } from '../lib/errors.ts';
import { assignOrgGroupRoles, getGroup, getOrgGroup, orgGroupsAfter, orgLinkedIdsAfter, unassignOrgGroupRoles } from '../store/group-store.ts';
import type { Env } from '../tenant/env.ts';
import { bodyList } from './body-list.ts';
import { groupJson, groupNotFound, tenantName } from './group-json.ts';
import { loadOrg } from './organizations.ts';
import { checkpointOnly, decodeKeyCursor, encodeKeyCursor, listResponse } from './pagination.ts';
import { loadRoles, rolesByIds } from './roles.ts';
import { route, type Route } from './router.ts';

// An organization's groups are the groups of the enterprise connections
// enabled for it (as in Auth0's Groups tab of an organization). Roles given to
// one of them here are held, in this organization only, by the group's
// members who are members of the organization: in its effective member roles
// (effective-roles.ts) and in its tokens (tenant/rbac.ts). As with members'
// roles, assigning a held role or removing an absent one changes nothing.

async function loadOrgGroup(env: Env, orgId: string, groupId: string) {
  const org = await loadOrg(env, orgId);
  const group = await getOrgGroup(env.store, org.id, groupId);
  if (group) return { org, group };
  if (await getGroup(env.store, groupId)) throw notFound('The group does not belong to this organization.', 'inexistent_group');
  throw groupNotFound();
}

export const organizationGroupRoutes: Route[] = [
  route('GET', '/organizations/{organization_id}/groups', async ({ env, params, query }) => {
    const org = await loadOrg(env, params.organization_id);
    const json = groupJson(await tenantName(env));
    return listResponse(checkpointOnly(query), {
      page: async () => ({ items: [] }),
      async after(cursor, limit) {
        const r = await orgGroupsAfter(env.store, org.id, decodeKeyCursor(cursor), limit);
        return { items: r.items.map(json), next: r.more ? encodeKeyCursor(r.items[r.items.length - 1].id) : undefined };
      },
    }, { key: 'groups' });
  }),
  route('GET', '/organizations/{organization_id}/groups/{group_id}/roles', async ({ env, params, query }) => {
    const { org, group } = await loadOrgGroup(env, params.organization_id, params.group_id);
    return listResponse(checkpointOnly(query), {
      page: async () => ({ items: [] }),
      async after(cursor, limit) {
        const r = await orgLinkedIdsAfter(env.store, org.id, 'group_id', group.id, decodeKeyCursor(cursor), limit);
        return { items: await rolesByIds(env, r.ids), next: r.more ? encodeKeyCursor(r.ids[r.ids.length - 1]) : undefined };
      },
    }, { key: 'roles' });
  }),
  route('POST', '/organizations/{organization_id}/groups/{group_id}/roles', async ({ env, params, body }) => {
    const { org, group } = await loadOrgGroup(env, params.organization_id, params.group_id);
    const roles = await loadRoles(env, body.roles);
    await assignOrgGroupRoles(env.store, org.id, group.id, [...roles.keys()]);
  }),
  route('DELETE', '/organizations/{organization_id}/groups/{group_id}/roles', async ({ env, params, body }) => {
    const { org, group } = await loadOrgGroup(env, params.organization_id, params.group_id);
    await unassignOrgGroupRoles(env.store, org.id, group.id, bodyList(body, 'roles'));
  }),
];
