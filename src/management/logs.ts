import { invalidQuery, notFound } from '../lib/errors.ts';
import { getLog, listLogs, type LogQuery } from '../store/log-store.ts';
import { compileLogSearch } from '../store/log-search.ts';
import type { Env } from '../tenant/env.ts';
import { loadUser } from '../tenant/users.ts';
import { projector } from './fields.ts';
import { listResponse } from './pagination.ts';
import { route, type Route } from './router.ts';

// The tenant log. Offset paging goes through the one pagination helper;
// checkpoint paging is Auth0's own for logs: a bare array, oldest first after
// `from` (a log_id), or the newest `take` events when there is no `from`.

/** Auth0 reads offset pages of logs only within the first 1000 events. */
const WINDOW = 1000;

function order(sort: unknown): LogQuery['order'] {
  if (sort === undefined || sort === '') return 'desc';
  const m = /^(date|log_id):(1|-1)$/.exec(String(sort));
  if (!m) throw invalidQuery(`Invalid sort: "${String(sort)}" must be date:1 or date:-1`);
  return m[2] === '1' ? 'asc' : 'desc';
}

function search(env: Env, query: Record<string, any>) {
  const q = query.q ?? query.search;
  if (q === undefined || q === '') return undefined;
  if (typeof q !== 'string') throw invalidQuery("Query validation error: 'q' must be a string.");
  return compileLogSearch(q, env.store.backend);
}

async function list(env: Env, query: Record<string, any>, base: Omit<LogQuery, 'order'>) {
  await env.events.flush(); // what this process recorded is readable at once
  const project = projector(query);
  if (query.from !== undefined || query.take !== undefined) {
    const take = query.take === undefined ? 50 : Number(query.take);
    if (!Number.isInteger(take) || take < 1 || take > 100) throw invalidQuery("Query validation error: 'take' must be an integer between 1 and 100.");
    const from = query.from === undefined || query.from === '' ? undefined : String(query.from);
    const r = await listLogs(env.store, { ...base, order: from ? 'asc' : 'desc' }, { offset: 0, limit: take }, { after: from });
    return r.items.map(project);
  }
  const q = { ...base, order: order(query.sort) };
  return listResponse(query, { page: (page, total) => listLogs(env.store, q, page, { total }) }, { key: 'logs', window: WINDOW, project });
}

export const logRoutes: Route[] = [
  route('GET', '/logs', ({ env, query }) => list(env, query, { where: search(env, query) })),
  route('GET', '/logs/{id}', async ({ env, params }) => {
    await env.events.flush();
    const row = await getLog(env.store, params.id);
    if (!row) throw notFound('log not found', 'inexistent_log');
    return JSON.parse(row.data);
  }),
  route('GET', '/users/{id}/logs', async ({ env, params, query }) => {
    await loadUser(env, params.id);
    return list(env, { ...query, from: undefined, take: undefined }, { userId: params.id });
  }),
];
