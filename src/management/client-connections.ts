import type { Env } from '../tenant/env.ts';
import { connectionJson } from './connections.ts';
import { projector } from './fields.ts';
import { decodeKeyCursor, encodeKeyCursor, listResponse } from './pagination.ts';
import { route, type Route } from './router.ts';
import { loadClient } from './clients.ts';

// The connections an application may log in with. Auth0 pages this list only
// by checkpoint, so `take` always applies (50 unless asked otherwise).

async function enabledFor(env: Env, clientId: string, strategy: unknown) {
  const strategies = strategy === undefined ? undefined : new Set([strategy].flat().map(String));
  return (await env.store.connections.list()).items
    .filter((d) => (d.data.enabled_clients ?? []).includes(clientId) && (!strategies || strategies.has(d.data.strategy)))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
}

export const clientConnectionRoutes: Route[] = [
  route('GET', '/clients/{id}/connections', async ({ env, params, query }) => {
    const client = await loadClient(env, params.id);
    const all = await enabledFor(env, client.id, query.strategy);
    return listResponse({ ...query, take: query.take ?? 50 }, {
      page: async () => ({ items: [] }),
      async after(cursor, limit) {
        const from = decodeKeyCursor(cursor);
        const rest = from === undefined ? all : all.filter((d) => d.id > from);
        const items = rest.slice(0, limit);
        return { items: items.map((d) => connectionJson(env, d)), next: rest.length > limit ? encodeKeyCursor(items[items.length - 1].id) : undefined };
      },
    }, { key: 'connections', project: projector(query) });
  }),
];
