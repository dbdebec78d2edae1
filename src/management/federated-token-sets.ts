import { notFound } from '../lib/errors.ts';
import { deleteTokenSet, findTokenSet, tokenSetJson, tokenSetsOf } from '../tenant/federated-token-sets.ts';
import { loadUser } from '../tenant/users.ts';
import { route, type Route } from './router.ts';

// The IdP token sets Token Vault keeps for a user (src/tenant/federated-token-sets.ts):
// listed without their tokens (a bare array, as the spec has it), and deleted one by one.

export const federatedTokenSetRoutes: Route[] = [
  route('GET', '/users/{id}/federated-connections-tokensets', async ({ env, params }) =>
    (await tokenSetsOf(env, await loadUser(env, params.id))).map(tokenSetJson)),
  route('DELETE', '/users/{id}/federated-connections-tokensets/{tokenset_id}', async ({ env, params }) => {
    const row = await findTokenSet(env, await loadUser(env, params.id), params.tokenset_id);
    if (!row) throw notFound('The tokenset does not exist', 'inexistent_tokenset');
    await deleteTokenSet(env, row.id);
  }),
];
