import { alnum } from '../lib/ids.ts';
import { conflict, notFound } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';
import { listResponse } from './pagination.ts';
import { projector } from './fields.ts';
import { reply, route, type Route } from './router.ts';
import { patchDoc } from './patch-doc.ts';
import { boolFilter, heldByOther, inMemory, loadDoc, unique } from './doc-helpers.ts';

// Postern stores hooks so that tools auditing a tenant see them; it never runs them.
// Their secrets live sealed in the same document (hook-secrets.ts) and never appear here.

const hookJson = (doc: { id: string; data: any }) => ({
  id: doc.id, name: doc.data.name, enabled: doc.data.enabled, script: doc.data.script,
  dependencies: doc.data.dependencies ?? {}, triggerId: doc.data.triggerId,
});
const missing = () => notFound('The hook does not exist.', 'inexistent_hook');
const nameTaken = () => conflict('A hook with the same name already exists', 'hook_conflict');
export const loadHook = (env: Env, id: string) => loadDoc(env.store.hooks, id, missing);

// Auth0 runs one hook per extensibility point: at most one hook per trigger is
// enabled. The table holds the trigger of an enabled hook in a unique column.
const columns = (data: any) => ({ name: data.name, enabled_trigger: data.enabled ? data.triggerId : null });
const uniqueHook = <T>(env: Env, id: string, data: any, write: () => Promise<T>) => unique(write, [
  [heldByOther(env.store.hooks, 'name', data.name, id), () => conflict('A hook with the same name already exists', 'hook_conflict')],
  [heldByOther(env.store.hooks, 'enabled_trigger', data.triggerId, id),
    () => conflict(`Only one active hook allowed for "${data.triggerId}" extensibility point.`, 'hook_conflict')],
]);

export const hookRoutes: Route[] = [
  route('GET', '/hooks', async ({ env, query }) => {
    const enabled = boolFilter(query.enabled);
    return listResponse(query, inMemory(async () => (await env.store.hooks.list()).items
      .filter((d) => (enabled === undefined || d.data.enabled === enabled) && (!query.triggerId || d.data.triggerId === query.triggerId))
      .map(hookJson)),
    { key: 'hooks', project: projector(query) });
  }),
  route('POST', '/hooks', async ({ env, body }) => {
    const id = alnum(16);
    const data = { name: body.name, script: body.script, enabled: body.enabled ?? false, triggerId: body.triggerId, dependencies: body.dependencies ?? {}, secrets: {} };
    await uniqueHook(env, id, data, () => env.store.hooks.insert(id, data, columns(data)));
    return reply(201, hookJson({ id, data }));
  }),
  route('GET', '/hooks/{id}', async ({ env, params, query }) => projector(query)(hookJson(await loadHook(env, params.id)))),
  route('PATCH', '/hooks/{id}', async ({ env, params, body }) => {
    const doc = await loadHook(env, params.id);
    const saved = await uniqueHook(env, doc.id, { ...doc.data, ...body }, () => patchDoc(env.store.hooks, doc.id, () => loadHook(env, doc.id), (cur) => {
      const data = { ...cur.data, ...body };
      return { data, columns: columns(data) };
    }));
    // Auth0 answers this update with 201.
    return reply(201, hookJson(saved));
  }),
  route('DELETE', '/hooks/{id}', async ({ env, params }) => {
    if (!await env.store.hooks.delete(params.id)) throw missing();
  }),
];
