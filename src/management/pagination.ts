import { ApiError, invalidQuery } from '../lib/errors.ts';
import { hasNul } from '../lib/nul-guard.ts';
import type { Page } from '../store/store.ts';

// The one way list endpoints page. Offset paging (`page`/`per_page`, with
// totals on request) and checkpoint paging (`from`/`take`) are both driven
// from here; resources only say how to fetch a slice.
export interface Slice<T> { items: T[]; total?: number }
export interface Lister<T> {
  /** Offset paging. `total` is asked for only when the caller wants it. */
  page(page: Page, withTotal: boolean): Promise<Slice<T>>;
  /** Checkpoint paging by a stable key; defaults to offset cursors. */
  after?(cursor: string | undefined, limit: number): Promise<{ items: T[]; next?: string }>;
}

export interface ListOptions { key: string; defaultPerPage?: number; window?: number; project?: (o: any) => any }

const badCheckpoint = () => invalidQuery("Query validation error: 'from' is not a valid checkpoint.");
const encodeOffset = (n: number) => Buffer.from(`o:${n}`).toString('base64url');
function decodeOffset(s: string): number {
  const m = /^o:(\d+)$/.exec(Buffer.from(s, 'base64url').toString());
  const n = m ? Number(m[1]) : NaN;
  if (!Number.isSafeInteger(n)) throw badCheckpoint();
  return n;
}

/** Checkpoint cursors over a stable sort key (a user id, an organization id), made opaque. */
export const encodeKeyCursor = (key: string) => Buffer.from(`k:${key}`).toString('base64url');
export function decodeKeyCursor(from: string | undefined): string | undefined {
  if (from === undefined) return undefined;
  const s = Buffer.from(from, 'base64url').toString();
  // The key reaches SQL, so it gets the same NUL check as any input (lib/nul-guard.ts).
  if (!s.startsWith('k:') || hasNul(s)) throw badCheckpoint();
  return s.slice(2);
}

/** The query of a list Auth0 pages by checkpoint only: `take` applies (50 by default) even without `from`. */
export const checkpointOnly = (query: Record<string, any>) => ({ from: query.from, take: query.take ?? 50 });
/** The query of a list Auth0 pages by checkpoint unless offset paging (`page`, `per_page`, `include_totals`) is asked for. */
export const checkpointUnlessPaged = (query: Record<string, any>) =>
  (query.page !== undefined || query.per_page !== undefined || query.include_totals !== undefined ? query : checkpointOnly(query));

export async function listResponse<T>(query: Record<string, any>, lister: Lister<T>, opts: ListOptions) {
  const project = opts.project ?? ((o: any) => o);
  if (query.from !== undefined || query.take !== undefined) {
    const take = query.take === undefined ? 50 : Number(query.take);
    if (!Number.isInteger(take) || take < 1 || take > 100) throw invalidQuery("Query validation error: 'take' must be an integer between 1 and 100.");
    const from = query.from === undefined || query.from === '' ? undefined : String(query.from);
    if (lister.after) {
      const r = await lister.after(from, take);
      return { [opts.key]: r.items.map(project), ...(r.next ? { next: r.next } : {}) };
    }
    const offset = from ? decodeOffset(from) : 0;
    const r = await lister.page({ offset, limit: take + 1 }, false);
    const more = r.items.length > take;
    return { [opts.key]: r.items.slice(0, take).map(project), ...(more ? { next: encodeOffset(offset + take) } : {}) };
  }
  const perPage = query.per_page === undefined ? (opts.defaultPerPage ?? 50) : Number(query.per_page);
  const page = query.page === undefined ? 0 : Number(query.page);
  if (!Number.isInteger(perPage) || perPage < 0 || perPage > 100) throw invalidQuery("Query validation error: 'per_page' must be an integer between 0 and 100.");
  if (!Number.isInteger(page) || page < 0) throw invalidQuery("Query validation error: 'page' must be a non-negative integer.");
  // An offset past 2^53 cannot be bound as an SQL integer on either backend.
  if (!Number.isSafeInteger(page * perPage)) throw invalidQuery("Query validation error: 'page' is too large.");
  if (opts.window !== undefined && (page + 1) * perPage > opts.window) {
    throw new ApiError(400, `You can only page through the first ${opts.window} records. See https://auth0.com/docs/users/search/v3/view-search-results-by-page#limitation`, 'invalid_paging');
  }
  const withTotals = query.include_totals === true || query.include_totals === 'true';
  const r = await lister.page({ offset: page * perPage, limit: perPage }, withTotals);
  const items = r.items.map(project);
  if (!withTotals) return items;
  const total = opts.window !== undefined ? Math.min(r.total ?? 0, opts.window) : r.total ?? 0;
  return { start: page * perPage, limit: perPage, length: items.length, total, [opts.key]: items };
}
