import { postOut } from '../lib/post-out.ts';
import { listLogs } from '../store/log-store.ts';
import type { Env } from '../tenant/env.ts';
import { LOG_STREAMS, logStreamCursorDoc, openSink, type LogStream } from './log-streams.ts';
import { categoryOf } from './log-stream-categories.ts';
import { cursorLeases, everyTick, type Cursor } from './stream-cursor.ts';
import { listItems } from './tenant-collection.ts';

// Delivers the tenant log to each active `http` log stream, as Auth0 does: the
// events written since the stream was made, in order, in batches, POSTed to
// `sink.httpEndpoint` with `httpAuthorization`, `httpContentType`, the custom
// headers and `httpContentFormat`. It runs beside the requests (a timer reads
// what the log already wrote), so it never delays one.
//
// Each stream's position and lease are stream-cursor.ts's, so among the
// processes and nodes of a deployment one sends a given batch (at least once,
// as Auth0 delivers). A failing endpoint is retried with backoff. Nothing of
// the sink (endpoint credentials, headers) is ever logged.

const TICK_MS = 1_000;
const BATCH = 100;
const LEASE_MS = 30_000;
const MAX_BACKOFF_MS = 60_000;

/** Log ids begin with 900 and the UTC time to the millisecond, so a time is a position in the log. */
const positionAt = (iso: string) => `900${iso.replace(/\D/g, '').slice(0, 17)}`;

/** The request bodies of one batch, in the stream's format: one array, one line per event, or one object per request. */
function bodies(format: string | undefined, events: Record<string, any>[]): string[] {
  const entries = events.map((e) => ({ log_id: e.log_id, data: e }));
  if (format === 'JSONLINES') return [entries.map((e) => JSON.stringify(e)).join('\n')];
  if (format === 'JSONOBJECT') return entries.map((e) => JSON.stringify(e));
  return [JSON.stringify(entries)];
}

export function startLogStreaming(env: Env): { stop(): Promise<void> } {
  const leases = cursorLeases(env, LEASE_MS);
  const backoff = new Map<string, { failures: number; until: number }>();

  async function post(s: LogStream, events: Record<string, any>[], signal: AbortSignal): Promise<number | undefined> {
    const sink = openSink(env, s.sink);
    const custom = Object.fromEntries((sink.httpCustomHeaders ?? []).filter((h: any) => h?.header).map((h: any) => [h.header, String(h.value ?? '')]));
    const headers = { ...custom, 'content-type': sink.httpContentType || 'application/json', ...(sink.httpAuthorization ? { authorization: sink.httpAuthorization } : {}) };
    for (const body of bodies(sink.httpContentFormat, events)) {
      const r = await postOut(sink.httpEndpoint, headers, body, signal);
      if (!r.ok) return r.status;
    }
    return undefined;
  }

  async function deliver(s: LogStream, signal: AbortSignal) {
    if ((backoff.get(s.id)?.until ?? 0) > Date.now()) return;
    const doc = logStreamCursorDoc(s.id);
    const cursor = await env.store.getTenantDoc<Cursor>(doc);
    if (leases.leasedByOther(cursor)) return;
    const after = cursor?.after ?? positionAt(s.created_at ?? new Date().toISOString());
    const { items } = await listLogs(env.store, { order: 'asc' }, { offset: 0, limit: BATCH }, { after });
    if (!items.length || !(await leases.claim(doc, after))) return;
    const wanted = s.filters?.length ? items.filter((e) => s.filters!.some((f) => f.name === categoryOf(e.type))) : items;
    let failed: number | string | undefined;
    try {
      failed = wanted.length ? await post(s, wanted, signal) : undefined;
    } catch (e) {
      failed = (e as any)?.cause?.code ?? (e as Error).name; // never the message: it may quote the endpoint
    }
    await leases.release(doc, failed === undefined ? items[items.length - 1].log_id : after);
    if (failed === undefined) { backoff.delete(s.id); return; }
    const failures = (backoff.get(s.id)?.failures ?? 0) + 1;
    backoff.set(s.id, { failures, until: Date.now() + Math.min(MAX_BACKOFF_MS, 1_000 * 2 ** failures) });
    env.log.warn({ stream: s.id, failure: failed, failures }, 'log stream delivery failed; retrying later');
  }

  return everyTick(env, 'log streaming', TICK_MS, async (signal) => {
    const streams = (await listItems<LogStream>(env, LOG_STREAMS)).filter((s) => s.type === 'http' && s.status === 'active');
    for (const s of streams) {
      if (signal.aborted) return;
      await deliver(s, signal).catch((e) => env.log.warn({ stream: s.id, err: (e as Error).name }, 'log stream delivery step failed'));
    }
  });
}
