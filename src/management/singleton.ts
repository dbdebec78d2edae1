import type { Env } from '../tenant/env.ts';
import { route, type Handler, type Route } from './router.ts';
import { operations } from './spec.ts';

// Tenant configuration that Auth0 keeps as one document per tenant (attack
// protection, MFA policies, prompts, branding...): GET answers Auth0's defaults
// until something is written, PATCH merges, PUT replaces. Every write is a
// conditional read-modify-write, so concurrent PATCHes of different keys all land.

type Doc = Record<string, any> | unknown[];
type Params = Record<string, string>;

export interface Singleton<T extends Doc = Record<string, any>> {
  /** The spec path; each GET, PATCH and PUT that the op table lists for it becomes a route. */
  path: string;
  /** The tenant document; a function of the path parameters for families such as custom text. */
  doc: string | ((params: Params) => string);
  /** What Auth0 answers before anything was written. */
  defaults: T;
  /** Keys whose objects PATCH merges into, all the way down, rather than replaces (such as `stage`). */
  merge?: string[];
  /** Write-only fields (at any depth): sealed at rest and never answered, as Auth0 never shows them back. */
  secrets?: string[];
  /** Rules beyond the schema, on the document about to be stored; throws a 4xx. */
  check?: (doc: T) => void;
}

const isObject = (v: unknown): v is Record<string, any> => !!v && typeof v === 'object' && !Array.isArray(v);

/** Stored over the defaults, so keys a PATCH reset (null) or never set read as Auth0's default. */
export function withDefaults<T extends Doc>(stored: T | undefined, defaults: T): T {
  if (stored === undefined) return structuredClone(defaults);
  return isObject(defaults) && isObject(stored) ? { ...structuredClone(defaults), ...stored } : stored;
}

/** PATCH: values replace, null resets to the default, and objects under `deep` keys merge recursively. */
function merged(base: Record<string, any>, patch: Record<string, any>, deep: (key: string) => boolean): Record<string, any> {
  // Built from entries so a body key such as `__proto__` stays a plain key.
  const out = new Map(Object.entries(base));
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) out.delete(k);
    else out.set(k, deep(k) && isObject(v) && isObject(out.get(k)) ? merged(out.get(k), v, () => true) : v);
  }
  return Object.fromEntries(out);
}

/** Applies `f` to the write-only fields at any depth, or drops them when `f` gives undefined. */
function mapSecrets(doc: any, names: string[], f: (v: string) => string | undefined): any {
  if (!names.length || !isObject(doc)) return doc;
  return Object.fromEntries(Object.entries(doc).flatMap(([k, v]): [string, any][] => {
    if (!names.includes(k) || typeof v !== 'string') return [[k, mapSecrets(v, names, f)]];
    const out = f(v);
    return out === undefined ? [] : [[k, out]];
  }));
}

const docName = (s: Singleton<any>, params: Params) => (typeof s.doc === 'string' ? s.doc : s.doc(params));

export async function readSingleton<T extends Doc>(env: Env, s: Singleton<T>, params: Params = {}): Promise<T> {
  return withDefaults(await env.store.getTenantDoc<T>(docName(s, params)), s.defaults);
}

/** The conditional write: `change` runs on the freshest document (defaults filled in), again if another writer won. */
export async function writeSingleton<T extends Doc>(env: Env, s: Singleton<T>, params: Params, change: (current: T) => T): Promise<T> {
  const saved = await env.store.modifyTenantDoc<T>(docName(s, params), (stored) => {
    const next = change(withDefaults(stored, s.defaults));
    s.check?.(next);
    return next;
  });
  return withDefaults(saved, s.defaults);
}

const sealed = (s: Singleton<any>, env: Env, body: any) => mapSecrets(body, s.secrets ?? [], (v) => env.box.seal(v));
const shown = (s: Singleton<any>, doc: Doc) => mapSecrets(doc, s.secrets ?? [], () => undefined);

/** A PATCH of one document, as its route does it; answers the document as GET shows it. */
export async function patchSingleton<T extends Record<string, any>>(env: Env, s: Singleton<T>, params: Params, body: Record<string, any>): Promise<T> {
  const patch = sealed(s, env, body);
  const deep = (k: string) => (s.merge ?? []).includes(k);
  return shown(s, await writeSingleton(env, s, params, (cur) => merged(cur, patch, deep) as T));
}

const handlers: Record<string, (s: Singleton<any>) => Handler> = {
  GET: (s) => async ({ env, params }) => shown(s, await readSingleton(env, s, params)),
  PATCH: (s) => async ({ env, params, body }) => patchSingleton(env, s, params, body),
  PUT: (s) => async ({ env, params, body }) => {
    const doc = sealed(s, env, body);
    return shown(s, await writeSingleton(env, s, params, () => doc));
  },
};

/** The routes of one singleton: whichever of GET, PATCH and PUT Auth0 has for its path. */
export function singleton<T extends Doc>(s: Singleton<T>): Route[] {
  const ops = operations.filter((o) => o.path === s.path && handlers[o.method]);
  if (!ops.length) throw new Error(`no GET, PATCH or PUT for ${s.path} in the op table`);
  return ops.map((o) => route(o.method, o.path, handlers[o.method](s)));
}
