import { sql } from 'kysely';
import type { Store } from './store.ts';

// Failed-login counters for brute-force protection (tenant/brute-force.ts
// decides what they mean). Counting is one atomic upsert, so concurrent
// attempts on several nodes each count.

const rows = (s: Store) => s.db.selectFrom('login_failures').where('tenant_id', '=', s.tenantId);

/** One more failure for the account from `ip`; the count after it. */
export async function countFailure(s: Store, userId: string, ip: string): Promise<number> {
  const now = new Date().toISOString();
  const r = await s.db.insertInto('login_failures')
    .values({ tenant_id: s.tenantId, user_id: userId, ip, failures: 1, blocked_at: null, updated_at: now })
    .onConflict((oc) => oc.columns(['tenant_id', 'user_id', 'ip']).doUpdateSet({ failures: sql`login_failures.failures + 1`, updated_at: now }))
    .returning('failures').executeTakeFirstOrThrow();
  return Number(r.failures);
}

export async function block(s: Store, userId: string, ip: string) {
  await s.db.updateTable('login_failures').set({ blocked_at: new Date().toISOString() })
    .where('tenant_id', '=', s.tenantId).where('user_id', '=', userId).where('ip', '=', ip).where('blocked_at', 'is', null).execute();
}

export async function isBlocked(s: Store, userId: string, ips: string[]): Promise<boolean> {
  return !!(await rows(s).select('ip').where('user_id', '=', userId).where('ip', 'in', ips).where('blocked_at', 'is not', null).executeTakeFirst());
}

export function blocksOf(s: Store, userIds: string[]) {
  if (!userIds.length) return Promise.resolve([]);
  return rows(s).select(['user_id', 'ip']).where('user_id', 'in', userIds).where('blocked_at', 'is not', null).orderBy('updated_at').execute();
}

/** Forgets the account's failures and blocks: after a successful login, a password reset, or an administrator's unblock. */
export async function clearFailures(s: Store, userIds: string[], ips?: string[]) {
  if (!userIds.length) return;
  let q = s.db.deleteFrom('login_failures').where('tenant_id', '=', s.tenantId).where('user_id', 'in', userIds);
  if (ips !== undefined) q = q.where('ip', 'in', ips);
  await q.execute();
}
