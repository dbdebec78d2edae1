import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';
import { OAuthError } from '../oidc/errors.ts';
import { clientPart, requestPart, tenantPart, words } from './event-parts.ts';
import { failureOf } from './runtime.ts';

// The credentials-exchange trigger: Auth0 runs it for each client_credentials
// grant, after the client, audience and scopes are checked and before the token
// is signed. An action may deny the grant or add claims to the access token.

// The codes an action may deny with (api.access.deny(code, reason)).
const DENY_STATUS: Record<string, number> = { invalid_scope: 400, invalid_request: 400, server_error: 500 };

/** Custom claims for the token, or undefined when nothing is bound. Throws OAuthError when an action refuses. */
export async function runCredentialsExchange(
  env: Env, ctx: Koa.Context, client: { id: string; data: any }, audience: string, params: Record<string, any>, scope: string,
): Promise<Record<string, unknown> | undefined> {
  const actions = await env.actions.forTrigger('credentials-exchange');
  if (!actions.length) return undefined;
  const event = {
    client: clientPart(client.id, client.data),
    resource_server: { identifier: audience },
    request: requestPart(ctx, params, 'body'),
    transaction: { requested_scopes: words(params.scope) },
    accessToken: { scope: words(scope), customClaims: {} },
    tenant: tenantPart(env),
  };
  const out = await env.actions.execute('credentials-exchange', actions, event, ctx);
  const failed = failureOf(out);
  if (failed !== undefined) throw new OAuthError(403, 'access_denied', failed);
  const { deny, denyCode, accessToken } = out.effects;
  if (deny !== undefined) {
    const code = denyCode && DENY_STATUS[denyCode] ? denyCode : 'invalid_request';
    throw new OAuthError(DENY_STATUS[code], code, deny);
  }
  return accessToken;
}
