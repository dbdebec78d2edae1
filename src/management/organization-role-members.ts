import { groupsByIds, orgLinkedIdsAfter } from '../store/group-store.ts';
import { orgRoleMembersAfter } from '../store/rbac-store.ts';
import { groupJson, tenantName } from './group-json.ts';
import { projector } from './fields.ts';
import { memberJson } from './members.ts';
import { loadOrg } from './organizations.ts';
import { decodeKeyCursor, encodeKeyCursor, listResponse } from './pagination.ts';
import { loadRole } from './roles.ts';
import { route, type Route } from './router.ts';

// Who holds a role within an organization (early access): its members with the
// role assigned directly, and the organization's groups assigned it there
// (organization-groups.ts). Both page by checkpoint only (`from`/`take`, 50 by
// default).

/** Checkpoint paging whatever the query says, as Auth0 does for these lists. */
const checkpoint = (query: Record<string, any>) => ({ from: query.from, take: query.take ?? 50 });

export const organizationRoleMemberRoutes: Route[] = [
  route('GET', '/organizations/{id}/roles/{role_id}/members', async ({ env, params, query }) => {
    const org = await loadOrg(env, params.id);
    const role = await loadRole(env, params.role_id);
    return listResponse(checkpoint(query), {
      page: async () => ({ items: [] }), // not reached: checkpoint paging only
      async after(cursor, limit) {
        const r = await orgRoleMembersAfter(env.store, org.id, role.id, decodeKeyCursor(cursor), limit);
        return { items: r.items.map(memberJson), next: r.more ? encodeKeyCursor(r.items[r.items.length - 1].user_id) : undefined };
      },
    }, { key: 'members', project: projector(query) });
  }),
  route('GET', '/organizations/{organization_id}/roles/{role_id}/groups', async ({ env, params, query }) => {
    const org = await loadOrg(env, params.organization_id);
    const role = await loadRole(env, params.role_id);
    const json = groupJson(await tenantName(env));
    return listResponse(checkpoint(query), {
      page: async () => ({ items: [] }),
      async after(cursor, limit) {
        const r = await orgLinkedIdsAfter(env.store, org.id, 'role_id', role.id, decodeKeyCursor(cursor), limit);
        return { items: (await groupsByIds(env.store, r.ids)).map(json), next: r.more ? encodeKeyCursor(r.ids[r.ids.length - 1]) : undefined };
      },
    }, { key: 'groups' });
  }),
];
