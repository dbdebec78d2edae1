import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';
import type { Engine } from './provider.ts';
import type { TenantSettingsCache } from './settings.ts';
import { OAuthError, sendOAuthError } from './errors.ts';
import { AUTH0_PATHS } from './paths.ts';
import { POLLED_GRANTS, POLL_INTERVAL, startEndpoint } from './polling.ts';

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

const DEFAULT_MASK = '****-****';
/** Fewer characters would make a code guessable within its lifetime; Postern's floor, Auth0 documents none. */
const MIN_CODE_LENGTH = 6;

/** Why a tenant's `device_flow.mask` cannot format user codes, or undefined when it can. */
export function maskProblem(mask: unknown): string | undefined {
  if (typeof mask !== 'string' || !/^[-* ]*$/.test(mask)) return 'device_flow.mask may only contain "*", "-" and spaces.';
  if (mask.split('*').length - 1 < MIN_CODE_LENGTH) return `device_flow.mask must have at least ${MIN_CODE_LENGTH} "*" characters.`;
  return undefined;
}

/**
 * The engine's deviceFlow feature. The engine reads `charset` and `mask` at
 * each request, and keeps a feature that is not a plain object as given
 * rather than copying its values; so these getters follow the tenant's
 * `device_flow` settings (Auth0's `base20` is the engine's `base-20`).
 */
export function deviceFlowFeature(settings: TenantSettingsCache, pages: object) {
  const feature = Object.assign(Object.create(null), {
    enabled: true,
    deviceInfo: (ctx: Koa.Context) => ({ ip: ctx.ip, ua: ctx.get('user-agent') }),
    ...pages,
  });
  return Object.defineProperties(feature, {
    charset: { enumerable: true, get: () => (settings.value.device_flow?.charset === 'digits' ? 'digits' : 'base-20') },
    mask: { enumerable: true, get: () => (maskProblem(settings.value.device_flow?.mask) ? DEFAULT_MASK : settings.value.device_flow.mask) },
  });
}

const notAllowed = () => new OAuthError(403, 'unauthorized_client', `Grant type '${DEVICE_CODE_GRANT}' not allowed for the client.`);

/**
 * POST /oauth/device/code in front of the engine's device authorization
 * endpoint; Auth0's answer adds `interval`.
 */
export function deviceAuthorizationEndpoint(env: Env, engine: Engine): Koa.Middleware {
  // From the issuer, as Auth0 names them whatever host the request reached.
  const verification = `${env.issuer}activate`;
  return startEndpoint(env, engine, {
    path: AUTH0_PATHS.device_authorization,
    failed: { type: 'fdeaz', description: 'Device authorization request failed' },
    answer: (body) => body?.device_code && {
      device_code: body.device_code, user_code: body.user_code,
      verification_uri: verification, verification_uri_complete: `${verification}?${new URLSearchParams({ user_code: body.user_code })}`,
      expires_in: body.expires_in, interval: POLL_INTERVAL,
    },
    refusal: (ctx, body) => {
      if (body.error === 'invalid_request' && String(body.error_description).includes(DEVICE_CODE_GRANT)) sendOAuthError(ctx, notAllowed());
      else if (body.error === 'access_denied') ctx.status = 403;
    },
  });
}
