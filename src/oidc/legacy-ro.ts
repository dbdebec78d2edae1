import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';
import { Auth0GrantError, OAuthError } from './errors.ts';
import { endUserIp, passwordAccount } from './grants-password.ts';
import { issueUserTokens, type UserTokenDeps } from './user-tokens.ts';
import { demandSecondFactor } from './grants-mfa.ts';
import { addressFor, codeLogin, passwordlessConnection, PasswordlessRefusal } from './passwordless.ts';
import { PASSWORDLESS_STRATEGIES } from '../connections/passwordless.ts';
import { activeUser, idTokenSubject } from './legacy-id-token.ts';
import { legacyFront, missing } from './legacy-front.ts';

// Auth0's legacy Resource Owner endpoint, POST /oauth/ro (auth0.js's
// loginWithResourceOwner): a username and password in a named connection (a
// database, or a passwordless connection with its one-time code as the
// password), or an ID token of the same application (jwt-bearer), for an ID
// token and an access token to /userinfo. Each is a grant type an application
// must list, as at Auth0.

export const LEGACY_RO = 'http://auth0.com/oauth/legacy/grant-type/ro';
export const LEGACY_RO_JWT = 'http://auth0.com/oauth/legacy/grant-type/ro/jwt-bearer';
export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** Legacy scopes: `openid` when none is asked for. */
export function legacyScope(raw: unknown): Set<string> {
  const scopes = String(raw ?? '').split(' ').filter(Boolean);
  return new Set(scopes.length ? scopes : ['openid']);
}

/** The legacy pipeline's words for a wrong login: 401 invalid_user_password. */
function roRefusal(e: unknown): unknown {
  if (e instanceof PasswordlessRefusal) {
    if (e.error === 'invalid_grant') return new Auth0GrantError(401, 'invalid_user_password', e.description);
    return new Auth0GrantError(e.status, e.status === 400 ? 'invalid_request' : e.error, e.description);
  }
  const g = e as { error?: string; error_description?: string };
  if (e instanceof Auth0GrantError && g.error === 'invalid_grant') return new Auth0GrantError(401, 'invalid_user_password', g.error_description ?? 'Wrong email or password.');
  return e;
}

async function connectionLogin(deps: UserTokenDeps, ctx: any) {
  const { env, settings } = deps;
  const { params, client } = ctx.oidc;
  const ip = endUserIp(ctx, client);
  const userAgent = ctx.get('user-agent') || undefined;
  const conn = await env.store.connections.findBy('name', String(params.connection));
  if (conn && PASSWORDLESS_STRATEGIES.has(conn.data.strategy)) {
    const enabled = await passwordlessConnection(env, client.clientId, conn.data.name);
    const address = addressFor(enabled, params.username);
    const attempt = { ip, userAgent, identifier: address, client: { id: client.clientId, name: client.clientName }, connection: enabled };
    return (await codeLogin(env, attempt, enabled, address, String(params.password))).account;
  }
  return passwordAccount(env, settings, {
    realm: String(params.connection), username: String(params.username), password: String(params.password),
    client: { id: client.clientId, name: client.clientName }, ip, userAgent,
  });
}

export function registerLegacyRoGrants(provider: Provider, deps: UserTokenDeps) {
  const { env, clients } = deps;
  // A refresh token only for a named device, as the legacy pipeline issued them.
  const refreshFor = (params: any, requested: Set<string>) => requested.has('offline_access') && typeof params.device === 'string' && params.device !== '';

  provider.registerGrantType(LEGACY_RO, async (ctx: any) => {
    const { params, client } = ctx.oidc;
    if (!params.username || !params.password || !params.connection) throw new errors.InvalidRequest('missing required parameter(s) (username, password, connection)');
    try {
      const user = await connectionLogin(deps, ctx);
      const requested = legacyScope(params.scope);
      await demandSecondFactor(deps, ctx, user, { client_id: client.clientId, scope: [...requested], gty: 'password' });
      await issueUserTokens(provider, deps, ctx, user.user_id, { requested, gty: 'password', refreshToken: refreshFor(params, requested) });
    } catch (e) {
      throw roRefusal(e);
    }
  }, ['username', 'password', 'connection', 'scope', 'device']);

  provider.registerGrantType(LEGACY_RO_JWT, async (ctx: any) => {
    const { params, client } = ctx.oidc;
    const user = await activeUser(env, await idTokenSubject(env, clients, params.id_token, client.clientId));
    const requested = legacyScope(params.scope);
    await issueUserTokens(provider, deps, ctx, user.user_id, { requested, gty: 'jwt-bearer', refreshToken: refreshFor(params, requested) });
  }, ['id_token', 'scope', 'device']);
}

/** POST /oauth/ro in front of the engine's token endpoint. */
export function resourceOwnerEndpoint() {
  return legacyFront('/oauth/ro', {
    prepare(params) {
      if (!params.client_id) throw missing('client_id');
      if (!params.grant_type) throw missing('grant_type');
      if (params.grant_type === 'password') {
        for (const name of ['username', 'password', 'connection']) if (!params[name]) throw missing(name);
        params.grant_type = LEGACY_RO;
      } else if (params.grant_type === JWT_BEARER) {
        if (!params.id_token) throw missing('id_token');
        params.grant_type = LEGACY_RO_JWT;
      } else {
        throw new OAuthError(400, 'unsupported_grant_type', `Unsupported grant type: ${params.grant_type}`);
      }
      return params;
    },
    reshape(body) {
      return {
        ...(body.id_token ? { id_token: body.id_token } : {}),
        access_token: body.access_token,
        token_type: 'bearer',
        ...(body.refresh_token ? { refresh_token: body.refresh_token } : {}),
      };
    },
  });
}
