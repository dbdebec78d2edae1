import { randomUUID } from 'node:crypto';
import { badRequest, conflict } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';
import {
  changeModule, changeModules, draftOf, digest, latestMeta, listModules, loadModule, loadVersion, MAX_MODULES, publish, removeModule,
  tooMany, type ModuleRec, type ModuleRef, type VersionDoc,
} from './action-module-docs.ts';
import { deployedVersion, paged, sealSecrets, secretList } from './actions.ts';
import { reply, route, type Route } from './router.ts';

// Actions modules (early access): code shared by actions. A module has a draft
// and published versions; an action uses one published version of a module, and
// "the actions using a module" are those whose deployed version names it.
// Like actions, Postern stores modules for tools that audit a tenant; it never runs them.

const nameTaken = () => conflict('An action module with the same name already exists.', 'action_module_conflict');
const MAX_SECRETS = 30;

/** The module version a page or a reference shows: its frozen draft, secrets by name only. */
export const versionJson = (v: VersionDoc) => ({
  id: v.id, module_id: v.module_id, version_number: v.number, code: v.code, secrets: secretList(v), dependencies: v.dependencies, created_at: v.created_at,
});

/** The same, as a module's `latest_version` shows it (Auth0's ActionModuleVersionReference). */
const versionRef = (v: VersionDoc) => { const { module_id: _, ...ref } = versionJson(v); return ref; };

/** Per module id, the actions whose deployed version uses it (Auth0's ActionModuleAction). */
async function usage(env: Env) {
  const out = new Map<string, object[]>();
  for (const doc of (await env.store.actions.list()).items) {
    const deployed = deployedVersion(doc.data);
    for (const ref of (deployed?.modules ?? []) as ModuleRef[]) {
      out.set(ref.module_id, [...(out.get(ref.module_id) ?? []), {
        action_id: doc.id, action_name: doc.data.name, module_version_id: ref.module_version_id,
        module_version_number: ref.module_version_number, supported_triggers: deployed.supported_triggers,
      }]);
    }
  }
  return out;
}

/** The list item; `latest` adds the latest version itself, as the single-module answers do. */
function moduleJson(m: ModuleRec, used: Map<string, object[]>, latest?: VersionDoc) {
  const meta = latestMeta(m);
  return {
    id: m.id, name: m.name, code: m.code, dependencies: m.dependencies, secrets: secretList(m),
    actions_using_module_total: used.get(m.id)?.length ?? 0, all_changes_published: !!meta && meta.digest === digest(m),
    ...(meta ? { latest_version_number: meta.number } : {}), created_at: m.created_at, updated_at: m.updated_at,
    ...(latest ? { latest_version: versionRef(latest) } : {}),
  };
}
async function fullJson(env: Env, m: ModuleRec) {
  const meta = latestMeta(m);
  return moduleJson(m, await usage(env), meta ? await loadVersion(env, m, meta.id) : undefined);
}

/** The body's secrets, sealed; the list replaces the stored ones. */
function secrets(env: Env, cur: ModuleRec | undefined, list: any[]) {
  if (list.length > MAX_SECRETS) throw badRequest(`Payload validation error: 'An action module may have at most ${MAX_SECRETS} secrets' on property secrets.`);
  return sealSecrets(env, cur ?? { secrets: {}, secret_times: {} }, list);
}

/** Whether an action's draft or deployed version still names the module. */
async function inUse(env: Env, moduleId: string) {
  const names = (refs?: ModuleRef[]) => (refs ?? []).some((r) => r.module_id === moduleId);
  return (await env.store.actions.list()).items.some((d) => names(d.data.modules) || names(deployedVersion(d.data)?.modules));
}

export const actionModuleRoutes: Route[] = [
  route('GET', '/actions/modules', async ({ env, query }) => {
    const used = await usage(env);
    return paged(query, 'modules', () => listModules(env), async (ms) => ms.map((m) => moduleJson(m, used)));
  }),
  route('POST', '/actions/modules', async ({ env, body }) => {
    if (!body.name.trim()) throw badRequest("Payload validation error: 'name must not be empty' on property name.");
    const now = new Date().toISOString();
    const rec: ModuleRec = {
      id: randomUUID(), name: body.name, created_at: now, updated_at: now, code: body.code, dependencies: body.dependencies ?? [],
      ...secrets(env, undefined, body.secrets ?? []), versions: [],
    };
    await changeModules(env, (all) => {
      if (all.some((m) => m.name === rec.name)) throw nameTaken();
      if (all.length >= MAX_MODULES) throw tooMany('action modules', MAX_MODULES);
      return [...all, rec];
    });
    const saved = body.publish === true ? (await publish(env, rec.id)).module : rec;
    return reply(201, await fullJson(env, saved));
  }),
  route('GET', '/actions/modules/{id}', async ({ env, params }) => fullJson(env, await loadModule(env, params.id))),
  route('PATCH', '/actions/modules/{id}', async ({ env, params, body }) => {
    const saved = await changeModule(env, params.id, (cur) => ({
      ...cur, code: body.code ?? cur.code, dependencies: body.dependencies ?? cur.dependencies,
      ...(body.secrets !== undefined ? secrets(env, cur, body.secrets) : {}), updated_at: new Date().toISOString(),
    }));
    return fullJson(env, saved);
  }),
  route('DELETE', '/actions/modules/{id}', async ({ env, params }) => {
    await removeModule(env, params.id, async (m) => {
      if (await inUse(env, m.id)) throw conflict('The action module is used by actions and cannot be deleted.', 'action_module_in_use');
    });
  }),
  route('GET', '/actions/modules/{id}/actions', async ({ env, params, query }) => {
    const m = await loadModule(env, params.id);
    return paged(query, 'actions', async () => (await usage(env)).get(m.id) ?? []);
  }),
  // The version's code, dependencies and secrets become the draft; no version is made.
  route('POST', '/actions/modules/{id}/rollback', async ({ env, params, body }) => {
    const v = await loadVersion(env, await loadModule(env, params.id), body.module_version_id);
    return fullJson(env, await changeModule(env, params.id, (cur) => ({ ...cur, ...draftOf(v), updated_at: new Date().toISOString() })));
  }),
];
