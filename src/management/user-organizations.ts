import { listUserOrgIds } from '../store/rbac-store.ts';
import { loadUser } from '../tenant/users.ts';
import { orgJson } from './organizations.ts';
import { listResponse } from './pagination.ts';
import { route, type Route } from './router.ts';

export const userOrganizationRoutes: Route[] = [
  route('GET', '/users/{id}/organizations', async ({ env, params, query }) => {
    const user = await loadUser(env, params.id);
    return listResponse(query, {
      async page(page, withTotal) {
        const r = await listUserOrgIds(env.store, user.user_id, page, withTotal);
        const docs = new Map((await env.store.organizations.getMany(r.ids)).map((d) => [d.id, d]));
        return { items: r.ids.filter((id) => docs.has(id)).map((id) => orgJson(docs.get(id)!)), total: r.total };
      },
    }, { key: 'organizations' });
  }),
];
