import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';
import { Auth0GrantError } from './errors.ts';
import { codeLogin, passwordlessConnection, addressFor, PasswordlessRefusal } from './passwordless.ts';
import { issueUserTokens, type UserTokenDeps } from './user-tokens.ts';
import { demandSecondFactor } from './grants-mfa.ts';
import { endUserIp } from './grants-password.ts';

// Auth0's passwordless/otp grant: the code /passwordless/start sent to an
// email address or phone number (`username`), in the connection `realm`.

export const PASSWORDLESS_OTP = 'http://auth0.com/oauth/grant-type/passwordless/otp';

/** The grant's refusals: a connection that will not do is the request's fault (400), a code's refusal the grant's (403). */
function asGrantError(e: unknown): unknown {
  if (!(e instanceof PasswordlessRefusal)) return e;
  if (e.status === 400) return new Auth0GrantError(400, 'invalid_request', e.description);
  return new Auth0GrantError(e.status, e.error, e.description);
}

export function registerPasswordlessGrant(provider: Provider, deps: UserTokenDeps) {
  const { env, settings } = deps;
  provider.registerGrantType(PASSWORDLESS_OTP, async (ctx: any) => {
    const { params, client } = ctx.oidc;
    if (!params.username || !params.otp || !params.realm) throw new errors.InvalidRequest('missing required parameter(s) (username, otp, realm)');
    try {
      const conn = await passwordlessConnection(env, client.clientId, params.realm);
      const address = addressFor(conn, params.username);
      const attempt = {
        ip: endUserIp(ctx, client), userAgent: ctx.get('user-agent') || undefined, identifier: address,
        client: { id: client.clientId, name: client.clientName }, connection: conn,
      };
      const { account } = await codeLogin(env, attempt, conn, address, String(params.otp));
      const requested = new Set<string>(String(params.scope ?? '').split(' ').filter(Boolean));
      const audience: string | undefined = params.audience || params.resource || (await settings.load()).default_audience || undefined;
      await demandSecondFactor(deps, ctx, account, { client_id: client.clientId, scope: [...requested], audience, gty: 'passwordless' });
      await issueUserTokens(provider, deps, ctx, account.user_id, { requested, audience, gty: 'passwordless' });
    } catch (e) {
      throw asGrantError(e);
    }
  }, ['username', 'otp', 'realm', 'scope', 'audience', 'resource']);
}
