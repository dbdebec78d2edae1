import { alnum } from '../lib/ids.ts';
import type { ApiError } from '../lib/errors.ts';
import type { Doc, DocRepo } from '../store/store.ts';
import type { Env } from '../tenant/env.ts';
import { listResponse } from './pagination.ts';
import { reply, route, type Route } from './router.ts';
import { patchDoc } from './patch-doc.ts';
import { loadDoc } from './doc-helpers.ts';

// The CRUD shape that forms, flows and self-service profiles share: the request
// body is the document, `name` is also a (non-unique) column, lists page in the
// database oldest first, and a PATCH replaces top-level keys (null removes one).

export type StoredDoc = Doc<Record<string, any>>;

export interface DocumentResource {
  repo: (env: Env) => DocRepo<any>;
  /** The collection's spec path, e.g. `/forms`; the item routes are `${path}/{id}`. */
  path: string;
  /** Auth0's id shape: the prefix and 22 random characters (`ap_…`, `af_…`, `ssp_…`). */
  idPrefix: string;
  /** The array's key in a paged answer (`include_totals=true`). */
  key: string;
  missing: () => ApiError;
  /** One resource as GET /{id} answers it. */
  show: (doc: StoredDoc) => Record<string, unknown>;
  /** One resource as the list answers it, when Auth0 lists a summary only. */
  summary?: (doc: StoredDoc) => Record<string, unknown>;
}

export const newDocumentId = (prefix: string) => `${prefix}${alnum(22)}`;

/** Each key of `patch` replaces the stored one, null removes it. Built from entries so `__proto__` stays a plain key. */
export function replaceKeys(base: Record<string, any>, patch: Record<string, any>): Record<string, any> {
  const out = new Map(Object.entries(base));
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) out.delete(k);
    else out.set(k, v);
  }
  return Object.fromEntries(out);
}

export const loadDocument = (r: DocumentResource, env: Env, id: string) => loadDoc(r.repo(env), id, r.missing);

/** GET and POST on the collection, GET, PATCH and DELETE on one item. */
export function documentResource(r: DocumentResource): Route[] {
  const summary = r.summary ?? r.show;
  return [
    route('GET', r.path, async ({ env, query }) => listResponse(query, {
      async page(page, withTotal) {
        const { items, total } = await r.repo(env).list({}, page, { total: withTotal });
        return { items: items.map(summary), total };
      },
    }, { key: r.key })),
    route('POST', r.path, async ({ env, body }) => {
      const data = replaceKeys({}, body);
      return reply(201, r.show(await r.repo(env).insert(newDocumentId(r.idPrefix), data, { name: data.name })));
    }),
    route('GET', `${r.path}/{id}`, async ({ env, params }) => r.show(await loadDocument(r, env, params.id))),
    route('PATCH', `${r.path}/{id}`, async ({ env, params, body }) => {
      const doc = await loadDocument(r, env, params.id);
      return r.show(await patchDoc(r.repo(env), doc.id, () => loadDocument(r, env, doc.id), (cur) => {
        const data = replaceKeys(cur.data, body);
        return { data, columns: { name: data.name } };
      }));
    }),
    route('DELETE', `${r.path}/{id}`, async ({ env, params }) => {
      if (!await r.repo(env).delete(params.id)) throw r.missing();
    }),
  ];
}
