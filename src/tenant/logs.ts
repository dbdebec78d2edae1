import { randomInt } from 'node:crypto';
import type Koa from 'koa';
import type { Logger } from 'pino';
import { insertLogs, pruneLogs } from '../store/log-store.ts';
import type { LogRow } from '../store/schema.ts';
import type { Store } from '../store/store.ts';

// The tenant's log (Auth0's `GET /api/v2/logs`). Events are buffered and
// written in batches, so a token request pays for an array push rather than a
// database write; readers flush this process's buffer first (see flush()).
// Events carry no secret: callers pass names and ids, never credentials.

/** One event, in Auth0's field names (`type` is Auth0's event code: s, fp, seccft, sapi, ...). */
export interface LogEvent {
  type: string; description?: string;
  client_id?: string; client_name?: string; user_id?: string; user_name?: string;
  connection?: string; connection_id?: string; strategy?: string; strategy_type?: string;
  audience?: string; scope?: string; ip?: string; user_agent?: string;
  details?: Record<string, unknown>;
}

const FLUSH_MS = 200;
const CHUNK = 500;
const MAX_PENDING = 50_000; // a database that stays down must not take the process's memory with it
const RETENTION_MS = 30 * 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;

let seq = 0;
/** Auth0-style numeric id whose text order is time order: 900, the UTC time to the millisecond, a counter, random digits. */
function newLogId(at: Date): string {
  const t = at.toISOString().replace(/\D/g, '').slice(0, 17);
  seq = (seq + 1) % 1_000_000;
  return `900${t}${String(seq).padStart(6, '0')}${String(randomInt(0, 1e10)).padStart(10, '0')}`;
}

/** What Auth0 records of the request itself. */
export function requestFacts(ctx: Koa.Context): Pick<LogEvent, 'ip' | 'user_agent'> {
  return { ip: ctx.ip, user_agent: ctx.get('user-agent') || undefined };
}

export class TenantLog {
  private pending: Omit<LogRow, 'tenant_id'>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private lastPrune = 0;
  private dropped = 0;

  constructor(private store: Store, private log: Logger, private hostname: string) {}

  record(e: LogEvent): void {
    const at = new Date();
    const date = at.toISOString();
    const log_id = newLogId(at);
    const event = { date, ...e, hostname: this.hostname, log_id };
    if (this.pending.length >= MAX_PENDING) { this.pending.shift(); this.dropped++; }
    this.pending.push({ log_id, date, type: e.type, user_id: e.user_id ?? null, client_id: e.client_id ?? null, data: JSON.stringify(event) });
    this.timer ??= setTimeout(() => { this.timer = undefined; void this.flush(); }, FLUSH_MS).unref();
  }

  /** Writes everything recorded so far; resolves once it is in the database. */
  flush(): Promise<void> {
    this.writing = this.writing.then(() => this.write());
    return this.writing;
  }

  private async write() {
    const rows = this.pending;
    this.pending = [];
    if (this.dropped) { this.log.warn({ dropped: this.dropped }, 'tenant log buffer overflowed; oldest events dropped'); this.dropped = 0; }
    for (let i = 0; i < rows.length; i += CHUNK) {
      const chunk = rows.slice(i, i + CHUNK);
      try {
        await insertLogs(this.store, chunk);
      } catch {
        // One bad row must not cost its neighbours: retry them one by one.
        for (const row of chunk) {
          await insertLogs(this.store, [row]).catch((e) => this.log.warn({ err: (e as Error).message, type: row.type }, 'tenant log event not written'));
        }
      }
    }
    if (Date.now() - this.lastPrune > PRUNE_EVERY_MS) {
      this.lastPrune = Date.now();
      await pruneLogs(this.store, new Date(Date.now() - RETENTION_MS).toISOString())
        .catch((e) => this.log.warn({ err: (e as Error).message }, 'tenant log pruning failed'));
    }
  }
}
