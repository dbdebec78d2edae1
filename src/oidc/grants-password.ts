import Provider, { errors } from 'oidc-provider';
import type { Env } from '../tenant/env.ts';
import { userByLogin, verifyPassword } from '../tenant/users.ts';
import { accountFor } from '../tenant/account-linking.ts';
import { attackRefusal, OIDC_SCOPES, recordFailedLogin, recordLogin, type LoginAttempt } from './account.ts';
import { grantableApiScopes } from '../tenant/rbac.ts';
import type { ResourceServerCache } from './resource-servers.ts';
import type { TenantSettingsCache } from './settings.ts';

// Auth0's Resource Owner Password grants: `password` (the tenant's default
// directory) and `password-realm` (a named database connection). Tokens are
// minted with the engine's own models, so they look and revoke like any other.

export const PASSWORD_REALM = 'http://auth0.com/oauth/grant-type/password-realm';

class Auth0GrantError extends errors.CustomOIDCProviderError {
  constructor(status: number, error: string, description: string) {
    super(error, description);
    (this as any).status = status;
    (this as any).statusCode = status;
    (this as any).expose = true;
  }
}
/**
 * The end user's address, which brute-force protection counts by. A backend
 * logging users in sends it in `auth0-forwarded-for`, which Auth0 believes only
 * from a confidential application marked as trusted to send it.
 */
function endUserIp(ctx: any, client: any): string {
  const forwarded = ctx.get('auth0-forwarded-for');
  const trusted = client.is_token_endpoint_ip_header_trusted === true && client.clientAuthMethod !== 'none';
  return trusted && forwarded ? String(forwarded).split(',')[0].trim() : ctx.ip;
}
const wrongCredentials = () => new Auth0GrantError(403, 'invalid_grant', 'Wrong email or password.');


export interface PasswordGrantDeps {
  env: Env; apis: ResourceServerCache; settings: TenantSettingsCache;
  resourceInfo: (ctx: any, indicator: string, client: any) => Promise<any>;
  findAccount: (ctx: any, sub: string) => Promise<any>;
}

export function registerPasswordGrants(provider: Provider, { env, apis, settings, resourceInfo, findAccount }: PasswordGrantDeps) {
  const handler = async (ctx: any) => {
    const { params, client } = ctx.oidc;
    if (!params.username || !params.password) throw new errors.InvalidRequest('missing required parameter(s) (username, password)');
    // auth0-auth-js sends `realm` with the plain password grant too; Auth0 honours it there.
    const realm: string | undefined = params.realm || (params.grant_type === PASSWORD_REALM ? undefined : (await settings.load()).default_directory || undefined);
    if (params.grant_type === PASSWORD_REALM && !realm) throw new errors.InvalidRequest('missing required parameter(s) (realm)');
    if (!realm) throw new Auth0GrantError(400, 'invalid_request', 'Authorization server not configured with default connection.');
    const conn = await env.store.connections.findBy('name', realm);
    if (!conn || conn.data.strategy !== 'auth0') throw new Auth0GrantError(400, 'invalid_request', 'Unknown realm');
    if (!(conn.data.enabled_clients ?? []).includes(client.clientId)) {
      throw new Auth0GrantError(403, 'unauthorized_client', 'The connection is not enabled for this client.');
    }
    let user = await userByLogin(env, conn, String(params.username));
    const attempt: LoginAttempt = {
      ip: endUserIp(ctx, client), userAgent: ctx.get('user-agent') || undefined, identifier: String(params.username),
      client: { id: client.clientId, name: client.clientName }, connection: conn,
    };
    const refusal = await attackRefusal(env, attempt, user);
    if (refusal) throw new Auth0GrantError(429, 'too_many_attempts', refusal);
    if (!(await verifyPassword(user, String(params.password), env)) || !user) {
      await recordFailedLogin(env, attempt, user);
      throw wrongCredentials();
    }
    const identity = user;
    user = await accountFor(env, identity);
    if (!user || identity.blocked || user.blocked) {
      await recordFailedLogin(env, attempt, identity, true);
      throw new Auth0GrantError(401, 'unauthorized', 'user is blocked');
    }
    await recordLogin(env, user, attempt, identity);

    const requested = new Set<string>(String(params.scope ?? '').split(' ').filter(Boolean));
    const audience: string | undefined = params.audience || params.resource || (await settings.load()).default_audience || undefined;
    const { Grant, AccessToken, RefreshToken, IdToken, ResourceServer } = provider as any;
    const grant = new Grant({ accountId: user.user_id, clientId: client.clientId });
    grant.addOIDCScope([...requested].filter((s) => OIDC_SCOPES.includes(s)).join(' ') || 'openid');
    let resourceServer: any;
    let api: any;
    if (audience) {
      api = await apis.get(String(audience));
      if (!api) throw new Auth0GrantError(403, 'access_denied', `Service not enabled within domain: ${audience}`);
      resourceServer = new ResourceServer(String(audience), await resourceInfo(ctx, String(audience), client));
      // enforce_policies: only held permissions, so the response's scope matches the JWT's.
      const apiScopes = [...requested].filter((s) => resourceServer.scopes.has(s));
      grant.addResourceScope(String(audience), (await grantableApiScopes(env, api, user.user_id, apiScopes)).join(' '));
    }
    await grant.save();
    ctx.oidc.entity('Grant', grant);
    const account = await findAccount(ctx, user.user_id);
    ctx.oidc.entity('Account', account);

    const gty = params.grant_type === PASSWORD_REALM ? 'password-realm' : 'password';
    const at = new AccessToken({ accountId: user.user_id, client, grantId: grant.jti, gty });
    if (resourceServer) {
      at.resourceServer = resourceServer;
      at.scope = grant.getResourceScopeFiltered(String(audience), [...requested]);
    } else {
      at.scope = grant.getOIDCScopeFiltered(requested.size ? requested : new Set(['openid']));
    }
    ctx.oidc.entity('AccessToken', at);
    const accessToken = await at.save();

    const scope = [...requested].join(' ');
    let refreshToken: string | undefined;
    if (requested.has('offline_access') && client.grantTypeAllowed('refresh_token') && (!api || api.data.allow_offline_access)) {
      const rt = new RefreshToken({
        accountId: user.user_id, client, grantId: grant.jti, gty, scope,
        resource: audience ? String(audience) : undefined, rotations: 0, authTime: Math.floor(Date.now() / 1000),
      });
      ctx.oidc.entity('RefreshToken', rt);
      refreshToken = await rt.save();
    }

    let idToken: string | undefined;
    if (requested.has('openid')) {
      const token = new IdToken({ ...await account.claims('id_token', scope, {}, []), sub: user.user_id }, { ctx });
      token.scope = grant.getOIDCScopeFiltered(requested);
      idToken = await token.issue({ use: 'idtoken' });
    }
    const resourceScope = resourceServer ? at.scope : '';
    const oidcScope = [...requested].filter((s) => OIDC_SCOPES.includes(s)).join(' ');
    ctx.body = {
      access_token: accessToken,
      ...(idToken ? { id_token: idToken } : {}),
      ...(refreshToken ? { refresh_token: refreshToken } : {}),
      scope: [oidcScope, resourceScope].filter(Boolean).join(' ') || undefined,
      expires_in: at.expiration,
      token_type: 'Bearer',
    };
  };
  const params = ['username', 'password', 'realm', 'scope', 'audience', 'resource'];
  provider.registerGrantType('password', handler, params);
  provider.registerGrantType(PASSWORD_REALM, handler, params);
}
