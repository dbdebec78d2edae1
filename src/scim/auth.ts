import { createHash } from 'node:crypto';
import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';
import { ScimError } from './errors.ts';
import { resolveMapping } from './mapping.ts';
import type { Applied } from './resource.ts';

// SCIM bearer tokens: made by the Management API (POST
// /connections/{id}/scim-configuration/tokens), shown once, and kept only as a
// SHA-256 hash, which is what a request's token is looked up by. A token
// serves its own connection only, until it expires or is revoked, and each
// HTTP method needs its scope on the resource (get:users for GET /Users,
// post:groups for POST /Groups, ...).

export type ScimResource = 'users' | 'groups';
export const SCIM_SCOPES = ['users', 'groups'].flatMap((r) => ['get', 'post', 'put', 'patch', 'delete'].map((m) => `${m}:${r}`));
export const DEFAULT_SCOPES = ['get:users', 'post:users', 'put:users'];

/** The tokens are 256 random bits, so one unsalted hash is as hard to reverse as the token is to guess. */
export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

// `last_used_at` is a write per request otherwise; a minute is as precise as anyone reads it.
const TOUCH_EVERY_MS = 60_000;
const MAX_TOKEN = 512;

const unauthorized = (detail: string) => new ScimError(401, detail);

async function tokenFor(env: Env, ctx: Koa.Context, connectionId: string) {
  const m = /^Bearer\s+(\S+)$/i.exec(ctx.get('authorization'));
  if (!m) throw unauthorized('Authentication is required: Authorization: Bearer <SCIM token>');
  if (m[1].length > MAX_TOKEN) throw unauthorized('Invalid token');
  const doc = await env.store.scimTokens.findBy('token_hash', hashToken(m[1]));
  // Another connection's token is as unknown here as a made-up one.
  if (!doc || doc.name !== connectionId) throw unauthorized('Invalid token');
  if (doc.data.valid_until && Date.parse(doc.data.valid_until) <= Date.now()) throw unauthorized('The token has expired');
  return doc;
}

async function touch(env: Env, doc: { id: string; data: any }) {
  const last = doc.data.last_used_at ? Date.parse(doc.data.last_used_at) : 0;
  if (Date.now() - last < TOUCH_EVERY_MS) return;
  // A revoke racing this write updates nothing; the token's other fields never change.
  await env.store.scimTokens.update(doc.id, { ...doc.data, last_used_at: new Date().toISOString() })
    .catch((e) => env.log.warn({ err: (e as Error).message }, 'scim token last_used_at not recorded'));
}

/**
 * Authenticates the request for the connection in its path, checks the
 * method's scope, and leaves the connection and its mapping in `ctx.state.scim`.
 */
export function scimAuth(env: Env, resource: ScimResource): Koa.Middleware {
  return async (ctx, next) => {
    const connectionId = String(ctx.params.connectionId);
    const doc = await tokenFor(env, ctx, connectionId);
    const scope = `${ctx.method === 'HEAD' ? 'get' : ctx.method.toLowerCase()}:${resource}`;
    if (!(doc.data.scopes ?? []).includes(scope)) throw new ScimError(403, `Insufficient scope, expected: ${scope}`);
    const [conn, config] = await Promise.all([env.store.connections.get(connectionId), env.store.scimConfigurations.get(connectionId)]);
    // Deleting either also deletes the tokens; this is a request that raced that delete.
    if (!conn || !config) throw unauthorized('Invalid token');
    await touch(env, doc);
    const applied: Applied = { conn, mapped: resolveMapping(config.data.mapping), userIdAttribute: config.data.user_id_attribute };
    ctx.state.scim = applied;
    await next();
  };
}
