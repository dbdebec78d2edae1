import Provider, { errors } from 'oidc-provider';
import { Auth0GrantError } from './errors.ts';
import { userByLogin, verifyPassword } from '../tenant/users.ts';
import { accountFor } from '../tenant/account-linking.ts';
import { attackRefusal, recordFailedLogin, recordLogin, type LoginAttempt } from './account.ts';
import { issueUserTokens, type UserTokenDeps } from './user-tokens.ts';
import { demandSecondFactor } from './grants-mfa.ts';

// Auth0's Resource Owner Password grants: `password` (the tenant's default
// directory) and `password-realm` (a named database connection); the tokens are
// user-tokens.ts's.

export const PASSWORD_REALM = 'http://auth0.com/oauth/grant-type/password-realm';

/**
 * The end user's address, which brute-force protection counts by. A backend
 * logging users in sends it in `auth0-forwarded-for`, which Auth0 believes only
 * from a confidential application marked as trusted to send it.
 */
export function endUserIp(ctx: any, client: any): string {
  const forwarded = ctx.get('auth0-forwarded-for');
  const trusted = client.is_token_endpoint_ip_header_trusted === true && client.clientAuthMethod !== 'none';
  return trusted && forwarded ? String(forwarded).split(',')[0].trim() : ctx.ip;
}
const wrongCredentials = () => new Auth0GrantError(403, 'invalid_grant', 'Wrong email or password.');


export function registerPasswordGrants(provider: Provider, deps: UserTokenDeps) {
  const { env, settings } = deps;
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
    const gty = params.grant_type === PASSWORD_REALM ? 'password-realm' : 'password';
    await demandSecondFactor(deps, ctx, user, { client_id: client.clientId, scope: [...requested], audience, gty });
    await issueUserTokens(provider, deps, ctx, user.user_id, { requested, audience, gty });
  };
  const params = ['username', 'password', 'realm', 'scope', 'audience', 'resource'];
  provider.registerGrantType('password', handler, params);
  provider.registerGrantType(PASSWORD_REALM, handler, params);
}
