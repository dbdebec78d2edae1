import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';
import { requestFacts } from '../tenant/logs.ts';

// Pieces every trigger's event is made of.

// Parameters that carry credentials never reach action code.
const SECRET_PARAMS = new Set(['client_secret', 'client_assertion', 'code', 'code_verifier', 'refresh_token', 'password', 'subject_token']);

export const withoutSecrets = (params: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(params ?? {}).filter(([k, v]) => !SECRET_PARAMS.has(k) && v !== undefined && typeof v !== 'function'));

/** A space-separated parameter as Auth0's events give it: a list. */
export const words = (v: unknown) => (typeof v === 'string' && v ? v.split(' ').filter(Boolean) : []);

/** `event.tenant`: the tenant's name, as the tenant log names it. */
export const tenantPart = (env: Env) => ({ id: env.config.domain.replace(/:\d+$/, '') });

/** `event.client` of an application document. */
export const clientPart = (id: string | undefined, data: any) => ({ client_id: id, name: data?.name, metadata: data?.client_metadata ?? {} });

/** `event.request`: where the request came from, and its parameters without credentials as its query or its body. */
export function requestPart(ctx: Koa.Context, params: Record<string, unknown>, where: 'query' | 'body') {
  const facts = requestFacts(ctx);
  const given = withoutSecrets(params);
  return {
    ip: facts.ip, user_agent: facts.user_agent, method: ctx.method, hostname: ctx.hostname,
    language: ctx.get('accept-language') || undefined,
    query: where === 'query' ? given : {}, body: where === 'body' ? given : {}, geoip: {},
  };
}
