import { randomUUID } from 'node:crypto';
import { postOut } from '../lib/post-out.ts';
import { listLogs } from '../store/log-store.ts';
import type { Env } from '../tenant/env.ts';
import { LOG_STREAMS, logStreamCursorDoc, openSink, type LogStream } from './log-streams.ts';
import { categoryOf } from './log-stream-categories.ts';
import { listItems } from './tenant-collection.ts';

// Delivers the tenant log to each active `http` log stream, as Auth0 does: the
// events written since the stream was made, in order, in batches, POSTed to
// `sink.httpEndpoint` with `httpAuthorization`, `httpContentType`, the custom
// headers and `httpContentFormat`. It runs beside the requests (a timer reads
// what the log already wrote), so it never delays one.
//
// Each stream's position is a tenant document: the last log_id delivered, and a
// lease that one process takes (by compare-and-swap) before it sends a batch.
// So among the processes and nodes of a deployment one sends a given batch,
// and a batch is sent again only when its sender died or its endpoint failed
// (at least once, as Auth0 delivers). A failing endpoint is retried with
// backoff. Nothing of the sink (endpoint credentials, headers) is ever logged.

const TICK_MS = 1_000;
const BATCH = 100;
const LEASE_MS = 30_000;
const MAX_BACKOFF_MS = 60_000;

interface Cursor { after: string; lease?: { holder: string; until: number } }
class Lost extends Error {}

/** Log ids begin with 900 and the UTC time to the millisecond, so a time is a position in the log. */
const positionAt = (iso: string) => `900${iso.replace(/\D/g, '').slice(0, 17)}`;
const leasedByOther = (c: Cursor | undefined, me: string) => !!c?.lease && c.lease.holder !== me && c.lease.until > Date.now();

/** The request bodies of one batch, in the stream's format: one array, one line per event, or one object per request. */
function bodies(format: string | undefined, events: Record<string, any>[]): string[] {
  const entries = events.map((e) => ({ log_id: e.log_id, data: e }));
  if (format === 'JSONLINES') return [entries.map((e) => JSON.stringify(e)).join('\n')];
  if (format === 'JSONOBJECT') return entries.map((e) => JSON.stringify(e));
  return [JSON.stringify(entries)];
}

export function startLogStreaming(env: Env): { stop(): Promise<void> } {
  const me = randomUUID();
  const backoff = new Map<string, { failures: number; until: number }>();
  const abort = new AbortController();
  let running: Promise<void> | undefined;

  async function post(s: LogStream, events: Record<string, any>[]): Promise<number | undefined> {
    const sink = openSink(env, s.sink);
    const custom = Object.fromEntries((sink.httpCustomHeaders ?? []).filter((h: any) => h?.header).map((h: any) => [h.header, String(h.value ?? '')]));
    const headers = { ...custom, 'content-type': sink.httpContentType || 'application/json', ...(sink.httpAuthorization ? { authorization: sink.httpAuthorization } : {}) };
    for (const body of bodies(sink.httpContentFormat, events)) {
      const r = await postOut(sink.httpEndpoint, headers, body, abort.signal);
      if (!r.ok) return r.status;
    }
    return undefined;
  }

  /** Takes the stream's lease, if the position is still `after` and no other process holds it. */
  async function claim(doc: string, after: string) {
    try {
      await env.store.modifyTenantDoc<Cursor>(doc, (c) => {
        if ((c && c.after !== after) || leasedByOther(c, me)) throw new Lost();
        return { after, lease: { holder: me, until: Date.now() + LEASE_MS } };
      });
      return true;
    } catch (e) {
      if (e instanceof Lost) return false;
      throw e;
    }
  }

  /** Gives the lease back at the new position; a stream deleted meanwhile, or a lease lost, is left alone. */
  async function release(doc: string, after: string) {
    await env.store.modifyTenantDoc<Cursor>(doc, (c) => {
      if (!c || c.lease?.holder !== me) throw new Lost();
      return { after };
    }).catch((e) => { if (!(e instanceof Lost)) throw e; });
  }

  async function deliver(s: LogStream) {
    if ((backoff.get(s.id)?.until ?? 0) > Date.now()) return;
    const doc = logStreamCursorDoc(s.id);
    const cursor = await env.store.getTenantDoc<Cursor>(doc);
    if (leasedByOther(cursor, me)) return;
    const after = cursor?.after ?? positionAt(s.created_at ?? new Date().toISOString());
    const { items } = await listLogs(env.store, { order: 'asc' }, { offset: 0, limit: BATCH }, { after });
    if (!items.length || !(await claim(doc, after))) return;
    const wanted = s.filters?.length ? items.filter((e) => s.filters!.some((f) => f.name === categoryOf(e.type))) : items;
    let failed: number | string | undefined;
    try {
      failed = wanted.length ? await post(s, wanted) : undefined;
    } catch (e) {
      failed = (e as any)?.cause?.code ?? (e as Error).name; // never the message: it may quote the endpoint
    }
    await release(doc, failed === undefined ? items[items.length - 1].log_id : after);
    if (failed === undefined) { backoff.delete(s.id); return; }
    const failures = (backoff.get(s.id)?.failures ?? 0) + 1;
    backoff.set(s.id, { failures, until: Date.now() + Math.min(MAX_BACKOFF_MS, 1_000 * 2 ** failures) });
    env.log.warn({ stream: s.id, failure: failed, failures }, 'log stream delivery failed; retrying later');
  }

  async function tick() {
    const streams = (await listItems<LogStream>(env, LOG_STREAMS)).filter((s) => s.type === 'http' && s.status === 'active');
    for (const s of streams) {
      if (abort.signal.aborted) return;
      await deliver(s).catch((e) => env.log.warn({ stream: s.id, err: (e as Error).name }, 'log stream delivery step failed'));
    }
  }

  const timer = setInterval(() => {
    running ??= tick().catch((e) => env.log.warn({ err: (e as Error).message }, 'log streaming failed'))
      .finally(() => { running = undefined; });
  }, TICK_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      abort.abort();
      await running;
    },
  };
}
