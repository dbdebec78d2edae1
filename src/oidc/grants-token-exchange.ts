import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';
import { Auth0GrantError } from './errors.ts';
import { issueUserTokens, type UserTokenDeps } from './user-tokens.ts';
import { TOKEN_PARAMS } from './token-endpoint.ts';
import { profileFor, runCustomTokenExchange } from '../actions/custom-token-exchange.ts';

// Auth0's Custom Token Exchange (RFC 8693's grant type): a confidential
// application allowed `custom_authentication` profiles trades a token of its
// own kind for the tokens of the user the profile's action names.

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

export function registerTokenExchangeGrant(provider: Provider, deps: UserTokenDeps) {
  const { env, settings, clients } = deps;
  provider.registerGrantType(TOKEN_EXCHANGE, async (ctx: any) => {
    const { params, client } = ctx.oidc;
    if (!params.subject_token || !params.subject_token_type) throw new errors.InvalidRequest('missing required parameter(s) (subject_token, subject_token_type)');
    if (client.clientAuthMethod === 'none') throw new Auth0GrantError(401, 'unauthorized_client', 'Custom token exchange is for confidential applications.');
    const cached = await clients.get(client.clientId);
    if (!(cached?.data.token_exchange?.allow_any_profile_of_type ?? []).includes('custom_authentication')) {
      throw new Auth0GrantError(403, 'unauthorized_client', 'The application may not use custom token exchange profiles.');
    }
    const profile = await profileFor(env, String(params.subject_token_type));
    if (!profile) throw new Auth0GrantError(400, 'invalid_request', `No token exchange profile for the subject_token_type ${params.subject_token_type}.`);
    // The action sees every parameter of the request (Auth0 passes extra ones on), not only the grant's own.
    const result = await runCustomTokenExchange(env, ctx, { id: client.clientId, data: cached!.data }, profile, { ...ctx.state[TOKEN_PARAMS], ...params.toPlainObject() });
    if (!('user' in result)) throw new Auth0GrantError(result.status, result.error, result.description);
    const requested = new Set<string>(String(params.scope ?? '').split(' ').filter(Boolean));
    const audience: string | undefined = params.audience || params.resource || (await settings.load()).default_audience || undefined;
    await issueUserTokens(provider, deps, ctx, result.user.user_id, { requested, audience, gty: 'token-exchange' });
  }, ['subject_token', 'subject_token_type', 'requested_token_type', 'actor_token', 'actor_token_type', 'scope', 'audience', 'resource', 'organization']);
}
