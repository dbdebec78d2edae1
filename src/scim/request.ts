import type Koa from 'koa';
import { readJsonBody } from '../lib/body.ts';
import { invalidValue, ScimError } from './errors.ts';
import { keyOf } from './paths.ts';

// What a SCIM request carries besides its path: a JSON body (RFC 7644 §3.1:
// application/scim+json, or application/json) and the list parameters.

/** The body as an object. The NUL check and size limit are the shared parser's. */
export async function readScimBody(ctx: Koa.Context): Promise<Record<string, any>> {
  if (ctx.request.type && !ctx.is('application/scim+json', 'application/json', '+json')) {
    throw new ScimError(415, 'The body must be application/scim+json or application/json');
  }
  const body = await readJsonBody(ctx);
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new ScimError(400, 'The body must be a JSON object', 'invalidSyntax');
  return body;
}

/** Refuses a body whose `schemas` does not name `schema`. */
export function requireSchema(body: Record<string, any>, schema: string) {
  const list = body[keyOf(body, 'schemas') ?? 'schemas'];
  if (!Array.isArray(list) || !list.some((s) => typeof s === 'string' && s.toLowerCase() === schema.toLowerCase())) {
    throw new ScimError(400, `schemas must include ${schema}`, 'invalidSyntax');
  }
}

const MAX_COUNT = 100;

function integer(v: unknown, name: string): number | undefined {
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string' || !/^[+-]?\d+$/.test(v.trim())) throw invalidValue(`${name} must be an integer`);
  const n = Number(v);
  // Beyond 2^53 the number is only "very large", which is all paging needs to know.
  return Number.isSafeInteger(n) ? n : Math.sign(n) * Number.MAX_SAFE_INTEGER;
}

/** `startIndex` (1-based; below 1 means 1) and `count` (below 0 means 0; at most 100 are returned), per RFC 7644 §3.4.2.4. */
export function paging(query: Koa.Context['query']): { startIndex: number; count: number } {
  const startIndex = Math.max(1, integer(query.startIndex, 'startIndex') ?? 1);
  const count = Math.min(MAX_COUNT, Math.max(0, integer(query.count, 'count') ?? MAX_COUNT));
  return { startIndex, count };
}
