import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { ManagementClient } from 'auth0';
import { startServer, type TestServer } from './helpers/server.ts';
import { collect as all, managementClient } from './helpers/sdk.ts';
import { assertError } from './helpers/assert.ts';
import { startReceiver } from './helpers/https-receiver.ts';
import { eventsBetween } from '../src/store/event-store.ts';

// Real user events (user.created, .updated, .deleted) delivered to webhook
// event streams, as Auth0 sends them: the kept CloudEvent with `a0stream`,
// the stream's authorization, retries, the failed-delivery history and its
// redelivery; and, on PostgreSQL, two nodes that deliver each event once.

let s: TestServer;
let mc: ManagementClient;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
const DB = 'Username-Password-Authentication';
before(async () => {
  s = await startServer();
  mc = managementClient(s);
  receiver = await startReceiver();
});
after(async () => { await s?.close(); await receiver?.close(); });

/** Polls until `f` gives something truthy (deliveries run beside the requests); never a fixed sleep. */
async function eventually<T>(f: () => Promise<T | undefined | false>, what: string, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const webhook = (path: string, auth: Record<string, unknown>) =>
  ({ type: 'webhook', configuration: { webhook_endpoint: `${receiver.url}${path}`, webhook_authorization: auth } });
const stream = async (name: string, types: string[], destination: object, extra: object = {}) =>
  (await s.api('POST', '/event-streams', { body: { name, subscriptions: types.map((event_type) => ({ event_type })), destination, ...extra } })).body;
const newUser = async (email: string, on: TestServer = s) => {
  const r = await on.api('POST', '/users', { body: { connection: DB, email, password: 'Stream-pw-12345!' } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
};
/** The events POSTed to `path` about one user, in arrival order. */
const posted = (path: string, userId: string) => receiver.received
  .filter((x) => x.path === path && JSON.parse(x.body).data?.object?.user_id === userId)
  .map((x) => ({ event: JSON.parse(x.body), headers: x.headers }));
/** The user events the tenant kept, as GET /events serves them. */
const kept = async (t: TestServer = s) => (await eventsBetween(t.runtime.env.store, '0', '9'.repeat(30), 10_000)).map((r) => ({ ...r, event: JSON.parse(r.data) }));

test('creating, updating and deleting a user reaches a subscribed stream with the kept CloudEvent, a0stream and the authorization', async () => {
  const every = await stream('every', ['user.created', 'user.updated', 'user.deleted'], webhook('/every', { method: 'bearer', token: 'stream-bearer-secret' }));
  const deletes = await stream('deletes', ['user.deleted'], webhook('/deletes', { method: 'basic', username: 'hook', password: 'basic-secret' }));
  assert.equal(every.status, 'enabled');

  const user = await mc.users.create({ connection: DB, email: 'lifecycle@example.com', password: 'Stream-pw-12345!' });
  await mc.users.update(user.user_id!, { given_name: 'Ada' });
  await mc.users.delete(user.user_id!);

  const got = await eventually(async () => { const p = posted('/every', user.user_id!); return p.length >= 3 && p; }, 'three events at /every');
  assert.deepEqual(got.map((x) => x.event.type), ['user.created', 'user.updated', 'user.deleted']);
  const keptOnes = (await kept()).filter((k) => k.event.data.object.user_id === user.user_id);
  // Each delivery is the event GET /events serves, with the stream's id added, and no a0purpose (test events only).
  assert.deepEqual(got.map((x) => x.event), keptOnes.map((k) => ({ ...k.event, a0stream: every.id })));
  const tenant = s.domain.replace(/:\d+$/, '');
  for (const { event, headers } of got) {
    assert.equal(headers.authorization, 'Bearer stream-bearer-secret');
    assert.equal(headers['content-type'], 'application/json');
    assert.equal(event.specversion, '1.0');
    assert.match(event.id, /^evt_/);
    assert.equal(event.source, `urn:auth0:${tenant}:users`);
    assert.equal(event.a0tenant, tenant);
    assert.equal(event.a0stream, every.id);
    assert.ok(!('a0purpose' in event));
    assert.equal(event.data.object.email, 'lifecycle@example.com');
  }
  assert.equal(got[1].event.data.object.given_name, 'Ada');
  assert.equal(typeof got[2].event.data.object.deleted_at, 'string');
  assert.equal(got.length, 3, 'each event once');

  // The stream subscribed to user.deleted only: that event arrives, and the earlier
  // (unsubscribed) ones, which would have come first, never did.
  const del = await eventually(async () => { const p = posted('/deletes', user.user_id!); return p.length > 0 && p; }, 'the delete at /deletes');
  assert.deepEqual(del.map((x) => x.event.type), ['user.deleted']);
  assert.equal(del[0].event.a0stream, deletes.id);
  assert.equal(del[0].event.id, got[2].event.id);
  assert.equal(del[0].headers.authorization, `Basic ${Buffer.from('hook:basic-secret').toString('base64')}`);

  // Nothing failed, so no delivery is listed.
  assert.deepEqual(await all(await mc.eventStreams.deliveries.list(every.id)), []);
  assert.deepEqual((await s.api('GET', `/event-streams/${deletes.id}/deliveries`)).body, { deliveries: [] });
  await mc.eventStreams.delete(every.id);
  await mc.eventStreams.delete(deletes.id);
});

test('a stream gets only events after its creation, and a disabled stream none, not even once it is enabled again', async () => {
  const earlier = await newUser('before-stream@example.com');
  const fresh = await stream('fresh', ['user.created', 'user.updated'], webhook('/fresh', { method: 'bearer', token: 'fresh-secret' }));
  const paused = await stream('paused', ['user.created', 'user.updated'], webhook('/paused', { method: 'custom_header', header_key: 'x-paused', header_value: 'paused-secret' }), { status: 'disabled' });
  assert.equal(paused.status, 'disabled');
  const during = await newUser('while-disabled@example.com');
  // The stream's position moves past what happened while it was disabled (polled, internal state).
  const createdAt = (await kept()).find((k) => k.type === 'user.created' && k.event.data.object.user_id === during.user_id)!.position;
  await eventually(async () => {
    const c = await s.runtime.env.store.getTenantDoc<{ after: string; lease?: unknown }>(`event-streams:cursor:${paused.id}`);
    return c && !c.lease && c.after >= createdAt;
  }, 'the disabled stream passing the event');
  assert.equal((await mc.eventStreams.update(paused.id, { status: 'enabled' })).status, 'enabled');
  await mc.users.update(during.user_id, { family_name: 'Later' });
  await mc.users.update(earlier.user_id, { family_name: 'Earlier' });

  // Once the later updates arrived, the earlier events would have too: none did.
  const a = await eventually(async () => { const p = posted('/paused', during.user_id); return p.length > 0 && p; }, 'the update of the user made while disabled');
  const b = await eventually(async () => { const p = posted('/paused', earlier.user_id); return p.length > 0 && p; }, 'the update of the user made before the stream');
  assert.deepEqual(a.map((x) => [x.event.type, x.event.data.object.family_name]), [['user.updated', 'Later']]);
  assert.deepEqual(b.map((x) => [x.event.type, x.event.data.object.family_name]), [['user.updated', 'Earlier']]);
  assert.equal(a[0].headers['x-paused'], 'paused-secret');
  assert.equal(receiver.received.filter((x) => x.path === '/paused').length, 2);

  // The stream enabled all along got what happened after it was made, in order, and not the user made before it.
  const seen = await eventually(async () => {
    const p = posted('/fresh', earlier.user_id);
    return p.length > 0 && receiver.received.filter((x) => x.path === '/fresh').map((x) => JSON.parse(x.body));
  }, 'the update at /fresh');
  assert.deepEqual(seen.map((e) => [e.type, e.data.object.user_id]), [
    ['user.created', during.user_id], ['user.updated', during.user_id], ['user.updated', earlier.user_id],
  ]);
  await mc.eventStreams.delete(fresh.id);
  await mc.eventStreams.delete(paused.id);
  assert.equal(await s.runtime.env.store.getTenantDoc(`event-streams:cursor:${paused.id}`), undefined, 'its position went with it');
});

test('a failing endpoint is retried, then its delivery is listed as failed; redelivery lands it and clears it', async () => {
  receiver.serve['/flaky'] = { status: 503, body: 'down for now' };
  receiver.serve['/gone'] = { status: 410, body: 'gone' };
  const flaky = await stream('flaky', ['user.created'], webhook('/flaky', { method: 'bearer', token: 'flaky-secret' }));
  const gone = await stream('gone', ['user.created'], webhook('/gone', { method: 'bearer', token: 'gone-secret' }));
  const user = await newUser('retried@example.com');

  // Four attempts (the first and three retries), then the failure is listed.
  const [failed] = await eventually(async () => {
    const r = await s.api('GET', `/event-streams/${flaky.id}/deliveries`);
    assert.equal(r.status, 200);
    return r.body.deliveries.length && r.body.deliveries;
  }, 'the failed delivery', 45_000);
  assert.deepEqual([failed.event_stream_id, failed.event_type, failed.status, failed.attempts.length], [flaky.id, 'user.created', 'failed', 4]);
  for (const a of failed.attempts) assert.deepEqual([a.status, a.error_message], ['failed', '503 - down for now']);
  assert.equal(failed.event.data.object.user_id, user.user_id);
  assert.equal(failed.event.a0stream, flaky.id);
  assert.equal(failed.id, failed.event.id);
  assert.equal(posted('/flaky', user.user_id).length, 4);
  assert.ok(!JSON.stringify(failed).includes('flaky-secret'), 'no credential in the history');
  assert.deepEqual(await mc.eventStreams.deliveries.getHistory(flaky.id, failed.id), failed);

  // A 4xx answer is final: one attempt.
  const [refused] = await eventually(async () => {
    const r = await s.api('GET', `/event-streams/${gone.id}/deliveries`);
    return r.body.deliveries.length && r.body.deliveries;
  }, 'the refused delivery');
  assert.deepEqual(refused.attempts.map((a: any) => a.error_message), ['410 - gone']);
  assert.equal(posted('/gone', user.user_id).length, 1);

  // Unknown ids are 404s and change nothing.
  assertError(await s.api('POST', `/event-streams/${flaky.id}/redeliver/evt_doesnotexist`), 404, 'The event delivery does not exist.');
  assertError(await s.api('GET', `/event-streams/est_0000000000000000000000/deliveries`), 404, 'The event stream does not exist.');
  assert.equal((await s.api('GET', `/event-streams/${flaky.id}/deliveries`)).body.deliveries.length, 1);

  // The endpoint recovers: a redelivery lands the same event and the failure is gone.
  delete receiver.serve['/flaky'];
  await mc.eventStreams.redeliveries.createById(flaky.id, failed.id);
  const again = await eventually(async () => { const p = posted('/flaky', user.user_id); return p.length === 5 && p; }, 'the redelivery');
  assert.deepEqual(again[4].event, failed.event);
  assert.equal(again[4].headers.authorization, 'Bearer flaky-secret');
  await eventually(async () => (await s.api('GET', `/event-streams/${flaky.id}/deliveries`)).body.deliveries.length === 0, 'the cleared history');
  assertError(await s.api('GET', `/event-streams/${flaky.id}/deliveries/${failed.id}`), 404, 'The event delivery does not exist.');
  // The refused one stays until it is redelivered.
  assert.equal((await s.api('GET', `/event-streams/${gone.id}/deliveries`)).body.deliveries.length, 1);
  await mc.eventStreams.delete(flaky.id);
  await mc.eventStreams.delete(gone.id);
});

// --- several nodes on one PostgreSQL database ------------------------------------

const base = process.env.POSTERN_TEST_DATABASE_URL;

async function sharedSchema(url: string) {
  const schema = `evstream_${process.pid}_${randomBytes(4).toString('hex')}`;
  const run = async (sql: string) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try { await c.query(sql); } finally { await c.end(); }
  };
  await run(`CREATE SCHEMA ${schema}`);
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return { url: u.toString(), drop: () => run(`DROP SCHEMA IF EXISTS ${schema} CASCADE`) };
}

test('two nodes on one database deliver each event to a stream once', { skip: base ? false : 'runs on PostgreSQL only' }, async () => {
  const shared = await sharedSchema(base!);
  const masterKey = randomBytes(32).toString('hex');
  const nodes: TestServer[] = [];
  try {
    const a = await startServer(['--database-url', shared.url, '--master-key', masterKey]);
    nodes.push(a);
    const b = await startServer(['--database-url', shared.url, '--master-key', masterKey, '--domain', a.domain]);
    nodes.push(b);
    const es = (await a.api('POST', '/event-streams', { body: {
      name: 'nodes', subscriptions: [{ event_type: 'user.created' }, { event_type: 'user.updated' }], destination: webhook('/nodes', { method: 'bearer', token: 'nodes-secret' }),
    } })).body;
    assert.equal(es.status, 'enabled');
    // Users created and updated through both nodes, concurrently.
    const users = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => newUser(`node-${i}@example.com`, i % 2 ? a : b)));
    await Promise.all(users.map((u, i) => (i % 2 ? b : a).api('PATCH', `/users/${encodeURIComponent(u.user_id)}`, { body: { given_name: `n${i}` } })));
    const events = (await kept(a)).filter((k) => users.some((u) => u.user_id === k.event.data.object.user_id));
    assert.equal(events.length, 12);
    const arrived = () => receiver.received.filter((x) => x.path === '/nodes').map((x) => JSON.parse(x.body));
    await eventually(async () => events.every((e) => arrived().some((x) => x.id === e.event.id)), 'every event at /nodes');
    // A last event, sent after all the others, arrives after any resend of them would have.
    const last = await newUser('node-last@example.com', b);
    await eventually(async () => arrived().some((x) => x.data.object.user_id === last.user_id), 'the last event');
    for (const e of events) assert.equal(arrived().filter((x) => x.id === e.event.id).length, 1, `${e.type} delivered once`);
    assert.equal(arrived().length, 13);
    assert.ok(arrived().every((x) => x.a0stream === es.id));
  } finally {
    for (const n of nodes) await n.close();
    await shared.drop();
  }
});
