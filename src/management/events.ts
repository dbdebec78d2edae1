import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Env } from '../tenant/env.ts';
import { ApiError, invalidQuery } from '../lib/errors.ts';
import { eventsBetween } from '../store/event-store.ts';
import { cursorAt, EVENT_RETENTION_MS, POSITION, SETTLE_MS, timeOf } from '../tenant/user-events.ts';
import { reply, route, type Route } from './router.ts';

// GET /events: the tenant's user events (tenant/user-events.ts) as Server-Sent
// Events, as Auth0's Events API serves them: `event: <type>`, `id: <offset>`
// and `data: {offset, event}` per event, `offset-only` frames that move the
// cursor past filtered events and as a heartbeat, and `from` (resume after an
// offset) or `from_timestamp`, or else only what happens from now on. Every
// node reads the same table, so a subscriber sees the writes of all of them;
// an event is served once it is SETTLE_MS old, so that one still landing on
// another node is not passed over. A request that does not ask for
// text/event-stream (a plain fetch or curl) gets what is already kept after
// its start, then a last offset, and the answer ends.

const POLL_MS = 500;
const HEARTBEAT_MS = 15_000;
const MAX_OPEN_MS = 10 * 60_000; // then `connection_timeout`, with the offset to resume from
const BATCH = 100;
const RETRY_MS = 3_000;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})$/;

const gone = () => new ApiError(410, 'The requested position is no longer available: events are kept for 7 days.', 'cursor_expired');

/** Where the subscription starts: the cursor after which events are served. */
function startCursor(query: Record<string, any>): string {
  if (query.from !== undefined && query.from_timestamp !== undefined) {
    throw invalidQuery("Query validation error: 'from' and 'from_timestamp' cannot be used together.");
  }
  if (query.from !== undefined) {
    const t = POSITION.test(query.from) ? timeOf(query.from) : NaN;
    if (Number.isNaN(t)) throw new ApiError(400, 'The cursor given in from is not valid.', 'invalid_cursor');
    if (t < Date.now() - EVENT_RETENTION_MS) throw gone();
    return query.from;
  }
  if (query.from_timestamp !== undefined) {
    const t = RFC3339.test(query.from_timestamp) ? Date.parse(query.from_timestamp) : NaN;
    if (Number.isNaN(t)) throw invalidQuery("Query validation error: 'from_timestamp' must be an RFC 3339 timestamp.");
    if (t < Date.now() - EVENT_RETENTION_MS) throw gone();
    return cursorAt(t);
  }
  return cursorAt(Date.now());
}

const offsetOnly = (cursor: string) => `event: offset-only\nid: ${cursor}\ndata: ${JSON.stringify({ offset: cursor })}\n\n`;
const errorFrame = (code: string, message: string, offset: string) => `event: error\ndata: ${JSON.stringify({ error: { code, message, offset } })}\n\n`;

/** Writes frames until the client leaves, the connection's time is up, or (not live) what is kept is sent. */
async function pump(env: Env, out: ServerResponse, start: string, types: Set<string> | undefined, live: boolean) {
  const opened = Date.now();
  let closed = false;
  out.once('close', () => { closed = true; });
  const send = async (text: string) => {
    if (!closed && !out.write(text)) await Promise.race([once(out, 'drain'), once(out, 'close')]);
  };
  let cursor = start;
  let lastBeat = 0;
  try {
    await send(`:connected\n\nretry: ${RETRY_MS}\n\n`);
    while (!closed) {
      const bound = cursorAt(Date.now() - SETTLE_MS);
      const rows = cursor < bound ? await eventsBetween(env.store, cursor, bound, BATCH) : [];
      let skipped = false;
      for (const r of rows) {
        cursor = r.position;
        if (types && !types.has(r.type)) { skipped = true; continue; }
        await send(`event: ${r.type}\nid: ${r.position}\ndata: {"offset":"${r.position}","event":${r.data}}\n\n`);
      }
      const more = rows.length === BATCH;
      // Every event before the bound has been read, so the cursor may move up to it.
      if (!more && bound > cursor) cursor = bound;
      if (skipped || Date.now() - lastBeat >= HEARTBEAT_MS || (!more && !live)) {
        await send(offsetOnly(cursor));
        lastBeat = Date.now();
      }
      if (more) continue;
      if (!live) break;
      if (Date.now() - opened >= MAX_OPEN_MS) {
        await send(errorFrame('connection_timeout', 'The connection has been open for its longest time; resume from the offset.', cursor));
        break;
      }
      await sleep(POLL_MS);
    }
  } catch (e) {
    env.log.warn({ err: (e as Error).message }, 'events subscription failed');
    if (!closed) out.write(errorFrame('processing_error', 'The events could not be read; resume from the offset.', cursor));
  } finally {
    if (!closed) out.end();
  }
}

export const eventRoutes: Route[] = [
  route('GET', '/events', async ({ env, query, koa }) => {
    const start = startCursor(query);
    const types = query.event_type === undefined ? undefined : new Set<string>([].concat(query.event_type));
    // The frames go straight to the response: a subscriber that leaves is how a subscription ends, not an error.
    koa.respond = false;
    // No proxy in front may hold the frames back.
    koa.res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
    void pump(env, koa.res, start, types, /text\/event-stream/i.test(koa.get('accept')));
    return reply(200);
  }),
];
