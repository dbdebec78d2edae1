import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';
import type { Engine } from './provider.ts';
import { audienceAsResource, handToEngine, readOAuthParams } from './engine-request.ts';
import { OAuthError, auth0ErrorBody, sendOAuthError } from './errors.ts';
import { requestFacts } from '../tenant/logs.ts';
import { AUTH0_PATHS } from './paths.ts';
import { POLLED_GRANTS, POLL_INTERVAL } from './polling.ts';

// The Device Authorization Flow (RFC 8628) as Auth0 runs it, on the engine's
// deviceFlow: POST /oauth/device/code with Auth0's bodies and `audience`,
// Auth0's polling (polling.ts), and the user side at /activate (login/device.ts).

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** Auth0's device code lifetime, in seconds; not configurable there. */
export const DEVICE_CODE_TTL = 900;
POLLED_GRANTS.set(DEVICE_CODE_GRANT, {
  model: 'DeviceCode', param: 'device_code', pending: 'User has yet to authorize device code.',
  expired: 'The device code has expired.', invalid: 'Invalid or expired device code.', denied: 'User cancelled the confirmation prompt or consent page.',
});

/** Auth0 lets only native applications that authenticate with no secret use the device flow, and only when they list its grant. */
export function deviceFlowAllowed(data: any): boolean {
  return data?.app_type === 'native' && data?.token_endpoint_auth_method === 'none'
    && Array.isArray(data?.grant_types) && data.grant_types.includes(DEVICE_CODE_GRANT);
}

const notAllowed = () => new OAuthError(403, 'unauthorized_client', `Grant type '${DEVICE_CODE_GRANT}' not allowed for the client.`);

/** The engine's refusals at the device authorization endpoint, in Auth0's words and statuses. */
function auth0DeviceError(ctx: Koa.Context) {
  const body = ctx.body as any;
  if (!body?.error) return;
  if (body.error === 'invalid_request' && String(body.error_description).includes(DEVICE_CODE_GRANT)) {
    sendOAuthError(ctx, notAllowed());
  } else if (body.error === 'access_denied') {
    ctx.status = 403;
  }
  auth0ErrorBody(ctx);
}

/**
 * POST /oauth/device/code in front of the engine's device authorization
 * endpoint: JSON or form bodies, `audience` (or the tenant's default audience)
 * as the resource indicator, and Auth0's answer, which adds `interval`. The
 * engine authenticates the client first, so only a caller that proved to be
 * the application learns whether it may use the flow.
 */
export function deviceAuthorizationEndpoint(env: Env, engine: Engine): Koa.Middleware {
  const failed = async (ctx: Koa.Context, clientId: unknown) => {
    const client = typeof clientId === 'string' && clientId ? await engine.clients.get(clientId) : undefined;
    env.events.record({
      ...requestFacts(ctx), type: 'fdeaz', description: String((ctx.body as any)?.error_description ?? 'Device authorization request failed'),
      client_id: client ? clientId as string : undefined, client_name: client?.data.name,
    });
  };
  return async (ctx, next) => {
    if (ctx.method !== 'POST' || ctx.path !== AUTH0_PATHS.device_authorization) return next();
    let params: Record<string, string> | undefined;
    try {
      params = await readOAuthParams(ctx);
      if (!params.client_id) throw new OAuthError(400, 'invalid_request', 'Missing required parameter: client_id');
      audienceAsResource(params, (await engine.settings.load()).default_audience);
    } catch (e) {
      if (!(e instanceof OAuthError)) throw e;
      sendOAuthError(ctx, e);
      return failed(ctx, params?.client_id);
    }
    handToEngine(ctx, params);
    await next();
    const body = ctx.body as any;
    if (ctx.status === 200 && body?.device_code) {
      // From the issuer, as Auth0 names them whatever host the request reached.
      const verification = `${env.issuer}activate`;
      ctx.body = {
        device_code: body.device_code, user_code: body.user_code,
        verification_uri: verification, verification_uri_complete: `${verification}?${new URLSearchParams({ user_code: body.user_code })}`,
        expires_in: body.expires_in, interval: POLL_INTERVAL,
      };
      return;
    }
    auth0DeviceError(ctx);
    await failed(ctx, params.client_id);
  };
}
