import type { OidcPayloadRow } from '../store/schema.ts';
import { listResponse, type Lister } from './pagination.ts';

// Sessions and refresh tokens are engine payloads listed per user with
// Auth0's checkpoint paging ({<key>, next}); the cursor is the public id
// (the row's uid column), so ids stay stable while rows come and go.

export const live = (row: OidcPayloadRow, now = Date.now() / 1000) => !row.consumed_at && !(row.expires_at && row.expires_at <= now);

export async function listPayloadsByUid<T>(query: Record<string, any>, rows: OidcPayloadRow[], key: string, toJson: (row: OidcPayloadRow) => Promise<T> | T) {
  const sorted = rows.filter((r) => r.uid && live(r)).sort((a, b) => (a.uid! < b.uid! ? -1 : a.uid! > b.uid! ? 1 : 0));
  const lister: Lister<T> = {
    async page(p) { return { items: await Promise.all(sorted.slice(p.offset, p.offset + p.limit).map(toJson)) }; },
    async after(cursor, limit) {
      const rest = cursor ? sorted.filter((r) => r.uid! > cursor) : sorted;
      const slice = rest.slice(0, limit);
      return { items: await Promise.all(slice.map(toJson)), ...(rest.length > limit ? { next: slice[slice.length - 1].uid! } : {}) };
    },
  };
  // These endpoints only page by checkpoint, so a request without from/take gets the first page.
  return listResponse({ ...query, take: query.take ?? 50 }, lister, { key });
}
