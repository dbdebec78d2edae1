import Router from '@koa/router';
import type Koa from 'koa';
import { ApiError, badRequest, notFound } from '../lib/errors.ts';
import { readJsonBody } from '../lib/body.ts';
import { readFormBody } from '../lib/multipart.ts';
import type { Env } from '../tenant/env.ts';
import { findOperation, pathEnums, validationMessage, validatorsFor, type OpSpec } from './spec.ts';
import { RateLimiter } from './ratelimit.ts';
import { isCurrentUserScope, SELF_WRITABLE } from '../tenant/current-user-scopes.ts';
import { insufficientScope, verifyApiToken, type ApiToken } from '../tenant/access-tokens.ts';

export interface OpContext {
  env: Env;
  params: Record<string, string>;
  query: Record<string, any>;
  body: any;
  token: ApiToken;
  koa: Koa.Context;
  /** Set when only a `current_user` scope let the token in: the one user the handler may act on or for. */
  self?: string;
}
/** What a handler returns: a body (200), `reply(status, body)`, or nothing (204). */
export type Handler = (c: OpContext) => Promise<unknown>;
export class Reply { constructor(public status: number, public body?: unknown) {} }
export const reply = (status: number, body?: unknown) => new Reply(status, body);

export interface Route { op: OpSpec; handler: Handler }
/** Declares a route by its spec method and path; scopes and schemas come from the spec. */
export function route(method: string, path: string, handler: Handler): Route {
  return { op: findOperation(method, path), handler };
}

function unauthorized(message: string, errorCode = 'invalid_token') { return new ApiError(401, message, errorCode); }

async function authenticate(env: Env, header: string | undefined) {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  if (!m) throw unauthorized('Missing authentication', 'missing_authentication');
  return verifyApiToken(env, m[1], env.mgmtAudience);
}

export { insufficientScope };

/** Throws unless the token holds one of the operation's scopes; true when only a `current_user` scope let it in. */
function checkScope(op: OpSpec, token: OpContext['token']): boolean {
  if (!op.scopes.length) return false;
  const granted = new Set(String(token.scope ?? '').split(' '));
  const held = op.scopes.filter((s) => granted.has(s));
  if (!held.length) throw insufficientScope(op.scopes);
  return held.every(isCurrentUserScope);
}

const SELF_CHECKED_BY_HANDLER = new Set(['/device-credentials', '/device-credentials/{id}']);

/** A `current_user` scope reaches the token's own user only, and its metadata scope only user_metadata. */
function checkSelf(op: OpSpec, params: Record<string, string>, token: OpContext['token'], body: any) {
  const broader = op.scopes.filter((s) => !isCurrentUserScope(s));
  // Device credentials name their user in the body or the stored credential: their handlers check `self`.
  if (SELF_CHECKED_BY_HANDLER.has(op.path)) return;
  if (!op.path.startsWith('/users/{id}') || params.id !== token.sub) throw insufficientScope(broader);
  if (op.method === 'PATCH' && op.path === '/users/{id}' && Object.keys(body ?? {}).some((k) => !SELF_WRITABLE.has(k))) throw insufficientScope(broader);
}

/**
 * Builds /api/v2: every route passes through the same bearer check, rate
 * limit, scope check and schema validation before its handler runs.
 */
export function managementRouter(env: Env, routes: Route[]): Router {
  const router = new Router({ prefix: '/api/v2' });
  const limiter = new RateLimiter(env.config.rateLimit);

  router.use(async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new ApiError(404, 'Not Found');
    } catch (e) {
      const err = e instanceof ApiError ? e : asApiError(env, e);
      ctx.status = err.statusCode;
      ctx.body = err.toJSON();
    }
  });

  /** Bearer check and rate limit, shared by every route; the limit headers go on every answer. */
  async function gate(ctx: Koa.Context): Promise<{ token?: OpContext['token']; authError?: unknown }> {
    let token: OpContext['token'] | undefined;
    let authError: unknown;
    try { token = await authenticate(env, ctx.get('authorization')); } catch (e) { authError = e; }
    const rl = limiter.take(token?.sub ?? `ip:${ctx.ip}`);
    ctx.set('X-RateLimit-Limit', String(rl.limit));
    ctx.set('X-RateLimit-Remaining', String(rl.remaining));
    ctx.set('X-RateLimit-Reset', String(rl.reset));
    if (!rl.allowed) {
      ctx.set('Retry-After', String(Math.max(1, rl.reset - Math.floor(Date.now() / 1000))));
      if (!authError) throw new ApiError(429, 'Global limit has been reached', 'too_many_requests');
    }
    return { token, authError };
  }

  for (const { op, handler } of routes) {
    const koaPath = op.path.replace(/\{(\w+)\}/g, ':$1');
    const validators = validatorsFor(op);
    const enums = Object.entries(pathEnums(op));
    const served: Served = { op, validators, enums, handler };
    router.register(koaPath, [op.method.toLowerCase()], async (ctx) => {
      const { token, authError } = await gate(ctx);
      if (authError) throw authError;
      try {
        await serve(ctx, served, token!);
        if (op.method !== 'GET') recordApiCall(env, ctx, op, token!);
      } catch (e) {
        if (op.method !== 'GET') recordApiCall(env, ctx, op, token!, e);
        throw e;
      }
    });
  }
  // Anything else under /api/v2 is Auth0's 404, still metered and with the limit headers.
  router.all('/{*rest}', async (ctx) => {
    await gate(ctx);
    throw new ApiError(404, 'Not Found');
  });
  return router;

  /** One operation, once the caller is known: scope, path, query and body checks, then its handler. */
  async function serve(ctx: Koa.Context, { op, validators, enums, handler }: Served, token: OpContext['token']) {
    const selfOnly = checkScope(op, token);
    const query: Record<string, any> = { ...ctx.query };
    if (validators.query && !validators.query(query)) throw new ApiError(400, validationMessage(validators.query, 'Query'), 'invalid_query_string');
    let body: any;
    if (['POST', 'PUT', 'PATCH', 'DELETE'].includes(op.method)) {
      body = validators.form ? await readFormBody(ctx) : await readJsonBody(ctx);
      const check = validators.body ?? validators.form;
      if (body === undefined && op.method !== 'DELETE' && check) body = {};
      if (body !== undefined && check && !check(body)) {
        throw badRequest(validationMessage(check, 'Payload'));
      }
    }
    // A name outside the spec's enum (prompt, language, factor) is a 404 like an unknown id, so after the body checks too.
    for (const [name, allowed] of enums) if (!allowed.includes(ctx.params[name])) throw notFound(`The ${name} does not exist.`);
    if (selfOnly) checkSelf(op, ctx.params, token, body);
    const result = await handler({ env, params: ctx.params as Record<string, string>, query, body, token, koa: ctx, ...(selfOnly ? { self: String(token.sub) } : {}) });
    if (result instanceof Reply) {
      ctx.status = result.status;
      if (result.body !== undefined) ctx.body = result.body;
    } else if (result === undefined) {
      ctx.status = 204;
    } else {
      ctx.status = 200;
      ctx.body = result;
    }
  }
}

interface Served { op: OpSpec; validators: ReturnType<typeof validatorsFor>; enums: [string, string[]][]; handler: Handler }

/**
 * Writes through the Management API go to the tenant log as Auth0's `sapi` /
 * `fapi` events: who (the token's client), what (method and path), and the
 * status. Never the request or response body, which can carry secrets.
 */
function recordApiCall(env: Env, ctx: Koa.Context, op: OpSpec, token: OpContext['token'], error?: unknown) {
  const statusCode = error === undefined ? ctx.status : error instanceof ApiError ? error.statusCode : 500;
  const clientId = token.azp ?? String(token.sub ?? '').replace(/@clients$/, '');
  env.events.record({
    type: error === undefined ? 'sapi' : 'fapi', description: `${op.method} ${op.path}`,
    ip: ctx.ip, user_agent: ctx.get('user-agent') || undefined, client_id: clientId || undefined,
    details: { request: { method: op.method.toLowerCase(), path: ctx.path, channel: 'api' }, response: { statusCode } },
  });
}

/** Unexpected failures are logged (without request data) and never leak as 5xx details. */
function asApiError(env: Env, e: unknown): ApiError {
  if ((e as any)?.status >= 400 && (e as any)?.status < 500) return new ApiError((e as any).status, (e as any).message ?? 'Bad Request');
  env.log.error({ err: { message: (e as Error)?.message, stack: (e as Error)?.stack } }, 'management api handler failed');
  return new ApiError(500, 'Internal Server Error', 'internal_error');
}
