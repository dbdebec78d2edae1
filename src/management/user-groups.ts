import { listUserGroups } from '../store/group-store.ts';
import { loadUser } from '../tenant/users.ts';
import { projector } from './fields.ts';
import { groupJson, tenantName } from './group-json.ts';
import { checkpointUnlessPaged, listResponse } from './pagination.ts';
import { route, type Route } from './router.ts';

// The groups a user is in, with when they joined (`membership_created_at`).
export const userGroupRoutes: Route[] = [
  route('GET', '/users/{id}/groups', async ({ env, params, query }) => {
    const user = await loadUser(env, params.id);
    const json = groupJson(await tenantName(env));
    return listResponse(checkpointUnlessPaged(query), {
      async page(page, withTotal) {
        const r = await listUserGroups(env.store, user.user_id, page, withTotal);
        return { items: r.items.map((g) => ({ ...json(g), membership_created_at: g.membership_created_at })), total: r.total };
      },
    }, { key: 'groups', project: projector(query) });
  }),
];
