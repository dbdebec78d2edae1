import { orgRoleMembersAfter } from '../store/rbac-store.ts';
import { projector } from './fields.ts';
import { memberJson } from './members.ts';
import { loadOrg } from './organizations.ts';
import { decodeKeyCursor, encodeKeyCursor, listResponse } from './pagination.ts';
import { loadRole } from './roles.ts';
import { route, type Route } from './router.ts';

// Who holds a role within an organization (early access): its members with the
// role assigned directly, and the groups assigned it. Both page by checkpoint
// only (`from`/`take`, 50 by default). Postern has no groups, so that list is
// always empty, for an organization and a role that exist.

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
    await loadOrg(env, params.organization_id);
    await loadRole(env, params.role_id);
    return listResponse(checkpoint(query), {
      page: async () => ({ items: [] }),
      async after(cursor) { decodeKeyCursor(cursor); return { items: [] }; },
    }, { key: 'groups' });
  }),
];
