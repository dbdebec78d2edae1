import type { Env } from '../tenant/env.ts';
import type { Engine } from '../oidc/provider.ts';
import type { CachedClient } from '../oidc/clients.ts';
import { ApiError } from '../lib/errors.ts';

// Which application a WS-Federation request is for, as Auth0 finds it: the
// client_id in the path, or else the `wtrealm`, either `urn:{client_id}` or one
// of an application's `client_aliases` (the WS-Fed addon's "Realm").

const MAX_PARAM = 2048;
const PAGE = 200;

const aliasesOf = (client: { data: any }): string[] =>
  (Array.isArray(client.data.client_aliases) ? client.data.client_aliases : []).filter((a: unknown) => typeof a === 'string' && a);

async function byId(engine: Engine, id: string) {
  return id && id.length <= 256 ? engine.clients.get(id) : undefined;
}

/** The application whose client_aliases hold this realm (the store has no column for them, so the documents are read). */
async function byAlias(env: Env, engine: Engine, realm: string): Promise<CachedClient | undefined> {
  for (let offset = 0; ; offset += PAGE) {
    const { items } = await env.store.clients.list({}, { offset, limit: PAGE });
    const hit = items.find((c) => c.data.global !== true && aliasesOf(c).includes(realm));
    if (hit) return engine.clients.get(hit.id);
    if (items.length < PAGE) return undefined;
  }
}

export async function wsfedApp(env: Env, engine: Engine, clientId: string | undefined, wtrealm: string | undefined): Promise<CachedClient> {
  if (wtrealm !== undefined && (!wtrealm || wtrealm.length > MAX_PARAM)) throw new ApiError(400, 'The wtrealm parameter is not valid.', 'invalid_request');
  if (clientId !== undefined) {
    const client = await byId(engine, clientId);
    if (!client) throw new ApiError(404, 'Unknown client.', 'invalid_client');
    return client;
  }
  if (!wtrealm) throw new ApiError(400, 'Missing required parameter: wtrealm', 'invalid_request');
  const client = (wtrealm.startsWith('urn:') ? await byId(engine, wtrealm.slice(4)) : undefined) ?? await byAlias(env, engine, wtrealm);
  if (!client) throw new ApiError(404, `No application has the realm "${wtrealm}".`, 'invalid_client');
  return client;
}

/** A realm as node-wsfed writes it into the token: anything that is not already a URL or URN becomes `urn:…`. */
export const asResource = (v: string) => (/^(https?:|urn:)/.test(v) ? v : `urn:${v}`);

/** The token's audience: the realm asked for, else the application's first alias, else `urn:{client_id}`. */
export const audienceOf = (client: CachedClient, wtrealm: string | undefined) =>
  asResource(wtrealm ?? aliasesOf(client)[0] ?? `urn:${client.id}`);
