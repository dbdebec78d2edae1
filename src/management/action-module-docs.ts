import { createHash, randomUUID } from 'node:crypto';
import { ApiError, badRequest, notFound } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';

// Where actions modules live. Auth0 keeps a tenant's modules few, so one tenant
// document holds them all, each with its draft and the list of its published
// versions; that document is written by compare-and-swap, so names stay unique
// and version numbers never repeat. A published version's frozen code is a
// document of its own, written once, so the list does not grow with history.

export interface ModuleDraft { code: string; dependencies: { name: string; version: string }[]; secrets: Record<string, string>; secret_times: Record<string, string> }
export interface VersionMeta { id: string; number: number; created_at: string; digest: string }
export interface ModuleRec extends ModuleDraft { id: string; name: string; created_at: string; updated_at: string; versions: VersionMeta[] }
export interface VersionDoc extends ModuleDraft { id: string; module_id: string; number: number; created_at: string }
/** How an action names the module version it uses (Auth0's ActionModuleReference). */
export interface ModuleRef { module_id: string; module_name: string; module_version_id: string; module_version_number: number }

const DOC = 'actions:modules';
const versionDoc = (id: string) => `actions:module-versions:${id}`;
export const MAX_MODULES = 50;
export const MAX_VERSIONS = 50;

export const missingModule = () => notFound('That action module does not exist.', 'inexistent_action_module');
export const missingModuleVersion = () => notFound('That action module version does not exist.', 'inexistent_action_module_version');
export const tooMany = (what: string, max: number) => new ApiError(400, `The limit of ${max} ${what} has been reached.`, 'too_many_entities');

/** What a version freezes, in a fixed key order so that equal drafts digest equally. */
export const draftOf = (m: ModuleDraft): ModuleDraft =>
  ({ code: m.code, dependencies: m.dependencies, secrets: m.secrets, secret_times: m.secret_times });
export const digest = (m: ModuleDraft) => createHash('sha256').update(JSON.stringify(draftOf(m))).digest('base64url');
export const latestMeta = (m: ModuleRec): VersionMeta | undefined =>
  m.versions.reduce<VersionMeta | undefined>((a, v) => (!a || v.number > a.number ? v : a), undefined);

export async function listModules(env: Env): Promise<ModuleRec[]> {
  return (await env.store.getTenantDoc<{ modules: ModuleRec[] }>(DOC))?.modules ?? [];
}
export async function loadModule(env: Env, id: string): Promise<ModuleRec> {
  return (await listModules(env)).find((m) => m.id === id) ?? (() => { throw missingModule(); })();
}
export async function loadVersion(env: Env, m: ModuleRec, versionId: string): Promise<VersionDoc> {
  if (!m.versions.some((v) => v.id === versionId)) throw missingModuleVersion();
  return (await env.store.getTenantDoc<VersionDoc>(versionDoc(versionId))) ?? (() => { throw missingModuleVersion(); })();
}

/** Read-modify-write of the whole collection; `change` may run again on a fresher copy. */
export async function changeModules(env: Env, change: (modules: ModuleRec[]) => ModuleRec[] | Promise<ModuleRec[]>) {
  const saved = await env.store.modifyTenantDoc<{ modules: ModuleRec[] }>(DOC, async (stored) => ({ modules: await change(stored?.modules ?? []) }));
  return saved.modules;
}
/** Read-modify-write of one module; a 404 when it is gone. */
export async function changeModule(env: Env, id: string, change: (m: ModuleRec) => ModuleRec | Promise<ModuleRec>): Promise<ModuleRec> {
  const modules = await changeModules(env, async (all) => {
    const i = all.findIndex((m) => m.id === id);
    if (i < 0) throw missingModule();
    const next = await change(all[i]);
    return all.map((m, j) => (j === i ? next : m));
  });
  return modules.find((m) => m.id === id)!;
}

/**
 * Publishes the module's draft as its next version. The frozen copy is written
 * before the list names it, so a reader never finds a version without its code;
 * copies made by attempts that lost the compare-and-swap are removed again.
 */
export async function publish(env: Env, id: string): Promise<{ module: ModuleRec; version: VersionDoc }> {
  const written: string[] = [];
  let made: VersionDoc | undefined;
  let landed: string | undefined;
  try {
    const module = await changeModule(env, id, async (m) => {
      if (m.versions.length >= MAX_VERSIONS) throw tooMany('versions of an action module', MAX_VERSIONS);
      const now = new Date().toISOString();
      made = { id: randomUUID(), module_id: m.id, number: 1 + Math.max(0, ...m.versions.map((v) => v.number)), created_at: now, ...draftOf(m) };
      written.push(made.id);
      await env.store.putTenantDoc(versionDoc(made.id), made);
      return { ...m, versions: [...m.versions, { id: made.id, number: made.number, created_at: now, digest: digest(m) }] };
    });
    landed = made!.id; // the copy of the attempt that landed; any earlier ones lost
    return { module, version: made! };
  } finally {
    for (const w of written) if (w !== landed) await env.store.deleteTenantDoc(versionDoc(w));
  }
}

/** Removes a module and the frozen copies of its versions. */
export async function removeModule(env: Env, id: string, guard: (m: ModuleRec) => Promise<void>) {
  let removed: ModuleRec | undefined;
  await changeModules(env, async (all) => {
    removed = all.find((m) => m.id === id);
    if (!removed) throw missingModule();
    await guard(removed);
    return all.filter((m) => m.id !== id);
  });
  for (const v of removed!.versions) await env.store.deleteTenantDoc(versionDoc(v.id));
}

/**
 * The `modules` of an action's body, checked against the tenant's modules: each
 * names an existing module once, and a published version of it (by id, by
 * number, or the latest one when neither is given).
 */
export async function resolveModuleRefs(env: Env, refs: any[]): Promise<ModuleRef[]> {
  const bad = (why: string) => badRequest(`Payload validation error: '${why}' on property modules.`);
  const modules = refs.length ? await listModules(env) : [];
  const seen = new Set<string>();
  return refs.map((r) => {
    if (typeof r?.module_id !== 'string' || !r.module_id) throw bad('A module reference must have a module_id');
    if (seen.has(r.module_id)) throw bad(`Duplicate module: ${r.module_id}`);
    seen.add(r.module_id);
    const m = modules.find((x) => x.id === r.module_id);
    if (!m) throw bad(`The module ${r.module_id} does not exist`);
    const v = r.module_version_id !== undefined ? m.versions.find((x) => x.id === r.module_version_id)
      : r.module_version_number !== undefined ? m.versions.find((x) => x.number === r.module_version_number)
        : latestMeta(m);
    if (!v) throw bad(r.module_version_id !== undefined || r.module_version_number !== undefined
      ? `The module ${m.name} has no such version` : `The module ${m.name} has no published version`);
    return { module_id: m.id, module_name: m.name, module_version_id: v.id, module_version_number: v.number };
  });
}
