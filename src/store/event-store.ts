import type { EventRow } from './schema.ts';
import type { Store } from './store.ts';

// The tenant's user events (tenant/user-events.ts writes them, GET /events
// reads them). A position is text whose order is time order, so every read is a
// range of the primary key.

export async function insertEvent(s: Store, row: Omit<EventRow, 'tenant_id'>) {
  await s.db.insertInto('events').values({ ...row, tenant_id: s.tenantId }).execute();
}

/** Up to `limit` events after `after` and before `before`, in position order. */
export function eventsBetween(s: Store, after: string, before: string, limit: number) {
  return s.db.selectFrom('events').select(['position', 'type', 'data']).where('tenant_id', '=', s.tenantId)
    .where('position', '>', after).where('position', '<', before).orderBy('position').limit(limit).execute();
}

export async function pruneEvents(s: Store, before: string) {
  await s.db.deleteFrom('events').where('tenant_id', '=', s.tenantId).where('position', '<', before).execute();
}
