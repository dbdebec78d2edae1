import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';
import type { UserRow } from '../store/schema.ts';
import { insertNewUser, updateUser } from '../tenant/users.ts';
import { accountFor } from '../tenant/account-linking.ts';
import { createFederatedUser, ENTERPRISE_STRATEGIES, findFederatedUser, syncFederatedUser } from '../tenant/federated-users.ts';
import { clientPart, requestPart, tenantPart, words } from './event-parts.ts';
import { deployedVersion, failureOf } from './runtime.ts';
import type { ActionEffects } from './sandbox.ts';

// Custom token exchange: the token exchange profile named by the request's
// subject_token_type runs its action, which checks the subject token and says
// whom the tokens are for (an existing user, or a connection's user, made or
// updated on the way). The grant (oidc/grants-token-exchange.ts) then issues them.

export interface Profile { id: string; name: string; type: string; subject_token_type: string; action_id: string }
/** How the exchange ends: the user, or a refusal in OAuth terms. */
export type Exchange = { user: UserRow } | { status: number; error: string; description: string };

const refuse = (status: number, error: string, description: string): Exchange => ({ status, error, description });
const PROFILE_FIELDS = ['email', 'email_verified', 'username', 'phone_number', 'name', 'nickname', 'given_name', 'family_name', 'picture'] as const;

export async function profileFor(env: Env, subjectTokenType: string): Promise<Profile | undefined> {
  const items = (await env.store.getTenantDoc<{ items: Profile[] }>('token-exchange-profiles'))?.items ?? [];
  return items.find((p) => p.subject_token_type === subjectTokenType);
}

/** The user a connection's user id names, made or updated as the action's options say. */
async function userByConnection(env: Env, clientId: string, choice: Extract<ActionEffects['user'], { connection: string }>): Promise<Exchange> {
  const conn = await env.store.connections.findBy('name', choice.connection);
  if (!conn) return refuse(400, 'invalid_request', `The connection ${choice.connection} does not exist.`);
  if (!(conn.data.enabled_clients ?? []).includes(clientId)) return refuse(403, 'unauthorized_client', 'The connection is not enabled for this client.');
  const a = choice.attributes;
  if (typeof a.user_id !== 'string' || !a.user_id) return refuse(400, 'invalid_request', 'setUserByConnection needs a user_id attribute.');
  const profile = Object.fromEntries(PROFILE_FIELDS.filter((k) => a[k] !== undefined).map((k) => [k, a[k]]));
  const federated = ENTERPRISE_STRATEGIES.has(conn.data.strategy);
  if (!federated && conn.data.strategy !== 'auth0') return refuse(400, 'invalid_request', `Postern cannot make users of ${conn.data.strategy} connections.`);
  let row = federated ? await findFederatedUser(env, conn, a.user_id) : await env.store.getUser(`auth0|${a.user_id}`, { linked: true });
  if (row && row.connection !== conn.data.name) return refuse(400, 'invalid_request', 'The user_id belongs to another connection.');
  if (!row) {
    if (choice.options.creationBehavior !== 'create_if_not_exists') return refuse(400, 'invalid_request', 'The user does not exist.');
    // A database user made here has no password: it logs in only through exchanges like this one.
    row = federated ? await createFederatedUser(env, conn, a.user_id, profile)
      : await insertNewUser(env, { connection: conn.data.name, provider: 'auth0', identityId: a.user_id, handle: profile.username as string | undefined }, profile, { data: { password_history: [] }, password_hash: null });
  } else if (choice.options.updateBehavior === 'replace') {
    row = federated ? await syncFederatedUser(env, row, profile) : await updateUser(env, row.user_id, profile, { linked: true });
  }
  return { user: row };
}

/** Runs the profile's action for this request and resolves the user it sets. */
export async function runCustomTokenExchange(
  env: Env, ctx: Koa.Context, client: { id: string; data: any }, profile: Profile, params: Record<string, any>,
): Promise<Exchange> {
  if (!env.actions.enabled) return refuse(400, 'invalid_request', 'Custom token exchange needs actions, which are turned off on this server.');
  const doc = await env.store.actions.get(profile.action_id);
  const version = doc && deployedVersion(doc.data);
  if (!version) return refuse(400, 'invalid_request', `The action of the token exchange profile ${profile.name} is not deployed.`);
  const event = {
    client: clientPart(client.id, client.data),
    request: requestPart(ctx, params, 'body'),
    ...(params.audience || params.resource ? { resource_server: { identifier: String(params.audience ?? params.resource) } } : {}),
    transaction: {
      subject_token: params.subject_token, subject_token_type: params.subject_token_type, requested_scopes: words(params.scope),
      protocol: 'oauth2-token-exchange',
    },
    tenant: tenantPart(env),
  };
  const out = await env.actions.execute('custom-token-exchange', [env.actions.sandboxAction(doc!.id, doc!.data.name, version)], event, ctx);
  const failed = failureOf(out);
  if (failed !== undefined) return refuse(400, 'invalid_request', failed);
  const e = out.effects;
  if (e.deny !== undefined) return refuse(400, e.denyCode || 'invalid_request', e.deny);
  if (!e.user) return refuse(400, 'invalid_request', 'The action did not set the user.');
  const found: Exchange = 'id' in e.user
    ? await env.store.getUser(e.user.id, { linked: true }).then((u) => (u ? { user: u } : refuse(400, 'invalid_request', 'The user the action set does not exist.')))
    : await userByConnection(env, client.id, e.user);
  if (!('user' in found)) return found;
  // A linked identity gets its primary's tokens, as at a login.
  const user = await accountFor(env, found.user);
  if (!user || user.blocked || found.user.blocked) return refuse(401, 'unauthorized', 'user is blocked');
  return { user };
}
