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

// --- suspicious-IP throttling ------------------------------------------------

/**
 * One more failed attempt from `ip` at `stage`, in a bucket that drains by one
 * every `rateMs`; the bucket's level after it. One upsert, so nodes racing on
 * one address each count.
 */
export async function countIpAttempt(s: Store, ip: string, stage: string, rateMs: number): Promise<number> {
  const now = Date.now();
  const drained = sql<number>`ip_throttle.attempts - (${now} - ip_throttle.updated_ms) * 1.0 / ${rateMs}`;
  const r = await s.db.insertInto('ip_throttle')
    .values({ tenant_id: s.tenantId, ip, stage, attempts: 1, updated_ms: now, blocked_at: null })
    .onConflict((oc) => oc.columns(['tenant_id', 'ip', 'stage']).doUpdateSet({
      attempts: sql`(case when ${drained} > 0 then ${drained} else 0 end) + 1`, updated_ms: now,
    }))
    .returning('attempts').executeTakeFirstOrThrow();
  return Number(r.attempts);
}

export async function blockIp(s: Store, ip: string, stage: string) {
  await s.db.updateTable('ip_throttle').set({ blocked_at: new Date().toISOString() })
    .where('tenant_id', '=', s.tenantId).where('ip', '=', ip).where('stage', '=', stage).where('blocked_at', 'is', null).execute();
}

export async function ipBlocked(s: Store, ip: string, stage?: string): Promise<boolean> {
  let q = s.db.selectFrom('ip_throttle').select('ip').where('tenant_id', '=', s.tenantId).where('ip', '=', ip).where('blocked_at', 'is not', null);
  if (stage) q = q.where('stage', '=', stage);
  return !!(await q.executeTakeFirst());
}

/** Lifts the address's blocks and empties its buckets; whether there was anything to lift. */
export async function unblockIp(s: Store, ip: string): Promise<boolean> {
  const r = await s.db.deleteFrom('ip_throttle').where('tenant_id', '=', s.tenantId).where('ip', '=', ip).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}
