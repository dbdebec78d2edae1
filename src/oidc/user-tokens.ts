import type Provider from 'oidc-provider';
import type { Env } from '../tenant/env.ts';
import { OIDC_SCOPES } from './account.ts';
import { grantableApiScopes } from '../tenant/rbac.ts';
import type { ResourceServerCache } from './resource-servers.ts';
import type { TenantSettingsCache } from './settings.ts';
import { Auth0GrantError } from './errors.ts';
import type { PostLoginActions } from './action-claims.ts';
import type { ClientCache } from './clients.ts';
import { bindUserTokens } from './sender-constraint.ts';

// The tokens a grant that names its user itself answers with (Auth0's password
// grants and the MFA grants that finish them, custom token exchange): minted
// with the engine's own models, so they look, refresh and revoke like any other.

export interface UserTokenDeps {
  env: Env; apis: ResourceServerCache; clients: ClientCache; settings: TenantSettingsCache;
  resourceInfo: (ctx: any, indicator: string, client: any) => Promise<any>;
  findAccount: (ctx: any, sub: string) => Promise<any>;
  postLogin: PostLoginActions;
}

export interface UserTokenRequest {
  requested: Set<string>; audience?: string; gty: string;
  /** How the user authenticated, for the ID token (`["mfa"]` once a second factor was proven). */
  amr?: string[];
  /** Overrides whether a refresh token is issued (Auth0's legacy /oauth/ro decides by `device`, not by the refresh_token grant). */
  refreshToken?: boolean;
}

/** Answers the token response for `userId`: an access token for `audience` (or /userinfo), and ID and refresh tokens when asked. */
export async function issueUserTokens(
  provider: Provider, { env, apis, clients, resourceInfo, findAccount }: UserTokenDeps, ctx: any, userId: string,
  { requested, audience, gty, amr, refreshToken: wantsRefresh }: UserTokenRequest,
) {
  const { client } = ctx.oidc;
  const { Grant, AccessToken, RefreshToken, IdToken, ResourceServer } = provider as any;
  const grant = new Grant({ accountId: userId, clientId: client.clientId });
  grant.addOIDCScope([...requested].filter((s) => OIDC_SCOPES.includes(s)).join(' ') || 'openid');
  let resourceServer: any;
  let api: any;
  if (audience) {
    api = await apis.get(String(audience));
    if (!api) throw new Auth0GrantError(403, 'access_denied', `Service not enabled within domain: ${audience}`);
    resourceServer = new ResourceServer(String(audience), await resourceInfo(ctx, String(audience), client));
    // enforce_policies: only held permissions, so the response's scope matches the JWT's.
    const apiScopes = [...requested].filter((s) => resourceServer.scopes.has(s));
    grant.addResourceScope(String(audience), (await grantableApiScopes(env, api, userId, apiScopes)).join(' '));
  }
  const jkt = await bindUserTokens(provider, ctx, (await clients.get(client.clientId))?.data, api?.data);
  await grant.save();
  ctx.oidc.entity('Grant', grant);
  const account = await findAccount(ctx, userId);
  ctx.oidc.entity('Account', account);

  const at = new AccessToken({ accountId: userId, client, grantId: grant.jti, gty });
  if (jkt) at.setThumbprint('jkt', jkt);
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
  const offline = wantsRefresh ?? (requested.has('offline_access') && client.grantTypeAllowed('refresh_token'));
  if (offline && (!api || api.data.allow_offline_access)) {
    const rt = new RefreshToken({
      accountId: userId, client, grantId: grant.jti, gty, scope,
      resource: audience ? String(audience) : undefined, rotations: 0, authTime: Math.floor(Date.now() / 1000),
    });
    // As the engine does: a public application's refresh token needs the same key.
    if (jkt && client.clientAuthMethod === 'none') rt.jkt = jkt;
    ctx.oidc.entity('RefreshToken', rt);
    refreshToken = await rt.save();
  }

  let idToken: string | undefined;
  if (requested.has('openid')) {
    const token = new IdToken({ ...await account.claims('id_token', scope, {}, []), sub: userId }, { ctx });
    token.scope = grant.getOIDCScopeFiltered(requested);
    if (amr) token.set('amr', amr);
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
    token_type: at.tokenType,
  };
}
