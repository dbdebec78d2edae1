import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Store } from '../store/store.ts';
import { getExecution, insertExecution, pruneExecutions, type ExecutionRecord } from '../store/execution-store.ts';
import type { ActionResult } from './sandbox.ts';

// Each run of a trigger's actions leaves a record, as in Auth0: which actions
// ran, when, and what failed (GET /actions/executions/{id}). The tenant log
// events of the request that ran them name them in details.actions.executions.

const RETENTION_MS = 10 * 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;
const NOTED = Symbol('action executions');

export class ExecutionRecorder {
  private lastPrune = 0;
  constructor(private store: Store, private log: Logger) {}

  /** Keeps the record and answers its id; a failed write is logged, never the flow's failure. */
  async record(triggerId: string, results: ActionResult[], status: 'final' | 'suspended' = 'final'): Promise<string> {
    const id = randomUUID();
    const data = { trigger_id: triggerId, status, results: results.map(({ logs: _logs, ...r }) => r) };
    try {
      await insertExecution(this.store, { id, data, created_at: new Date().toISOString() });
    } catch (e) {
      this.log.warn({ err: (e as Error).message, trigger: triggerId }, 'action execution not recorded');
    }
    if (Date.now() - this.lastPrune > PRUNE_EVERY_MS) {
      this.lastPrune = Date.now();
      void pruneExecutions(this.store, new Date(Date.now() - RETENTION_MS).toISOString())
        .catch((e) => this.log.warn({ err: (e as Error).message }, 'action executions pruning failed'));
    }
    return id;
  }

  get(id: string): Promise<ExecutionRecord | undefined> { return getExecution(this.store, id); }
}

export const executionJson = (r: ExecutionRecord) => ({ id: r.id, ...r.data, created_at: r.created_at, updated_at: r.created_at });

type WithState = { state: Record<PropertyKey, any> };

/** Remembers on the request that it ran an execution, for its log events. */
export function noteExecutions(ctx: WithState, ids: string[]) {
  if (ids.length) (ctx.state[NOTED] ??= []).push(...ids);
}

/** A log event's `details` naming the executions its request ran, if any. */
export function executionDetails(ctx: WithState): { details?: { actions: { executions: string[] } } } {
  const ids: string[] | undefined = ctx.state[NOTED];
  return ids?.length ? { details: { actions: { executions: [...ids] } } } : {};
}
