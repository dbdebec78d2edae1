import { alnum } from '../lib/ids.ts';
import { ApiError } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';
import { inMemory } from './doc-helpers.ts';
import { listResponse } from './pagination.ts';
import { reply, route, type OpContext, type Route } from './router.ts';
import { operations } from './spec.ts';

// Tenant configuration that Auth0 keeps as a small collection (log streams,
// network ACLs, token exchange profiles...) and that has no table here: the
// whole collection is one tenant document, written by compare-and-swap. So a
// uniqueness rule (a priority, a subject token type) is checked inside the same
// conditional write that adds or changes an item, and concurrent writers can
// never both land a duplicate.

export interface Item { id: string }

export interface Collection<T extends Item> {
  /** The tenant document that holds the items, in creation order. */
  doc: string;
  missing: () => ApiError;
}

/** `prefix` and random characters, the shape of Auth0's ids (`acl_…`, `est_…`). */
export const collectionId = (prefix: string, length: number) => `${prefix}${alnum(length)}`;

export async function listItems<T extends Item>(env: Env, c: Collection<T>): Promise<T[]> {
  return (await env.store.getTenantDoc<{ items: T[] }>(c.doc))?.items ?? [];
}
export async function findItem<T extends Item>(env: Env, c: Collection<T>, id: string): Promise<T> {
  const item = (await listItems(env, c)).find((x) => x.id === id);
  if (!item) throw c.missing();
  return item;
}

/** Read-modify-write of the whole collection; `change` may run again on a fresher copy. */
export async function changeItems<T extends Item>(env: Env, c: Collection<T>, change: (all: T[]) => T[] | Promise<T[]>): Promise<T[]> {
  const saved = await env.store.modifyTenantDoc<{ items: T[] }>(c.doc, async (stored) => ({ items: await change(stored?.items ?? []) }));
  return saved.items;
}

/** Adds what `make` builds from the other items (it checks uniqueness against them). */
export async function addItem<T extends Item>(env: Env, c: Collection<T>, make: (all: T[]) => T | Promise<T>): Promise<T> {
  let made!: T;
  await changeItems(env, c, async (all) => {
    made = await make(all);
    return [...all, made];
  });
  return made;
}

/** Replaces one item by what `change` makes of it, seeing the other items; a 404 when it is gone. */
export async function changeItem<T extends Item>(env: Env, c: Collection<T>, id: string, change: (cur: T, others: T[]) => T | Promise<T>): Promise<T> {
  let next!: T;
  await changeItems(env, c, async (all) => {
    const cur = all.find((x) => x.id === id);
    if (!cur) throw c.missing();
    next = await change(cur, all.filter((x) => x !== cur));
    return all.map((x) => (x === cur ? next : x));
  });
  return next;
}

export async function removeItem<T extends Item>(env: Env, c: Collection<T>, id: string): Promise<T> {
  let removed: T | undefined;
  await changeItems(env, c, (all) => {
    removed = all.find((x) => x.id === id);
    if (!removed) throw c.missing();
    return all.filter((x) => x !== removed);
  });
  return removed!;
}

/**
 * How the list answers, as Auth0 does for the resource: a bare array, offset
 * pages (`page`/`per_page`/`include_totals`), or checkpoint pages (`from`/`take`,
 * `{[key]: [...], next}`, also when neither is given).
 */
export type ListShape = { kind: 'array' } | { kind: 'offset'; key: string } | { kind: 'checkpoint'; key: string };

export interface CollectionResource<T extends Item> extends Collection<T> {
  /** The collection's spec path; the item's is `${path}/{id}`. Only the operations the op table has become routes. */
  path: string;
  list: ListShape;
  /** The list's query filters (`?resource=`...), when it has some. */
  filter?: (item: T, query: Record<string, any>) => boolean;
  /** An item as Auth0 answers it (secrets left out). */
  show: (item: T, env: Env) => unknown;
  /** GET /{id}, when it shows more than the other answers (network ACLs). */
  showOne?: (item: T, env: Env) => Promise<unknown>;
  /** Checks that need I/O (a referenced action exists), before the conditional write. */
  prepare?: (c: OpContext) => Promise<void>;
  /** The new item from the body; `others` are the stored items, for uniqueness rules. */
  create: (c: OpContext, others: T[]) => T | Promise<T>;
  /** POST's status: 201 unless Auth0 answers 200 (log streams). */
  createStatus?: number;
  /** PATCH: the body over the stored item. */
  update?: (c: OpContext, cur: T, others: T[]) => T | Promise<T>;
  /** PUT: the body replaces the stored item (id and creation time kept). */
  replace?: (c: OpContext, cur: T, others: T[]) => T | Promise<T>;
  /** What goes with an item once it is deleted (an event stream's deliveries). */
  removed?: (env: Env, item: T) => Promise<void>;
}

const DEFAULT_TAKE = 50;

/** Checkpoint pages (`from`/`take`) of a small in-memory list, also when the query names neither. */
export const checkpointList = <T>(query: Record<string, any>, all: () => Promise<T[]>, key: string) =>
  listResponse({ from: query.from, take: query.take ?? DEFAULT_TAKE }, inMemory(all), { key });

async function listAnswer<T extends Item>(r: CollectionResource<T>, env: Env, query: Record<string, any>) {
  const all = async () => (await listItems<T>(env, r)).filter((x) => r.filter?.(x, query) ?? true).map((x) => r.show(x, env));
  if (r.list.kind === 'array') return all();
  if (r.list.kind === 'offset') return listResponse(query, inMemory(all), { key: r.list.key });
  return checkpointList(query, all, r.list.key);
}

/** The routes of one collection resource: whichever of them the op table lists. */
export function collectionRoutes<T extends Item>(r: CollectionResource<T>): Route[] {
  const one = `${r.path}/{id}`;
  const write = (f: (c: OpContext, cur: T, others: T[]) => T | Promise<T>) => async (c: OpContext) => {
    await findItem<T>(c.env, r, c.params.id); // an unknown id is a 404 before the body's references are checked
    await r.prepare?.(c);
    return r.show(await changeItem(c.env, r, c.params.id, (cur, others) => f(c, cur, others)), c.env);
  };
  const handlers: Array<[string, string, ((c: OpContext) => Promise<unknown>) | undefined]> = [
    ['GET', r.path, async ({ env, query }) => listAnswer(r, env, query)],
    ['POST', r.path, async (c) => {
      await r.prepare?.(c);
      return reply(r.createStatus ?? 201, r.show(await addItem(c.env, r, (all) => r.create(c, all)), c.env));
    }],
    ['GET', one, async ({ env, params }) => (r.showOne ?? r.show)(await findItem<T>(env, r, params.id), env)],
    ['PATCH', one, r.update && write(r.update)],
    ['PUT', one, r.replace && write(r.replace)],
    ['DELETE', one, async ({ env, params }) => {
      const removed = await removeItem<T>(env, r, params.id);
      await r.removed?.(env, removed);
    }],
  ];
  return handlers
    .filter(([method, path, h]) => h && operations.some((o) => o.method === method && o.path === path))
    .map(([method, path, h]) => route(method, path, h!));
}

