import { eventsBetween } from '../store/event-store.ts';
import type { Env } from '../tenant/env.ts';
import { cursorAt, SETTLE_MS } from '../tenant/user-events.ts';
import { RETRY_DELAYS_MS, sendEvent } from './event-stream-deliveries.ts';
import { EVENT_STREAMS, eventStreamCursorDoc, type EventStream } from './event-streams.ts';
import { cursorLeases, everyTick, type Cursor } from './stream-cursor.ts';
import { listItems } from './tenant-collection.ts';

// Delivers the user events (tenant/user-events.ts keeps them in the `events`
// table) to each webhook event stream that subscribes to their type, as Auth0
// does: the kept CloudEvent with `a0stream` set to the stream (and no
// `a0purpose`, which marks test events), POSTed with the stream's
// authorization, tried up to four times (a 4xx answer is final), and listed in
// the stream's deliveries once it failed, from where it can be redelivered. A
// stream gets the events kept after it was made; a disabled one gets none, not
// even once enabled again (its position moves on meanwhile). EventBridge and
// action destinations get nothing: Postern cannot reach AWS's partner event
// bus, and runs no actions.
//
// A timer reads the table, so a user write never waits for a webhook. Each
// stream's position and lease are stream-cursor.ts's: one process among the
// nodes sharing the database sends a given event to a given stream, again only
// if it stopped half-way. Streams are served side by side, so a slow or failing
// endpoint holds back only its own stream.

const TICK_MS = 1_000;
const BATCH = 100;
const LEASE_MS = 120_000;
/** The longest one event may take: four attempts of up to 10 s each, and the waits between them. */
const EVENT_MAX_MS = 4 * 10_000 + RETRY_DELAYS_MS.reduce((a, b) => a + b, 0);

export function startEventStreaming(env: Env): { stop(): Promise<void> } {
  const leases = cursorLeases(env, LEASE_MS);
  const busy = new Map<string, Promise<void>>();

  async function deliver(s: EventStream, signal: AbortSignal) {
    const doc = eventStreamCursorDoc(s.id);
    const cursor = await env.store.getTenantDoc<Cursor>(doc);
    if (leases.leasedByOther(cursor)) return;
    const after = cursor?.after ?? cursorAt(Date.parse(s.created_at));
    const rows = await eventsBetween(env.store, after, cursorAt(Date.now() - SETTLE_MS), BATCH);
    if (!rows.length) return;
    const until = await leases.claim(doc, after);
    if (until === undefined) return;
    const wanted = new Set(s.status === 'enabled' ? s.subscriptions.map((x) => x.event_type) : []);
    let done = after;
    try {
      for (const r of rows) {
        if (wanted.has(r.type)) {
          if (Date.now() + EVENT_MAX_MS > until) break; // the rest waits for a fresh lease
          if (!(await sendEvent(env, s, { ...JSON.parse(r.data), a0stream: s.id }, RETRY_DELAYS_MS, signal))) break;
        }
        done = r.position;
      }
    } finally {
      await leases.release(doc, done);
      // A stream deleted since the list was read leaves no position behind.
      if (!(await listItems<EventStream>(env, EVENT_STREAMS)).some((x) => x.id === s.id)) await env.store.deleteTenantDoc(doc);
    }
  }

  const ticks = everyTick(env, 'event streaming', TICK_MS, async (signal) => {
    const streams = (await listItems<EventStream>(env, EVENT_STREAMS)).filter((s) => s.destination.type === 'webhook');
    for (const s of streams) {
      if (signal.aborted || busy.has(s.id)) continue;
      busy.set(s.id, deliver(s, signal)
        .catch((e) => env.log.warn({ stream: s.id, err: (e as Error).name }, 'event stream delivery step failed'))
        .finally(() => busy.delete(s.id)));
    }
  });
  return {
    async stop() {
      await ticks.stop();
      await Promise.all(busy.values());
    },
  };
}
