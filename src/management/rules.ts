import { alnum } from '../lib/ids.ts';
import { ApiError, conflict, notFound } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';
import { listResponse } from './pagination.ts';
import { projector } from './fields.ts';
import { reply, route, type Route } from './router.ts';
import { patchDoc } from './patch-doc.ts';
import { boolFilter, heldByOther, inMemory, loadDoc, unique } from './doc-helpers.ts';

// Postern stores rules so that tools auditing a tenant see them; it never runs them.

const ruleJson = (doc: { id: string; data: any }) => ({
  id: doc.id, name: doc.data.name, enabled: doc.data.enabled, script: doc.data.script, order: doc.data.order, stage: doc.data.stage,
});
const missing = () => notFound('The rule does not exist.', 'inexistent_rule');
const load = (env: Env, id: string) => loadDoc(env.store.rules, id, missing);

/** Rules run in `order`, so Auth0 lets no two rules share a name or an order (unique columns). */
const uniqueRule = <T>(env: Env, id: string, data: { name: string; order: number }, write: () => Promise<T>) => unique(write, [
  [heldByOther(env.store.rules, 'name', data.name, id), () => conflict('A rule with the same name already exists', 'rule_conflict')],
  [heldByOther(env.store.rules, 'ord', data.order, id), () => conflict('A rule with the same order already exists', 'rule_conflict')],
]);
const byOrder = (a: { id: string; data: any }, b: { id: string; data: any }) => a.data.order - b.data.order || (a.id < b.id ? -1 : 1);
const nextOrder = async (env: Env) => 1 + Math.max(0, ...(await env.store.rules.list()).items.map((d) => Number(d.data.order)));

export const ruleRoutes: Route[] = [
  route('GET', '/rules', async ({ env, query }) => {
    const enabled = boolFilter(query.enabled);
    return listResponse(query, inMemory(async () => (await env.store.rules.list()).items
      .filter((d) => enabled === undefined || d.data.enabled === enabled).sort(byOrder).map(ruleJson)),
    { key: 'rules', project: projector(query) });
  }),
  route('POST', '/rules', async ({ env, body }) => {
    const id = `rul_${alnum(16)}`;
    // Without an order the rule goes last; a rule created meanwhile may take that place, so try the next.
    for (let attempt = 0; ; attempt++) {
      const data = { name: body.name, script: body.script, enabled: body.enabled ?? true, order: body.order ?? await nextOrder(env), stage: 'login_success' };
      try {
        await uniqueRule(env, id, data, () => env.store.rules.insert(id, data, { name: data.name, ord: data.order }));
        return reply(201, ruleJson({ id, data }));
      } catch (e) {
        if (body.order !== undefined || attempt >= 10 || !(e instanceof ApiError) || !/same order/.test(e.message)) throw e;
      }
    }
  }),
  route('GET', '/rules/{id}', async ({ env, params, query }) => projector(query)(ruleJson(await load(env, params.id)))),
  route('PATCH', '/rules/{id}', async ({ env, params, body }) => {
    const doc = await load(env, params.id);
    const data = { ...doc.data, ...body };
    return ruleJson(await uniqueRule(env, doc.id, data, () => patchDoc(env.store.rules, doc.id, () => load(env, doc.id), (cur) => {
      const next = { ...cur.data, ...body };
      return { data: next, columns: { name: next.name, ord: next.order } };
    })));
  }),
  route('DELETE', '/rules/{id}', async ({ env, params }) => {
    if (!await env.store.rules.delete(params.id)) throw missing();
  }),
];
