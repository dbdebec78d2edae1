import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';
import type { Engine } from './provider.ts';
import { handToEngine, readOAuthParams } from './engine-request.ts';
import { OAuthError, auth0ErrorBody, sendOAuthError } from './errors.ts';
import { requestFacts } from '../tenant/logs.ts';
import { AUTH0_PATHS } from './paths.ts';

// The Device Authorization Flow (RFC 8628) as Auth0 runs it, on the engine's
// deviceFlow: POST /oauth/device/code with Auth0's bodies and `audience`,
// Auth0's polling interval and answers at the token endpoint (the engine does
// not pace polling), and the user side at /activate (login/device.ts).

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** Auth0's polling interval and device code lifetime, in seconds; neither is configurable there. */
export const POLL_INTERVAL = 5;
export const DEVICE_CODE_TTL = 900;
/** A poll may arrive this much early: the interval is counted by the client from our last answer, and networks jitter. */
const JITTER_MS = 1000;
/** Where a device code's payload keeps when it was last polled (the engine's own fields never include it). */
const POLLED_AT = 'posternPolledAt';

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
      const audience = params.audience || params.resource || (await engine.settings.load()).default_audience;
      delete params.audience;
      if (audience) params.resource = String(audience);
      else delete params.resource;
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

const slowDown = () => new OAuthError(429, 'slow_down', `You are polling faster than the specified interval of ${POLL_INTERVAL} seconds.`);

/** A poll let through to the engine: its code's row as read, and as it reads once the poll counts. */
export interface Poll { id: string; read: string; counted: string }

/**
 * Before the engine sees a device code poll: Auth0's slow_down when the last
 * poll that counted (see auth0PollAnswer) is less than the interval ago.
 * Unknown, expired, used and other applications' codes are the engine's to answer.
 */
export async function pacePolling(env: Env, params: Record<string, string>): Promise<Poll | undefined> {
  const id = params.device_code;
  if (typeof id !== 'string' || !id) return undefined;
  const row = await env.store.findPayload('DeviceCode', 'id', id);
  if (!row || row.consumed_at || (row.expires_at && row.expires_at <= Date.now() / 1000)) return undefined;
  const payload = JSON.parse(row.payload);
  if (payload.clientId !== params.client_id) return undefined;
  const now = Date.now();
  if (now - Number(payload[POLLED_AT] ?? 0) < POLL_INTERVAL * 1000 - JITTER_MS) throw slowDown();
  return { id, read: row.payload, counted: JSON.stringify({ ...payload, [POLLED_AT]: now }) };
}

/** Whether a device code poll's answer is the normal state of polling, which the tenant log does not record. */
export const stillPolling = (error: unknown) => error === 'authorization_pending' || error === 'slow_down';

/**
 * After the engine answered a device code poll: Auth0's statuses and words.
 * A pending answer starts the next interval; other answers end the polling, or
 * (a DPoP nonce to use) do not count. The time is written only over the row
 * as this poll read it, so it never undoes what the engine saved meanwhile
 * (the person's approval). An expired code is reported once (the report uses
 * it up); polls after that get invalid_grant, as at Auth0.
 */
export async function auth0PollAnswer(env: Env, ctx: Koa.Context, params: Record<string, string>, poll: Poll | undefined) {
  const body = ctx.body as any;
  if (!body?.error) return;
  if (body.error === 'authorization_pending') {
    if (poll) await env.store.swapPayload('DeviceCode', poll.id, poll.read, poll.counted);
    ctx.status = 403;
    body.error_description = 'User has yet to authorize device code.';
  } else if (body.error === 'expired_token') {
    ctx.status = 403;
    ctx.body = await env.store.claimPayload('DeviceCode', params.device_code)
      ? { error: 'expired_token', error_description: 'The device code has expired.' }
      : { error: 'invalid_grant', error_description: 'Invalid or expired device code.' };
  } else if (body.error === 'access_denied') {
    ctx.status = 403;
    // The engine's words for the cancel button; an action's or policy's refusal keeps its own.
    if (body.error_description === 'End-User aborted interaction') body.error_description = 'User cancelled the confirmation prompt or consent page.';
  }
}
