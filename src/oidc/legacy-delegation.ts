import type Provider from 'oidc-provider';
import { Auth0GrantError, OAuthError } from './errors.ts';
import type { UserTokenDeps } from './user-tokens.ts';
import { activeUser, idTokenSubject } from './legacy-id-token.ts';
import { legacyFront, missing } from './legacy-front.ts';
import { JWT_BEARER, legacyScope } from './legacy-ro.ts';

// Auth0's legacy /delegation (auth0.js's Authentication.delegation): the
// user's ID token or legacy refresh token, from the calling application, for
// a new ID token issued to the `target` application of the tenant (the caller
// itself by default). Only `api_type` "app" is served: the other types mint
// tokens for third-party add-ons (Firebase, AWS, Azure, SAP...), which Postern
// does not have.

export const DELEGATION_ID_TOKEN = 'http://auth0.com/oauth/legacy/grant-type/delegation/id_token';
export const DELEGATION_REFRESH_TOKEN = 'http://auth0.com/oauth/legacy/grant-type/delegation/refresh_token';

/** The ID token for `target` (the caller when absent), for `userId`, with the claims `scope` asks for. */
async function delegatedIdToken(provider: Provider, deps: UserTokenDeps, ctx: any, userId: string) {
  const { params, client } = ctx.oidc;
  const { IdToken, Client } = provider as any;
  const targetId = params.target ? String(params.target) : client.clientId;
  const target = targetId === client.clientId ? client : (await deps.clients.get(targetId)) && await Client.find(targetId);
  if (!target) throw new Auth0GrantError(400, 'invalid_request', `Target client not found: ${targetId}`);
  await activeUser(deps.env, userId);
  const requested = legacyScope(params.scope);
  const scope = [...requested].join(' ');
  const account = await deps.findAccount(ctx, userId);
  ctx.oidc.entity('Account', account);
  const token = new IdToken({ ...await account.claims('id_token', scope, {}, []), sub: userId }, { ctx, client: target });
  token.scope = scope;
  const idToken: string = await token.issue({ use: 'idtoken' });
  const exp = JSON.parse(Buffer.from(idToken.split('.')[1], 'base64url').toString('utf8')).exp;
  ctx.body = { id_token: idToken, token_type: 'Bearer', expires_in: Math.max(0, exp - Math.floor(Date.now() / 1000)) };
}

export function registerLegacyDelegationGrants(provider: Provider, deps: UserTokenDeps) {
  const { env, clients } = deps;
  const params = ['id_token', 'refresh_token', 'target', 'scope', 'api_type'];

  provider.registerGrantType(DELEGATION_ID_TOKEN, async (ctx: any) => {
    await delegatedIdToken(provider, deps, ctx, await idTokenSubject(env, clients, ctx.oidc.params.id_token, ctx.oidc.client.clientId));
  }, params);

  provider.registerGrantType(DELEGATION_REFRESH_TOKEN, async (ctx: any) => {
    const { params: p, client } = ctx.oidc;
    const rt = await (provider as any).RefreshToken.find(String(p.refresh_token));
    // Legacy refresh tokens are not rotated: each delegation leaves it as it was.
    if (!rt || !rt.isValid || rt.clientId !== client.clientId) throw new Auth0GrantError(401, 'invalid_refresh_token', 'Unknown or invalid refresh token.');
    await delegatedIdToken(provider, deps, ctx, rt.accountId);
  }, params);
}

/** POST /delegation in front of the engine's token endpoint. */
export function delegationEndpoint() {
  return legacyFront('/delegation', {
    prepare(params) {
      if (!params.client_id) throw missing('client_id');
      if (!params.grant_type) throw missing('grant_type');
      if (params.grant_type !== JWT_BEARER) throw new OAuthError(400, 'unsupported_grant_type', `Unsupported grant type: ${params.grant_type}`);
      const apiType = params.api_type || 'app';
      if (apiType !== 'app') {
        throw new OAuthError(400, 'invalid_request', `api_type '${apiType}' needs the target application's ${apiType} add-on, which is not enabled`);
      }
      if (params.id_token && params.refresh_token) throw new OAuthError(400, 'invalid_request', 'Send either id_token or refresh_token, not both');
      if (params.id_token) params.grant_type = DELEGATION_ID_TOKEN;
      else if (params.refresh_token) params.grant_type = DELEGATION_REFRESH_TOKEN;
      else throw missing('id_token or refresh_token');
      return params;
    },
    reshape: (body) => ({ id_token: body.id_token, token_type: body.token_type, expires_in: body.expires_in }),
  });
}
