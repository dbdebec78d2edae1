import { badRequest, requireQuery } from '../lib/errors.ts';
import { unlinkAccount } from '../tenant/account-linking.ts';
import { loadConnection } from './connections.ts';
import { route, type Route } from './router.ts';
import { removeUser } from '../tenant/user-events.ts';

// DELETE /connections/{id}/users?email=: one database-connection user by email.
// A linked identity leaves its primary first; the primary itself stays.

export const connectionUserRoutes: Route[] = [
  route('DELETE', '/connections/{id}/users', async ({ env, params, query }) => {
    requireQuery(query, 'email');
    const conn = await loadConnection(env, params.id);
    if (conn.data.strategy !== 'auth0') throw badRequest('Only database connections support deleting users by email.', 'operation_not_supported');
    const row = await env.store.userByConnectionEmail(conn.data.name, String(query.email));
    if (!row) return;
    if (row.linked_to) await unlinkAccount(env, row.linked_to, row.provider, row.user_id.slice(row.provider.length + 1));
    await removeUser(env, row.user_id);
  }),
];
