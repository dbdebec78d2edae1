import { createHash } from 'node:crypto';
import { notFound } from '../lib/errors.ts';
import type { UserRow } from '../store/schema.ts';
import { loadUser } from '../tenant/users.ts';
import { inMemory } from './doc-helpers.ts';
import { listResponse } from './pagination.ts';
import { route, type Route } from './router.ts';

// A user's authentication methods as Auth0 lists them. Postern has no MFA, so
// the only method there can be is the password of a database-connection user,
// which exists since the user was created. Its id is derived from the user id,
// so it is the same on every read and every node. The write operations are
// absent: there is nothing to enroll, and the password is changed through the user.

function methodsOf(row: UserRow) {
  if (row.provider !== 'auth0' || !row.password_hash) return [];
  const id = `password|dev_${createHash('sha256').update(row.user_id).digest('base64url').slice(0, 22)}`;
  return [{ id, type: 'password', created_at: row.created_at }];
}

export const authenticationMethodRoutes: Route[] = [
  route('GET', '/users/{id}/authentication-methods', async ({ env, params, query }) => {
    const methods = methodsOf(await loadUser(env, params.id));
    return listResponse(query, inMemory(async () => methods), { key: 'authenticators' });
  }),
  route('GET', '/users/{id}/authentication-methods/{authentication_method_id}', async ({ env, params }) => {
    const method = methodsOf(await loadUser(env, params.id)).find((m) => m.id === params.authentication_method_id);
    if (!method) throw notFound('The authentication method does not exist.', 'inexistent_authentication_method');
    return method;
  }),
];
