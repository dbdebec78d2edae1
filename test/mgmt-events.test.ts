import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ManagementClient } from 'auth0';
import { startServer, type TestServer } from './helpers/server.ts';
import { managementClient } from './helpers/sdk.ts';
import { assertError } from './helpers/assert.ts';
import { eventsBetween, insertEvent } from '../src/store/event-store.ts';

// GET /api/v2/events: the user events Postern emits (user.created, .updated,
// .deleted), served as Server-Sent Events to the official SDK's subscription,
// and replayed from an offset or a timestamp.

let s: TestServer;
let mc: ManagementClient;
const DB = 'Username-Password-Authentication';
before(async () => { s = await startServer(); mc = managementClient(s); });
after(async () => { await s?.close(); });

interface Frame { event?: string; id?: string; data?: any; comment?: string; retry?: string }
function parseSse(text: string): Frame[] {
  return text.split('\n\n').filter((b) => b.trim()).map((block) => {
    const f: Frame = {};
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) f.comment = line.slice(1);
      else if (line.startsWith('event: ')) f.event = line.slice(7);
      else if (line.startsWith('id: ')) f.id = line.slice(4);
      else if (line.startsWith('retry: ')) f.retry = line.slice(7);
      else if (line.startsWith('data: ')) f.data = JSON.parse(line.slice(6));
    }
    return f;
  });
}

/** A request that does not ask for text/event-stream: what is kept after the start, then the answer ends. */
async function drain(query: string) {
  const r = await fetch(`${s.baseUrl}/api/v2/events${query}`, { headers: { authorization: `Bearer ${await s.token('read:events')}` } });
  assert.equal(r.status, 200, await r.clone().text());
  assert.match(String(r.headers.get('content-type')), /^text\/event-stream/);
  return parseSse(await r.text());
}

/** Polls `f` until it gives something (events are served once settled); never a fixed sleep. */
async function eventually<T>(f: () => Promise<T | undefined>, what: string, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const newUser = async (email: string) => {
  const r = await s.api('POST', '/users', { body: { connection: DB, email, password: 'Events-pw-12345!' } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
};
const ofUser = (frames: Frame[], userId: string) => frames.filter((f) => f.data?.event?.data?.object?.user_id === userId);

test('events older than the retention are pruned once events are written again (first test: nothing pruned yet)', async () => {
  const store = s.runtime.env.store;
  const old = `${new Date(Date.now() - 8 * 86_400_000).toISOString().replace(/\D/g, '').slice(0, 17)}000001000001`;
  await insertEvent(store, { position: old, type: 'user.created', data: '{}' });
  assert.equal((await eventsBetween(store, '0', '9', 10)).length, 1);
  await newUser('prune@example.com');
  await eventually(async () => ((await eventsBetween(store, '0', old + '1', 10)).length === 0 ? true : undefined), 'the old event pruned');
  assert.ok((await eventsBetween(store, old, '9', 10)).length >= 1, 'the new event is kept');
});

test('the SDK subscription receives user.created, user.updated and user.deleted as they happen, each with its offset', async () => {
  const abort = new AbortController();
  const stream = await mc.events.subscribe({}, { abortSignal: abort.signal });
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<any>;
  const seen: any[] = [];
  /** Reads messages until one satisfies `want`, with a deadline. */
  const until = async (want: (m: any) => boolean, what: string) => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      let timer: NodeJS.Timeout | undefined;
      const r = await Promise.race([it.next(), new Promise<never>((_, rej) => { timer = setTimeout(() => rej(new Error(`timed out waiting for ${what}`)), left); })]);
      clearTimeout(timer);
      if (r.done) throw new Error(`the stream ended while waiting for ${what}`);
      seen.push(r.value);
      if (want(r.value)) return r.value;
    }
  };
  try {
    // The stream opens with a cursor, so a subscriber can resume even before any event.
    const first = await until((m) => m.type === 'offset-only', 'the first offset');
    assert.match(first.offset, /^\d{29}$/);

    const user = await newUser('stream@example.com');
    const created = await until((m) => m.type === 'user.created', 'user.created');
    assert.match(created.offset, /^\d{29}$/);
    assert.ok(created.offset > first.offset);
    const e = created.event;
    assert.equal(e.specversion, '1.0');
    assert.equal(e.type, 'user.created');
    assert.match(e.id, /^evt_[a-zA-Z0-9]{16}$/);
    assert.ok(!Number.isNaN(Date.parse(e.time)));
    assert.match(e.source, /^urn:auth0:.+:users$/);
    assert.equal(e.data.object.user_id, user.user_id);
    assert.equal(e.data.object.email, 'stream@example.com');
    assert.deepEqual(e.data.object.identities, user.identities);
    assert.ok(!JSON.stringify(e).includes('Events-pw-12345!'), 'no password in an event');
    assert.ok(!JSON.stringify(e).includes('password_hash'));

    await s.api('PATCH', `/users/${encodeURIComponent(user.user_id)}`, { body: { name: 'Renamed', user_metadata: { plan: 'pro' } } });
    const updated = await until((m) => m.type === 'user.updated', 'user.updated');
    assert.equal(updated.event.data.object.name, 'Renamed');
    assert.deepEqual(updated.event.data.object.user_metadata, { plan: 'pro' });
    assert.ok(updated.offset > created.offset);

    assert.equal((await s.api('DELETE', `/users/${encodeURIComponent(user.user_id)}`)).status, 204);
    const deleted = await until((m) => m.type === 'user.deleted', 'user.deleted');
    assert.equal(deleted.event.data.object.user_id, user.user_id);
    assert.ok(!Number.isNaN(Date.parse(deleted.event.data.object.deleted_at)));
    assert.equal((await s.api('GET', `/users/${encodeURIComponent(user.user_id)}`)).status, 404);
  } finally {
    abort.abort();
    await it.return?.().catch(() => undefined);
  }
});

test('from replays what came after an offset, in order; from_timestamp what came at or after a time', async () => {
  const since = new Date(Date.now() - 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  const a = await newUser('replay-a@example.com');
  const b = await newUser('replay-b@example.com');
  const frames = await eventually(async () => {
    const f = await drain(`?from_timestamp=${since}`);
    return ofUser(f, b.user_id).length ? f : undefined;
  }, 'both users in the replay');
  assert.equal(frames[0].comment, 'connected');
  assert.equal(frames[1].retry, '3000');
  const [ca] = ofUser(frames, a.user_id);
  const [cb] = ofUser(frames, b.user_id);
  assert.equal(ca.event, 'user.created');
  assert.equal(ca.id, ca.data.offset);
  assert.ok(frames.indexOf(ca) < frames.indexOf(cb), 'in the order they happened');
  // The answer ends with the cursor to resume from.
  const last = frames[frames.length - 1];
  assert.equal(last.event, 'offset-only');
  assert.ok(last.data.offset >= cb.data.offset);

  // After a's offset: b, and not a again.
  const after = await drain(`?from=${ca.data.offset}`);
  assert.equal(ofUser(after, a.user_id).length, 0);
  assert.deepEqual(ofUser(after, b.user_id).map((f) => f.data), [cb.data]);
  // After the last offset, none of them.
  const none = await drain(`?from=${last.data.offset}`);
  assert.deepEqual(none.filter((f) => f.data?.event).map((f) => f.data.event.data.object.email).filter((x: string) => x?.startsWith('replay-')), []);
});

test('event_type filters; skipped events still move the cursor (offset-only)', async () => {
  const since = new Date(Date.now() - 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  const u = await newUser('filtered@example.com');
  await s.api('DELETE', `/users/${encodeURIComponent(u.user_id)}`);
  const frames = await eventually(async () => {
    const f = await drain(`?from_timestamp=${since}&event_type=user.deleted`);
    return ofUser(f, u.user_id).length ? f : undefined;
  }, 'the deletion');
  const mine = ofUser(frames, u.user_id);
  assert.deepEqual(mine.map((f) => f.event), ['user.deleted']);
  assert.ok(frames.every((f) => !f.event || f.event === 'user.deleted' || f.event === 'offset-only'));
  // Two types at once, as the SDK sends them (event_type repeated).
  const both = await drain(`?from_timestamp=${since}&event_type=user.created&event_type=user.deleted`);
  assert.deepEqual(ofUser(both, u.user_id).map((f) => f.event), ['user.created', 'user.deleted']);
});

test('bad starting points: both from and from_timestamp, a malformed cursor or time, an unknown type are 400s; an expired one 410', async () => {
  const token = await s.token('read:events');
  const get = (q: string) => s.api('GET', `/events${q}`, { token });
  assertError(await get(`?from=${'2'.repeat(29)}&from_timestamp=2026-01-01T00:00:00Z`), 400);
  assertError(await get('?from=abc'), 400, undefined, 'invalid_cursor');
  assertError(await get(`?from=${'9'.repeat(29)}`), 400, undefined, 'invalid_cursor');
  assertError(await get('?from_timestamp=yesterday'), 400, undefined, 'invalid_query_string');
  assertError(await get('?event_type=user.exploded'), 400, undefined, 'invalid_query_string');
  const old = new Date(Date.now() - 8 * 86_400_000);
  const oldCursor = `${old.toISOString().replace(/\D/g, '').slice(0, 17)}000001000001`;
  const gone = await get(`?from=${oldCursor}`);
  assertError(gone, 410, /no longer available/, 'cursor_expired');
  assert.equal(gone.body.error, 'Gone');
  assertError(await get(`?from_timestamp=${old.toISOString().replace(/\.\d+Z$/, 'Z')}`), 410, undefined, 'cursor_expired');
  assertError(await s.api('GET', '/events', { token: await s.token('read:users') }), 403, undefined, 'insufficient_scope');
});

test('without a start, a plain request gets only a cursor at the present, and events after it from there', async () => {
  await newUser('before-cursor@example.com');
  const now = await drain('');
  assert.deepEqual(now.filter((f) => f.event).map((f) => f.event), ['offset-only']);
  const cursor = now[now.length - 1].data.offset;
  const later = await newUser('after-cursor@example.com');
  const frames = await eventually(async () => {
    const f = await drain(`?from=${cursor}`);
    return ofUser(f, later.user_id).length ? f : undefined;
  }, 'the later user');
  assert.deepEqual(frames.filter((f) => f.data?.event?.data?.object?.email === 'before-cursor@example.com'), []);
});
