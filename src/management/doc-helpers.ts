import { ApiError, conflict, notFound, UniqueViolation } from '../lib/errors.ts';
import type { DocRepo } from '../store/store.ts';
import type { SecretBox } from '../tenant/secrets.ts';
import type { Lister } from './pagination.ts';

// Shared by the rules, hooks, rules-configs and custom-domains files.

export async function loadDoc(repo: DocRepo<any>, id: string, missing: () => ApiError) {
  const doc = await repo.get(id);
  if (!doc) throw missing();
  return doc;
}

/** Whether another row than `id` holds `value` in a unique column. */
export const heldByOther = (repo: DocRepo<any>, column: string, value: unknown, id: string) => async () =>
  ((await repo.findBy(column, value))?.id ?? id) !== id;

/**
 * A write that may hit one of the table's unique columns. On a violation, the
 * first column whose value another row holds answers with its own 409.
 */
export async function unique<T>(write: () => Promise<T>, columns: Array<[held: () => Promise<boolean>, taken: () => ApiError]>): Promise<T> {
  try { return await write(); } catch (e) {
    if (!(e instanceof UniqueViolation)) throw e;
    for (const [held, taken] of columns) if (await held()) throw taken();
    throw columns[0][1]();
  }
}

/** Offset paging over a whole collection filtered in memory; these collections are small. */
export function inMemory<T>(all: () => Promise<T[]>): Lister<T> {
  return {
    async page(page, withTotal) {
      const items = await all();
      return { items: items.slice(page.offset, page.offset + page.limit), total: withTotal ? items.length : undefined };
    },
  };
}

/** `?enabled=` arrives as a string or, after the spec's coercion, a boolean. */
export const boolFilter = (v: unknown): boolean | undefined => (v === undefined || v === '' ? undefined : v === true || v === 'true');

/**
 * Seals `values` into a map of sealed secrets. `create` refuses names that
 * exist, `update` names that do not; `upsert` takes either. The map is copied,
 * never mutated, so a retried read-modify-write starts clean.
 */
export function sealInto(box: SecretBox, stored: Record<string, string> | undefined, values: Record<string, string>,
  mode: 'create' | 'update' | 'upsert', errors: { exists?: (name: string) => ApiError; missing?: (name: string) => ApiError } = {}) {
  // A Map, because a name such as `__proto__` must stay an ordinary key.
  const next = new Map(Object.entries(stored ?? {}));
  for (const [name, value] of Object.entries(values)) {
    const present = next.has(name);
    if (mode === 'create' && present) throw errors.exists?.(name) ?? conflict(`Secret already exists: ${name}`);
    if (mode === 'update' && !present) throw errors.missing?.(name) ?? notFound(`Secret does not exist: ${name}`);
    next.set(name, box.seal(value));
  }
  return Object.fromEntries(next);
}
