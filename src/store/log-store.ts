import type { Expression, ExpressionBuilder, SqlBool } from 'kysely';
import type { Database, LogRow } from './schema.ts';
import type { Page, Store } from './store.ts';

// Tenant log events. Rows only ever arrive in batches (tenant/logs.ts buffers
// them) and leave when they pass the retention period.

type Where = (eb: ExpressionBuilder<Database, 'logs'>) => Expression<SqlBool>;
export interface LogQuery { where?: Where; userId?: string; order: 'asc' | 'desc' }

const base = (s: Store, q: LogQuery) => {
  let b = s.db.selectFrom('logs').where('tenant_id', '=', s.tenantId);
  if (q.userId !== undefined) b = b.where('user_id', '=', q.userId);
  if (q.where) b = b.where(q.where);
  return b;
};

export async function insertLogs(s: Store, rows: Omit<LogRow, 'tenant_id'>[]) {
  if (!rows.length) return;
  await s.db.insertInto('logs').values(rows.map((r) => ({ ...r, tenant_id: s.tenantId }))).execute();
}

export async function getLog(s: Store, logId: string) {
  return s.db.selectFrom('logs').select('data').where('tenant_id', '=', s.tenantId).where('log_id', '=', logId).executeTakeFirst();
}

/** A page of events in log_id (= time) order, or those after a checkpoint. */
export async function listLogs(s: Store, q: LogQuery, page: Page, opts: { total?: boolean; after?: string } = {}) {
  let rows = base(s, q).select('data').orderBy('log_id', q.order);
  if (opts.after !== undefined) rows = rows.where('log_id', q.order === 'asc' ? '>' : '<', opts.after);
  const items = await rows.limit(page.limit).offset(page.offset).execute();
  const total = opts.total
    ? Number((await base(s, q).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)
    : undefined;
  return { items: items.map((r) => JSON.parse(r.data)), total };
}

export async function pruneLogs(s: Store, before: string) {
  await s.db.deleteFrom('logs').where('tenant_id', '=', s.tenantId).where('date', '<', before).execute();
}

/** Per UTC day in [from, to): successful logins and signups, and when the day's first and last events were. */
export async function dailyCounts(s: Store, from: string, to: string) {
  return s.db.selectFrom('logs')
    .select((eb) => [
      eb.fn<string>('substr', [eb.ref('date'), eb.val(1), eb.val(10)]).as('day'),
      eb.fn.countAll<number>().filterWhere('type', '=', 's').as('logins'),
      eb.fn.countAll<number>().filterWhere('type', '=', 'ss').as('signups'),
      eb.fn.min('date').as('first'),
      eb.fn.max('date').as('last'),
    ])
    .where('tenant_id', '=', s.tenantId).where('date', '>=', from).where('date', '<', to)
    .groupBy('day').orderBy('day').execute();
}
