import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';
import type { Engine } from './provider.ts';
import { requestFacts } from '../tenant/logs.ts';
import { audienceAsResource, handToEngine, readOAuthParams } from './engine-request.ts';
import { OAuthError, auth0ErrorBody, sendOAuthError } from './errors.ts';

// The grants a client polls for until a person decides elsewhere: the device
// flow and CIBA. The engine answers each poll but does not pace them; Auth0
// does, with one interval for both, and answers in its own words.

/** Auth0's polling interval, in seconds; not configurable there. */
export const POLL_INTERVAL = 5;
/** A poll may arrive this much early: the interval is counted by the client from our last answer, and networks jitter. */
const JITTER_MS = 1000;
/** Where a polled entity's payload keeps when it was last polled (the engine's own fields never include it). */
const POLLED_AT = 'posternPolledAt';

export interface Polled {
  /** The engine's model, and the token request parameter that names it. */
  model: string; param: string;
  pending: string; expired: string; invalid: string;
  /** For a refusal the engine kept no words for (its backchannelResult drops them). */
  denied: string;
}

/** Polled grants by grant type, filled by the modules that define them. */
export const POLLED_GRANTS = new Map<string, Polled>();

const slowDown = () => new OAuthError(429, 'slow_down', `You are polling faster than the specified interval of ${POLL_INTERVAL} seconds.`);

/** A poll let through to the engine: its entity's row as read, and as it reads once the poll counts. */
export interface Poll { kind: Polled; id: string; read: string; counted: string }

/**
 * Before the engine sees a poll: Auth0's slow_down when the last poll that
 * counted (see auth0PollAnswer) is less than the interval ago. Unknown,
 * expired, used and other applications' entities are the engine's to answer.
 */
export async function pacePolling(env: Env, params: Record<string, string>): Promise<Poll | undefined> {
  const kind = POLLED_GRANTS.get(params.grant_type);
  const id = kind ? params[kind.param] : undefined;
  if (!kind || typeof id !== 'string' || !id) return undefined;
  const row = await env.store.findPayload(kind.model, 'id', id);
  if (!row || row.consumed_at || (row.expires_at && row.expires_at <= Date.now() / 1000)) return undefined;
  const payload = JSON.parse(row.payload);
  if (payload.clientId !== params.client_id) return undefined;
  const now = Date.now();
  if (now - Number(payload[POLLED_AT] ?? 0) < POLL_INTERVAL * 1000 - JITTER_MS) throw slowDown();
  return { kind, id, read: row.payload, counted: JSON.stringify({ ...payload, [POLLED_AT]: now }) };
}

/** Whether a poll's answer is the normal state of polling, which the tenant log does not record. */
export const stillPolling = (error: unknown) => error === 'authorization_pending' || error === 'slow_down';

/**
 * After the engine answered a poll: Auth0's statuses and words. A pending
 * answer starts the next interval; other answers end the polling, or (a DPoP
 * nonce to use) do not count. The time is written only over the row as this
 * poll read it, so it never undoes what the engine saved meanwhile (the
 * person's decision). An expired entity is reported once (the report uses it
 * up); polls after that get invalid_grant, as at Auth0.
 */
export async function auth0PollAnswer(env: Env, ctx: Koa.Context, params: Record<string, string>, poll: Poll | undefined) {
  const kind = POLLED_GRANTS.get(params.grant_type);
  const body = ctx.body as any;
  if (!kind || !body?.error) return;
  if (body.error === 'authorization_pending') {
    if (poll) await env.store.swapPayload(kind.model, poll.id, poll.read, poll.counted);
    ctx.status = 403;
    body.error_description = kind.pending;
  } else if (body.error === 'expired_token') {
    ctx.status = 403;
    ctx.body = await env.store.claimPayload(kind.model, params[kind.param])
      ? { error: 'expired_token', error_description: kind.expired }
      : { error: 'invalid_grant', error_description: kind.invalid };
  } else if (body.error === 'access_denied') {
    ctx.status = 403;
    // The engine's words for a cancel button; an action's or policy's refusal keeps its own.
    if (body.error_description === 'End-User aborted interaction') body.error_description = 'User cancelled the confirmation prompt or consent page.';
    body.error_description ??= kind.denied;
  }
}

/** What differs between the endpoints that start a polled grant (/oauth/device/code, /bc-authorize). */
export interface StartEndpoint {
  path: string;
  /** The log event of a refused start. */
  failed: { type: string; description: string };
  /** Auth0's own checks and names for the parameters, before the engine sees them. */
  prepare?: (params: Record<string, string>) => void;
  /** Auth0's answer made from the engine's successful one; undefined when the engine refused. */
  answer: (body: any) => object | undefined;
  /** The engine's refusals in Auth0's words and statuses, before the common rewrite. */
  refusal?: (ctx: Koa.Context, body: any) => void;
}

/**
 * The front of an engine endpoint that starts a polled grant: JSON or form
 * bodies, `audience` (or the tenant's default audience) as the resource
 * indicator, then the engine, which authenticates the client first, so only a
 * caller that proved to be the application learns why it was refused.
 */
export function startEndpoint(env: Env, engine: Engine, spec: StartEndpoint): Koa.Middleware {
  const failed = async (ctx: Koa.Context, clientId: unknown) => {
    const client = typeof clientId === 'string' && clientId ? await engine.clients.get(clientId) : undefined;
    env.events.record({
      ...requestFacts(ctx), type: spec.failed.type, description: String((ctx.body as any)?.error_description ?? spec.failed.description),
      client_id: client ? clientId as string : undefined, client_name: client?.data.name,
    });
  };
  return async (ctx, next) => {
    if (ctx.method !== 'POST' || ctx.path !== spec.path) return next();
    let params: Record<string, string> | undefined;
    try {
      params = await readOAuthParams(ctx);
      if (!params.client_id) throw new OAuthError(400, 'invalid_request', 'Missing required parameter: client_id');
      spec.prepare?.(params);
      audienceAsResource(params, (await engine.settings.load()).default_audience);
    } catch (e) {
      if (!(e instanceof OAuthError)) throw e;
      sendOAuthError(ctx, e);
      return failed(ctx, params?.client_id);
    }
    handToEngine(ctx, params);
    await next();
    const answer = ctx.status === 200 ? spec.answer(ctx.body) : undefined;
    if (answer) {
      ctx.body = answer;
      return;
    }
    if ((ctx.body as any)?.error) {
      spec.refusal?.(ctx, ctx.body);
      auth0ErrorBody(ctx);
    }
    await failed(ctx, params.client_id);
  };
}
