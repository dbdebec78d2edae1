import { errors } from 'oidc-provider';
import type { Env } from '../tenant/env.ts';
import { updateUser, userJson } from '../tenant/users.ts';
import { listUserRoleIds } from '../store/rbac-store.ts';
import type { ActionEffects } from './sandbox.ts';
import { clientPart, requestPart, tenantPart, words } from './event-parts.ts';
import { failureOf } from './runtime.ts';
import { executionDetails } from './executions.ts';
import { requestFacts } from '../tenant/logs.ts';
import { rememberUserinfoClaims, userinfoClaims } from './userinfo-claims.ts';

// The post-login trigger: the event Auth0 gives its actions, and what their
// outcome does to the login. It runs where the engine issues an authorization
// code or implicit tokens (interactive and silent logins alike), and on refresh
// and password grants, as Auth0 runs it; see oidc/action-claims.ts for where.

/** What the tokens of this login get from its actions. */
export interface LoginClaims { id?: Record<string, unknown>; at?: Record<string, unknown>; add?: string[]; remove?: string[]; executions?: string[] }

const PROTOCOLS: Record<string, string> = {
  refresh_token: 'oauth2-refresh-token', password: 'oauth2-password',
  'http://auth0.com/oauth/grant-type/password-realm': 'oauth2-password',
};
function protocolOf(ctx: any): string {
  const p = ctx.oidc.params ?? {};
  if (ctx.oidc.route === 'token') return PROTOCOLS[p.grant_type] ?? 'oauth2-access-token';
  const types = words(p.response_type);
  if (types.length === 1 && types[0] === 'code') return 'oidc-basic-profile';
  return types.includes('code') ? 'oidc-hybrid-profile' : 'oidc-implicit-profile';
}

async function roleNames(env: Env, userId: string): Promise<string[]> {
  const { ids } = await listUserRoleIds(env.store, userId, { offset: 0, limit: 1000 }, false);
  return (await env.store.roles.getMany(ids)).map((r) => r.data.name);
}

async function buildEvent(env: Env, ctx: any, userId: string) {
  const row = (await env.store.getUser(userId))!;
  const user = userJson(row);
  const identity = user.identities?.[0] ?? {};
  const params = ctx.oidc.params ?? {};
  const clientId: string | undefined = ctx.oidc.client?.clientId;
  const [client, roles, connection, org] = await Promise.all([
    clientId ? env.store.clients.get(clientId) : undefined,
    roleNames(env, userId),
    identity.connection ? env.store.connections.findBy('name', identity.connection) : undefined,
    (async () => {
      const id = ctx.oidc.grant?.organization?.org_id ?? ctx.oidc.entities?.RefreshToken?.organization ?? params.organization;
      return typeof id === 'string' ? env.store.organizations.get(id) : undefined;
    })(),
  ]);
  const authTime = ctx.oidc.session?.authTime?.() ?? ctx.oidc.entities?.RefreshToken?.authTime;
  const audience = params.resource ?? params.audience;
  return {
    user: { ...user, app_metadata: user.app_metadata ?? {}, user_metadata: user.user_metadata ?? {} },
    authorization: { roles },
    client: clientPart(clientId, client?.data),
    connection: connection
      ? { id: connection.id, name: connection.data.name, strategy: connection.data.strategy, metadata: connection.data.metadata ?? {} }
      : { id: undefined, name: identity.connection, strategy: identity.provider },
    ...(org ? { organization: { id: org.id, name: org.data.name, display_name: org.data.display_name ?? org.data.name, metadata: org.data.metadata ?? {} } } : {}),
    request: requestPart(ctx, params, ctx.oidc.route === 'token' ? 'body' : 'query'),
    transaction: {
      protocol: protocolOf(ctx), requested_scopes: words(params.scope), redirect_uri: params.redirect_uri,
      response_type: words(params.response_type), response_mode: params.response_mode, state: params.state,
      prompt: words(params.prompt), acr_values: words(params.acr_values), ui_locales: words(params.ui_locales), locale: 'en',
      login_hint: params.login_hint, ...(params.organization ? { organization: { id: org?.id, name: org?.data.name } } : {}),
    },
    ...(audience ? { resource_server: { identifier: String(audience) } } : {}),
    authentication: {
      methods: [{ name: identity.provider === 'auth0' ? 'pwd' : 'federated', timestamp: new Date((authTime ?? Math.floor(Date.now() / 1000)) * 1000).toISOString() }],
    },
    ...(ctx.oidc.session?.uid ? { session: { id: ctx.oidc.session.uid } } : {}),
    stats: { logins_count: row.logins_count ?? 0 },
    tenant: tenantPart(env),
  };
}

/** Saves the metadata the actions set: one PATCH, with Auth0's merge (null removes a key). */
async function saveMetadata(env: Env, userId: string, e: ActionEffects) {
  const body: Record<string, unknown> = {};
  if (Object.keys(e.appMetadata).length) body.app_metadata = e.appMetadata;
  if (Object.keys(e.userMetadata).length) body.user_metadata = e.userMetadata;
  if (Object.keys(body).length) await updateUser(env, userId, body);
}

/**
 * Runs the post-login actions for a user; throws AccessDenied (which the engine
 * turns into `error=access_denied`) when one denies or fails, otherwise answers
 * the claims for the tokens.
 */
export async function runPostLogin(env: Env, ctx: any, userId: string): Promise<LoginClaims> {
  const actions = await env.actions.forTrigger('post-login');
  if (!actions.length) {
    // A login with nothing bound leaves /userinfo without the custom claims of an earlier one.
    const clientId = ctx.oidc.client?.clientId;
    const row = ctx.oidc.account?.row;
    if (ctx.oidc.route !== 'token' && clientId && (!row || Object.keys(userinfoClaims(row, clientId)).length)) {
      await rememberUserinfoClaims(env, userId, clientId, {});
    }
    return {};
  }
  const out = await env.actions.execute('post-login', actions, await buildEvent(env, ctx, userId), ctx);
  // Auth0 ends the login at the application's callback with the reason.
  const reason = failureOf(out) ?? out.effects.deny;
  if (reason !== undefined) {
    // A grant's failure has its own event (token-endpoint.ts); a login's is an `f`, as in Auth0.
    if (ctx.oidc.route !== 'token') {
      env.events.record({
        ...requestFacts(ctx), ...executionDetails(ctx), type: 'f', description: reason, user_id: userId,
        client_id: ctx.oidc.client?.clientId, client_name: ctx.oidc.client?.clientName,
      });
    }
    throw new errors.AccessDenied(reason);
  }
  await saveMetadata(env, userId, out.effects);
  const e = out.effects;
  if (ctx.oidc.client?.clientId) await rememberUserinfoClaims(env, userId, ctx.oidc.client.clientId, e.idToken);
  return {
    ...(Object.keys(e.idToken).length ? { id: e.idToken } : {}),
    ...(Object.keys(e.accessToken).length ? { at: e.accessToken } : {}),
    ...(e.addScopes.length ? { add: e.addScopes } : {}),
    ...(e.removeScopes.length ? { remove: e.removeScopes } : {}),
    // An authorization code carries these to its exchange, whose log event names them.
    executions: [out.executionId],
  };
}
