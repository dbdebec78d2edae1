import { linkAccount, unlinkAccount } from '../tenant/account-linking.ts';
import { reply, route, type Route } from './router.ts';

// Linking and unlinking a user's accounts (src/tenant/account-linking.ts).
// Both answer the primary user's identities as they are afterwards.

export const userIdentityRoutes: Route[] = [
  route('POST', '/users/{id}/identities', async ({ env, params, body }) => reply(201, await linkAccount(env, params.id, body))),
  route('DELETE', '/users/{id}/identities/{provider}/{user_id}', async ({ env, params }) => unlinkAccount(env, params.id, params.provider, params.user_id)),
];
