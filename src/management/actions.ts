import { randomUUID } from 'node:crypto';
import { badRequest, conflict, notFound } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';
import { listResponse } from './pagination.ts';
import { reply, route, type Route } from './router.ts';
import { patchDoc } from './patch-doc.ts';
import { boolFilter, heldByOther, inMemory, loadDoc, sealInto, unique } from './doc-helpers.ts';
import { boundTriggers, checkTriggers, RUNTIMES, unbindEverywhere } from './action-triggers.ts';
import { resolveModuleRefs, type ModuleRef } from './action-module-docs.ts';
import { deployedVersion } from '../actions/runtime.ts';
import { executionJson } from '../actions/executions.ts';

// Actions are stored here; src/actions runs the deployed versions bound to a trigger. Nothing
// is built (only Node's built-in modules are available), so an action is `built` at once and a
// deploy is finished when it answers. The versions live in
// the action's own document, so a deploy numbers its version in the same conditional write.

export interface ActionDoc { id: string; data: any; created_at: string; updated_at: string }

export const missingAction = () => notFound('That action does not exist.', 'inexistent_action');
export const loadAction = (env: Env, id: string): Promise<ActionDoc> => loadDoc(env.store.actions, id, missingAction);
const nameTaken = () => conflict('An action with the same name already exists.', 'action_conflict');
const DEFAULT_RUNTIME = 'node22';

/** What a version freezes: everything that would run. Secrets stay sealed in the copy. */
export const snapshot = (d: any) => ({
  code: d.code, dependencies: d.dependencies, runtime: d.runtime, supported_triggers: d.supported_triggers,
  secrets: d.secrets, secret_times: d.secret_times, ...withModules(d),
});
/** The module versions an action uses (actions modules), shown only when there are some. */
const withModules = (d: any): { modules?: ModuleRef[] } => (d.modules?.length ? { modules: d.modules } : {});
const same = (a: any, b: any) => JSON.stringify(snapshot(a)) === JSON.stringify(snapshot(b));
/** Names and times only: a secret's value is never answered. */
export const secretList = (d: any) => Object.keys(d.secrets ?? {}).map((name) => ({ name, updated_at: d.secret_times[name] }));
export { deployedVersion };

export function versionJson(action: ActionDoc, v: any, withAction = true) {
  const a = action.data;
  return {
    id: v.id, action_id: action.id, code: v.code, dependencies: v.dependencies, deployed: v.id === a.deployed_version_id,
    number: v.number, secrets: secretList(v), status: 'built', runtime: v.runtime, supported_triggers: v.supported_triggers,
    built_at: v.created_at, created_at: v.created_at, updated_at: v.created_at, ...withModules(v),
    ...(withAction ? { action: { id: action.id, name: a.name, supported_triggers: a.supported_triggers, all_changes_deployed: allDeployed(a), created_at: action.created_at, updated_at: action.updated_at } } : {}),
  };
}
// Derived rather than stored: the draft is deployed exactly when it matches the deployed version.
const allDeployed = (d: any) => !!deployedVersion(d) && same(d, deployedVersion(d));

export function actionJson(doc: ActionDoc) {
  const d = doc.data;
  const deployed = deployedVersion(d);
  return {
    id: doc.id, name: d.name, supported_triggers: d.supported_triggers, created_at: doc.created_at, updated_at: doc.updated_at,
    code: d.code, dependencies: d.dependencies, runtime: d.runtime, status: 'built', secrets: secretList(d),
    all_changes_deployed: allDeployed(d), ...withModules(d), ...(deployed ? { deployed_version: versionJson(doc, deployed, false) } : {}),
  };
}

/**
 * Auth0's page envelope for actions, versions, bindings and modules; the paging
 * rules are listResponse's. `render` turns only the page's items into answers.
 */
export async function paged<T>(query: Record<string, any>, key: string, all: () => Promise<T[]>, render?: (items: T[]) => Promise<unknown[]>) {
  const r: any = await listResponse({ page: query.page, per_page: query.per_page, include_totals: 'true' }, inMemory(all), { key, defaultPerPage: 20 });
  return { [key]: render ? await render(r[key]) : r[key], total: r.total, page: Number(query.page ?? 0), per_page: r.limit };
}

/**
 * The body's list replaces the secrets (as Auth0's PATCH does). An entry without
 * a value keeps the stored one, so a client that only knows the names loses nothing.
 */
export function sealSecrets(env: Env, cur: any, list: any[]) {
  const values = new Map<string, string>();
  const kept = new Map<string, string>();
  for (const s of list) {
    if (typeof s?.name !== 'string' || !s.name.trim()) throw badRequest("Payload validation error: 'A secret must have a name' on property secrets.");
    if (values.has(s.name) || kept.has(s.name)) throw badRequest(`Payload validation error: 'Duplicate secret name: ${s.name}' on property secrets.`);
    if (typeof s.value === 'string') values.set(s.name, s.value);
    else if (s.value === undefined && Object.hasOwn(cur?.secrets ?? {}, s.name)) kept.set(s.name, cur.secrets[s.name]);
    else throw badRequest(`Payload validation error: 'The secret ${s.name} must have a string value' on property secrets.`);
  }
  const now = new Date().toISOString();
  return {
    secrets: sealInto(env.box, Object.fromEntries(kept), Object.fromEntries(values), 'upsert'),
    secret_times: Object.fromEntries(list.map((s) => [s.name, values.has(s.name) ? now : cur.secret_times[s.name]])),
  };
}

/**
 * The next draft: the body over the current one, checked against the trigger
 * catalogue. `modules` is the body's module list once resolved (draftModules).
 */
function draft(env: Env, body: any, cur: any = {}, modules?: ModuleRef[]) {
  if (body.name !== undefined && !body.name.trim()) throw badRequest("Payload validation error: 'name must not be empty' on property name.");
  const next = {
    name: body.name ?? cur.name, code: body.code ?? cur.code ?? '', dependencies: body.dependencies ?? cur.dependencies ?? [],
    modules: modules ?? cur.modules ?? [],
    runtime: body.runtime ?? cur.runtime ?? DEFAULT_RUNTIME, supported_triggers: body.supported_triggers ?? cur.supported_triggers,
    ...(body.secrets !== undefined ? sealSecrets(env, cur, body.secrets) : { secrets: cur.secrets ?? {}, secret_times: cur.secret_times ?? {} }),
  };
  checkTriggers(next.supported_triggers);
  if (!RUNTIMES.includes(next.runtime)) throw badRequest(`Payload validation error: 'runtime must be one of ${RUNTIMES.join(', ')}' on property runtime.`);
  return next;
}
/** The body's module references, resolved against the tenant's modules before the write. */
const draftModules = (env: Env, body: any) => (body.modules === undefined ? undefined : resolveModuleRefs(env, body.modules));

/**
 * A new deployed version made from `source` (the draft, or an older version for
 * a rollback), numbered after the highest one; `updateDraft` resets the draft to it.
 */
export async function deploy(env: Env, id: string, source: (data: any) => any, updateDraft: boolean) {
  const doc = await loadAction(env, id);
  let made: any;
  const saved = await patchDoc(env.store.actions, doc.id, () => loadAction(env, doc.id), (cur) => {
    const d = cur.data;
    made = { id: randomUUID(), number: 1 + Math.max(0, ...d.versions.map((v: any) => v.number)), created_at: new Date().toISOString(), ...snapshot(source(d)) };
    return { data: { ...d, ...(updateDraft ? snapshot(made) : {}), versions: [...d.versions, made], deployed_version_id: made.id } };
  });
  env.invalidate('actions');
  return versionJson(saved, made);
}

/**
 * Runs the draft once with the given event, for its first trigger, and answers
 * what it did; nothing it sets (metadata, claims) is applied.
 */
async function testAction(env: Env, doc: ActionDoc, payload: unknown) {
  if (!env.actions.enabled) throw badRequest('Actions do not run on this server (it was started with --actions off).', 'actions_disabled');
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw badRequest("Payload validation error: 'Expected type object' on property payload.");
  const trigger = doc.data.supported_triggers?.[0]?.id ?? 'post-login';
  const started = Date.now();
  let result: any;
  let effects: any = {};
  try {
    const out = await env.actions.run(trigger, [env.actions.sandboxAction(doc.id, doc.data.name, doc.data)], payload);
    [result] = out.results;
    effects = out.effects;
  } catch (e) {
    result = { logs: [], error: { id: 'actions_execution_error', msg: (e as Error).message } };
  }
  const { warnings, ...response } = effects;
  return {
    payload: {
      action_name: doc.data.name, logs: [...(result.logs ?? []), ...(warnings ?? [])].join('\n'),
      stats: { action_duration_ms: Date.now() - started, boot_duration_ms: 0, network_duration_ms: 0 },
      ...(result.error ? { error: result.error } : {}), response,
    },
  };
}

export const actionRoutes: Route[] = [
  route('GET', '/actions/actions', async ({ env, query }) => {
    const deployed = boolFilter(query.deployed);
    // Postern has no marketplace integrations: every action is a custom one.
    if (boolFilter(query.installed) === true) return paged(query, 'actions', async () => []);
    return paged(query, 'actions', async () => (await env.store.actions.list()).items.filter((doc) => (
      (!query.triggerId || doc.data.supported_triggers.some((t: any) => t.id === query.triggerId))
      && (query.actionName === undefined || doc.data.name === query.actionName)
      && (deployed === undefined || !!deployedVersion(doc.data) === deployed))).map(actionJson));
  }),
  route('POST', '/actions/actions', async ({ env, body }) => {
    const id = randomUUID();
    const data = { ...draft(env, body, {}, await draftModules(env, body)), versions: [], deployed_version_id: null };
    await unique(() => env.store.actions.insert(id, data, { name: data.name }), [[heldByOther(env.store.actions, 'name', data.name, id), nameTaken]]);
    if (body.deploy === true) await deploy(env, id, (d) => d, true);
    return reply(201, actionJson(await loadAction(env, id)));
  }),
  route('GET', '/actions/actions/{id}', async ({ env, params }) => actionJson(await loadAction(env, params.id))),
  route('PATCH', '/actions/actions/{id}', async ({ env, params, body }) => {
    const doc = await loadAction(env, params.id);
    const name = body.name ?? doc.data.name;
    const modules = await draftModules(env, body);
    return actionJson(await unique(() => patchDoc(env.store.actions, doc.id, () => loadAction(env, doc.id), (cur) => {
      const data = { ...cur.data, ...draft(env, body, cur.data, modules) };
      return { data, columns: { name: data.name } };
    }), [[heldByOther(env.store.actions, 'name', name, doc.id), nameTaken]]));
  }),
  route('DELETE', '/actions/actions/{id}', async ({ env, params, query }) => {
    await loadAction(env, params.id);
    if (boolFilter(query.force)) await unbindEverywhere(env, params.id);
    else if ((await boundTriggers(env, params.id)).length) throw conflict('Unable to delete an action bound to a trigger.', 'action_bound');
    if (!await env.store.actions.delete(params.id)) throw missingAction();
    env.invalidate('actions');
  }),
  route('POST', '/actions/actions/{id}/deploy', async ({ env, params }) => reply(202, await deploy(env, params.id, (d) => d, true))),
  route('POST', '/actions/actions/{id}/test', async ({ env, params, body }) => testAction(env, await loadAction(env, params.id), body?.payload)),
  route('GET', '/actions/executions/{id}', async ({ env, params }) => {
    const found = await env.actions.executions.get(params.id);
    if (!found) throw notFound('That execution does not exist.', 'inexistent_execution');
    return executionJson(found);
  }),
];
