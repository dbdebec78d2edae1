import type { Store } from './store.ts';

// The records of action runs (actions/executions.ts writes them, GET
// /actions/executions/{id} reads them). Written once, never changed; they leave
// when they pass the retention period.

export interface ExecutionRecord { id: string; data: Record<string, unknown>; created_at: string }

export async function insertExecution(s: Store, r: ExecutionRecord) {
  await s.db.insertInto('action_executions')
    .values({ tenant_id: s.tenantId, id: r.id, data: JSON.stringify(r.data), created_at: r.created_at, updated_at: r.created_at }).execute();
}

export async function getExecution(s: Store, id: string): Promise<ExecutionRecord | undefined> {
  const row = await s.db.selectFrom('action_executions').select(['id', 'data', 'created_at'])
    .where('tenant_id', '=', s.tenantId).where('id', '=', id).executeTakeFirst();
  return row && { id: row.id, data: JSON.parse(row.data), created_at: row.created_at };
}

export async function pruneExecutions(s: Store, before: string) {
  await s.db.deleteFrom('action_executions').where('tenant_id', '=', s.tenantId).where('created_at', '<', before).execute();
}
