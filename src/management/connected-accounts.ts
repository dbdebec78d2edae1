import { loadUser } from '../tenant/users.ts';
import { inMemory } from './doc-helpers.ts';
import { listResponse } from './pagination.ts';
import { route, type Route } from './router.ts';

// Accounts a user connected for token exchange (Auth0's Token Vault). Postern
// has no Token Vault, so every known user has none; the list is always the
// spec's checkpoint-paged object, never a bare array.

export const connectedAccountRoutes: Route[] = [
  route('GET', '/users/{id}/connected-accounts', async ({ env, params, query }) => {
    await loadUser(env, params.id);
    return listResponse({ ...query, take: query.take ?? 50 }, inMemory(async () => []), { key: 'connected_accounts' });
  }),
];
