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


/** What a password login names: the realm (else the tenant's default directory), the login and the password. */
export interface PasswordLogin {
  realm?: string; username: string; password: string;
  client: { id: string; name?: string }; ip: string; userAgent?: string;
}

/**
 * The account a username and password log in as, after the realm, attack
 * protection and blocked checks; each refusal is an Auth0GrantError. Shared by
 * the password grants and embedded login's /co/authenticate.
 */
export async function passwordAccount(env: UserTokenDeps['env'], settings: UserTokenDeps['settings'], login: PasswordLogin) {
  const realm = login.realm || (await settings.load()).default_directory || undefined;
  if (!realm) throw new Auth0GrantError(400, 'invalid_request', 'Authorization server not configured with default connection.');
  const conn = await env.store.connections.findBy('name', realm);
  if (!conn || conn.data.strategy !== 'auth0') throw new Auth0GrantError(400, 'invalid_request', 'Unknown realm');
  if (!(conn.data.enabled_clients ?? []).includes(login.client.id)) {
    throw new Auth0GrantError(403, 'unauthorized_client', 'The connection is not enabled for this client.');
  }
  const identity = await userByLogin(env, conn, login.username);
  const attempt: LoginAttempt = { ip: login.ip, userAgent: login.userAgent, identifier: login.username, client: login.client, connection: conn };
  const refusal = await attackRefusal(env, attempt, identity);
  if (refusal) throw new Auth0GrantError(429, 'too_many_attempts', refusal);
  if (!(await verifyPassword(identity, login.password, env)) || !identity) {
    await recordFailedLogin(env, attempt, identity);
    throw wrongCredentials();
  }
  const user = await accountFor(env, identity);
  if (!user || identity.blocked || user.blocked) {
    await recordFailedLogin(env, attempt, identity, true);
    throw new Auth0GrantError(401, 'unauthorized', 'user is blocked');
  }
  await recordLogin(env, user, attempt, identity);
  return user;
}

export function registerPasswordGrants(provider: Provider, deps: UserTokenDeps) {
  const { env, settings } = deps;
  const handler = async (ctx: any) => {
    const { params, client } = ctx.oidc;
    if (!params.username || !params.password) throw new errors.InvalidRequest('missing required parameter(s) (username, password)');
    // auth0-auth-js sends `realm` with the plain password grant too; Auth0 honours it there.
    if (params.grant_type === PASSWORD_REALM && !params.realm) throw new errors.InvalidRequest('missing required parameter(s) (realm)');
    const user = await passwordAccount(env, settings, {
      realm: params.realm || undefined, username: String(params.username), password: String(params.password),
      client: { id: client.clientId, name: client.clientName }, ip: endUserIp(ctx, client), userAgent: ctx.get('user-agent') || undefined,
    });

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
