import { notFound } from '../lib/errors.ts';
import { assignRoles, existingUserIds, linkedUsersAfter, pageLinkedUsers } from '../store/rbac-store.ts';
import type { Env } from '../tenant/env.ts';
import { memberJson } from './members.ts';
import { decodeKeyCursor, encodeKeyCursor, listResponse } from './pagination.ts';
import { loadRole } from './roles.ts';
import { reply, route, type Route } from './router.ts';

/** Every user id in a body must exist; unknown ones fail the whole request. */
export async function requireUsers(env: Env, userIds: string[]) {
  const found = await existingUserIds(env.store, [...new Set(userIds)]);
  const missing = userIds.filter((u) => !found.has(u));
  if (missing.length) throw notFound(`The user does not exist: ${missing.join(', ')}`, 'inexistent_user');
}

export const roleUserRoutes: Route[] = [
  route('GET', '/roles/{id}/users', async ({ env, params, query }) => {
    const role = await loadRole(env, params.id);
    return listResponse(query, {
      async page(page, withTotal) {
        const r = await pageLinkedUsers(env.store, 'user_roles', 'role_id', role.id, page, withTotal);
        return { items: r.items.map(memberJson), total: r.total };
      },
      async after(cursor, limit) {
        const r = await linkedUsersAfter(env.store, 'user_roles', 'role_id', role.id, decodeKeyCursor(cursor), limit);
        return { items: r.items.map(memberJson), next: r.more ? encodeKeyCursor(r.items[r.items.length - 1].user_id) : undefined };
      },
    }, { key: 'users' });
  }),
  route('POST', '/roles/{id}/users', async ({ env, params, body }) => {
    const role = await loadRole(env, params.id);
    await requireUsers(env, body.users);
    await assignRoles(env.store, [...new Set<string>(body.users)].map((u) => ({ user_id: u, role_id: role.id })));
    return reply(200, '');
  }),
];
