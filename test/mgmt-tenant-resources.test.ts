import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import type { ManagementClient } from 'auth0';
import { startServer, type TestServer } from './helpers/server.ts';
import { collect as all, managementClient } from './helpers/sdk.ts';
import { assertError } from './helpers/assert.ts';
import { startReceiver } from './helpers/https-receiver.ts';

// Tenant configuration that Terraform and posture scanners manage: log streams,
// event streams (with the test deliveries Postern really makes), network ACLs,
// the attack-protection and risk settings documents, and custom signing keys.
// Through the official SDK where it has the method, plain fetch otherwise.

let s: TestServer;
let mc: ManagementClient;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
before(async () => {
  s = await startServer();
  mc = managementClient(s);
  receiver = await startReceiver();
});
after(async () => { await receiver?.close(); await s?.close(); });

const doc = (name: string) => s.runtime.env.store.getTenantDoc<any>(name);
const box = () => s.runtime.env.box;
/** Polls until `f` gives something truthy (deliveries run after the answer). */
async function eventually<T>(f: () => Promise<T | undefined | false>, what: string, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// --- log streams ---------------------------------------------------------------

const HTTP_SINK = { httpEndpoint: 'https://logs.example.com/in', httpContentType: 'application/json', httpContentFormat: 'JSONLINES', httpAuthorization: 'Bearer http-log-secret' };

test('log streams: an http stream is created (200), read and listed as Auth0 answers it; its credential is sealed at rest', async () => {
  const r = await s.api('POST', '/log-streams', { body: { name: 'siem', type: 'http', sink: HTTP_SINK } });
  assert.equal(r.status, 200, 'Auth0 answers a new log stream with 200');
  assert.match(r.body.id, /^lst_\d{16}$/);
  assert.deepEqual(r.body, { id: r.body.id, name: 'siem', type: 'http', status: 'active', isPriority: false, sink: HTTP_SINK });
  assert.deepEqual(await mc.logStreams.get(r.body.id), r.body);
  assert.deepEqual((await mc.logStreams.list()).find((x: any) => x.id === r.body.id), r.body);
  const stored = (await doc('log-streams')).items.find((x: any) => x.id === r.body.id);
  assert.ok(!JSON.stringify(stored).includes('http-log-secret'), 'the authorization is not stored in clear');
  assert.equal(box().open(stored.sink.httpAuthorization), 'Bearer http-log-secret');
});

test('log streams: a PATCH merges the sink, keeps what it does not name, and changes status, filters and pii_config', async () => {
  const created: any = await mc.logStreams.create({ name: 'merge', type: 'http', sink: HTTP_SINK } as any);
  const up: any = await mc.logStreams.update(created.id, {
    status: 'paused', isPriority: true, sink: { httpEndpoint: 'https://logs.example.com/v2', httpContentFormat: 'JSONARRAY' } as any,
    filters: [{ type: 'category', name: 'auth.login.fail' }], pii_config: { log_fields: ['email'] } as any,
  });
  assert.deepEqual(up, {
    id: created.id, name: 'merge', type: 'http', status: 'paused', isPriority: true,
    sink: { ...HTTP_SINK, httpEndpoint: 'https://logs.example.com/v2', httpContentFormat: 'JSONARRAY' },
    filters: [{ type: 'category', name: 'auth.login.fail' }], pii_config: { log_fields: ['email'], method: 'hash', algorithm: 'xxhash' },
  });
  // Empty filters leave them out of the answer, as Auth0 does; pii_config is an object or absent.
  const cleared: any = await mc.logStreams.update(created.id, { filters: [] });
  assert.equal(cleared.filters, undefined);
  assert.deepEqual(cleared.pii_config, up.pii_config);
  assert.deepEqual(await mc.logStreams.get(created.id), cleared);
  assertError(await s.api('PATCH', `/log-streams/${created.id}`, { body: { pii_config: null } }), 400, /pii_config/);
  assertError(await s.api('PATCH', `/log-streams/${created.id}`, { body: { pii_config: { log_fields: ['ssn'] } } }), 400, /pii_config/);
});

test('log streams: Mixpanel\'s password is masked in every answer and kept when a PATCH leaves it out', async () => {
  const sink = { mixpanelRegion: 'us', mixpanelProjectId: '123456', mixpanelServiceAccountUsername: 'svc.acct', mixpanelServiceAccountPassword: 'mixpanel-pass' };
  const m: any = await mc.logStreams.create({ name: 'mp', type: 'mixpanel', sink } as any);
  assert.deepEqual(m.sink, { ...sink, mixpanelServiceAccountPassword: '********' });
  const up: any = await mc.logStreams.update(m.id, { sink: { mixpanelRegion: 'eu', mixpanelProjectId: '654321', mixpanelServiceAccountUsername: 'svc.acct' } as any });
  assert.deepEqual(up.sink, { mixpanelRegion: 'eu', mixpanelProjectId: '654321', mixpanelServiceAccountUsername: 'svc.acct', mixpanelServiceAccountPassword: '********' });
  const stored = (await doc('log-streams')).items.find((x: any) => x.id === m.id);
  assert.equal(box().open(stored.sink.mixpanelServiceAccountPassword), 'mixpanel-pass', 'the password survived the PATCH');
  assert.ok(!JSON.stringify(await s.api('GET', '/log-streams')).includes('mixpanel-pass'));
});

test('log streams: datadog, splunk, segment, sumo, EventBridge and Event Grid sinks, with Auth0\'s defaults and partner names', async () => {
  const dd: any = await mc.logStreams.create({ type: 'datadog', name: 'dd', sink: { datadogRegion: 'us', datadogApiKey: 'dd-key' }, pii_config: { log_fields: ['first_name'], method: 'mask' } } as any);
  assert.deepEqual([dd.sink, dd.pii_config], [{ datadogRegion: 'us', datadogApiKey: 'dd-key' }, { log_fields: ['first_name'], method: 'mask', algorithm: 'xxhash' }]);
  const sp: any = await mc.logStreams.create({ type: 'splunk', name: 'sp', sink: { splunkDomain: 'splunk.example.com', splunkPort: '8088', splunkToken: 'sp-token', splunkSecure: true } } as any);
  assert.equal(sp.sink.splunkToken, 'sp-token');
  const seg: any = await mc.logStreams.create({ type: 'segment', name: 'seg', sink: { segmentWriteKey: 'seg-key' } } as any);
  assert.deepEqual(seg.sink, { segmentWriteKey: 'seg-key' });
  const sumo: any = await mc.logStreams.create({ type: 'sumo', name: 'sumo', sink: { sumoSourceAddress: 'https://sumo.example.com/x' } } as any);
  assert.deepEqual(sumo.sink, { sumoSourceAddress: 'https://sumo.example.com/x' });
  const eb: any = await mc.logStreams.create({ type: 'eventbridge', name: 'eb', sink: { awsAccountId: '123456789012', awsRegion: 'us-east-1' } } as any);
  assert.match(eb.sink.awsPartnerEventSource, /^aws\.partner\/auth0\.com\/.+-[0-9a-f-]{36}\/auth0\.logs$/);
  const sub = 'b69a6835-57c7-4d53-b0d5-1c6ae580b6d5';
  const eg: any = await mc.logStreams.create({ type: 'eventgrid', name: 'eg', sink: { azureSubscriptionId: sub, azureRegion: 'westeurope', azureResourceGroup: 'rg' } } as any);
  assert.match(eg.sink.azurePartnerTopic, new RegExp(`^azure\\.partner/auth0\\.com/.+-${sub}/auth0\\.logs$`));
  const stored = JSON.stringify(await doc('log-streams'));
  for (const secret of ['dd-key', 'sp-token', 'seg-key']) assert.ok(!stored.includes(secret), `${secret} is sealed`);
});

test('log streams: bad input is 400 and changes nothing; unknown ids are 404; a delete is gone', async () => {
  const before = JSON.stringify(await doc('log-streams'));
  for (const body of [
    { type: 'nope', sink: {} },
    { type: 'http', sink: { httpEndpoint: 'http://plain.example.com' } },
    { type: 'datadog', sink: { datadogRegion: 'mars', datadogApiKey: 'k' } },
    { type: 'http', sink: HTTP_SINK, filters: [{ type: 'category' }] },
    { type: 'eventbridge', sink: { awsAccountId: '12', awsRegion: 'us-east-1' } },
  ]) assertError(await s.api('POST', '/log-streams', { body }), 400, /Payload validation error/, 'invalid_body');
  const h: any = await mc.logStreams.create({ type: 'http', name: 'keep', sink: HTTP_SINK } as any);
  const snapshot = JSON.stringify((await doc('log-streams')).items.find((x: any) => x.id === h.id));
  // Another type's sink, or a merged sink that misses what the type requires, is refused.
  assertError(await s.api('PATCH', `/log-streams/${h.id}`, { body: { sink: { segmentWriteKey: 'x' } } }), 400, /sink/);
  assertError(await s.api('PATCH', `/log-streams/${h.id}`, { body: { status: 'deleted' } }), 400);
  assert.equal(JSON.stringify((await doc('log-streams')).items.find((x: any) => x.id === h.id)), snapshot, 'a refused PATCH wrote nothing');
  assert.equal(before === JSON.stringify(await doc('log-streams')), false); // only `keep` was added
  for (const [method, body] of [['GET'], ['PATCH', { name: 'x' }], ['DELETE']] as const) {
    assertError(await s.api(method, '/log-streams/lst_0000000000000000', { body }), 404, 'The log stream does not exist.', 'inexistent_log_stream');
  }
  await mc.logStreams.delete(h.id);
  assertError(await s.api('GET', `/log-streams/${h.id}`), 404);
  assert.ok(!(await mc.logStreams.list()).some((x: any) => x.id === h.id));
});

// --- log stream delivery ----------------------------------------------------------

/** The entries delivered to `path` so far, whatever the format. */
const deliveredTo = (path: string) => receiver.received.filter((x) => x.path === path).flatMap((x) =>
  (x.body.trim().startsWith('[') ? JSON.parse(x.body) : x.body.split('\n').filter(Boolean).map((l) => JSON.parse(l))));

test('log stream delivery: an active http stream receives the tenant log written after it was made, with its headers and format', async () => {
  await s.api('PATCH', '/tenants/settings', { body: { friendly_name: 'before the stream' } });
  await s.runtime.env.events.flush();
  const stream: any = await mc.logStreams.create({
    name: 'delivered', type: 'http',
    sink: { httpEndpoint: `${receiver.url}/logs-array`, httpContentFormat: 'JSONARRAY', httpContentType: 'application/json; charset=utf-8', httpAuthorization: 'Bearer stream-secret', httpCustomHeaders: [{ header: 'x-tenant', value: 'acme' }] },
  } as any);
  const role = (await s.api('POST', '/roles', { body: { name: 'streamed-role' } })).body;
  const entry = await eventually(async () => deliveredTo('/logs-array').find((e: any) => e.data.type === 'sapi' && e.data.details?.request?.path === '/api/v2/roles'), 'the streamed sapi event');
  assert.equal(entry.log_id, entry.data.log_id);
  assert.equal(entry.data.description, 'POST /roles');
  const post = receiver.received.find((x) => x.path === '/logs-array')!;
  assert.deepEqual([post.headers.authorization, post.headers['x-tenant'], post.headers['content-type']], ['Bearer stream-secret', 'acme', 'application/json; charset=utf-8']);
  assert.ok(!deliveredTo('/logs-array').some((e: any) => e.data.description === 'PATCH /tenants/settings'), 'events from before the stream are not sent');
  // Each event once, in log order; the position is stored with the stream.
  const ids = deliveredTo('/logs-array').map((e: any) => e.log_id);
  assert.deepEqual(ids, [...new Set(ids)].sort());
  const cursor = await eventually(async () => { const c = await doc(`log-stream-cursors:${stream.id}`); return c?.lease ? undefined : c; }, 'the released cursor');
  assert.ok(cursor.after >= entry.log_id);
  assert.ok(role.id);
  await mc.logStreams.delete(stream.id);
  assert.equal(await doc(`log-stream-cursors:${stream.id}`), undefined, 'the position goes with the stream');
});

test('log stream delivery: JSON lines with a category filter; a paused stream gets nothing; a failing endpoint is retried without logging the sink', async () => {
  const lines: any = await mc.logStreams.create({ name: 'fails only', type: 'http', filters: [{ type: 'category', name: 'management.fail' }], sink: { httpEndpoint: `${receiver.url}/lines`, httpContentFormat: 'JSONLINES' } } as any);
  const paused: any = await mc.logStreams.create({ name: 'paused', type: 'http', sink: { httpEndpoint: `${receiver.url}/paused` } } as any);
  await mc.logStreams.update(paused.id, { status: 'paused' });
  const warnings: unknown[] = [];
  const log = s.runtime.env.log;
  const warn = log.warn.bind(log);
  (log as any).warn = (...args: unknown[]) => { warnings.push(args); return warn(...(args as [any])); };
  try {
    const failing: any = await mc.logStreams.create({ name: 'down', type: 'http', sink: { httpEndpoint: 'https://127.0.0.1:9/down-path', httpAuthorization: 'Bearer never-logged' } } as any);
    await s.api('POST', '/roles', { body: { name: 'ok-role' } });
    await s.api('POST', '/roles', { body: { nope: true } }); // a 400: fapi
    const got = await eventually(async () => deliveredTo('/lines').find((e: any) => e.data.type === 'fapi'), 'the fapi event');
    assert.equal(got.data.details.response.statusCode, 400);
    assert.ok(deliveredTo('/lines').every((e: any) => e.data.type === 'fapi'), 'the filter lets management failures through only');
    await eventually(async () => warnings.some((w: any) => w[0]?.stream === failing.id), 'the failure warning');
    assert.ok(!JSON.stringify(warnings).includes('never-logged') && !JSON.stringify(warnings).includes('down-path'), 'no sink detail in the process log');
    const cursor = await doc(`log-stream-cursors:${failing.id}`);
    assert.ok(!cursor?.lease, 'the lease was given back');
    assert.equal(cursor.after.length, 20, 'the position did not move past undelivered events');
    assert.equal(deliveredTo('/paused').length, 0, 'a paused stream is not delivered');
    await mc.logStreams.delete(failing.id);
  } finally {
    (log as any).warn = warn;
  }
  await mc.logStreams.delete(lines.id);
  await mc.logStreams.delete(paused.id);
});

// --- event streams ---------------------------------------------------------------

const webhook = (endpoint: string, auth: Record<string, unknown> = { method: 'bearer', token: 'wh-bearer-secret' }) =>
  ({ type: 'webhook', configuration: { webhook_endpoint: endpoint, webhook_authorization: auth } });

test('event streams: a webhook stream is created (201) without its credential in any answer; it is sealed at rest', async () => {
  const r = await s.api('POST', '/event-streams', { body: { name: 'hooks', subscriptions: [{ event_type: 'user.created' }], destination: webhook('https://hooks.example.com/in') } });
  assert.equal(r.status, 201);
  assert.match(r.body.id, /^est_[A-Za-z0-9]{22}$/);
  assert.deepEqual({ ...r.body, created_at: 0, updated_at: 0 }, {
    id: r.body.id, name: 'hooks', status: 'enabled', subscriptions: [{ event_type: 'user.created' }], created_at: 0, updated_at: 0,
    destination: { type: 'webhook', configuration: { webhook_endpoint: 'https://hooks.example.com/in', webhook_authorization: { method: 'bearer' } } },
  });
  assert.deepEqual(await mc.eventStreams.get(r.body.id), r.body);
  assert.deepEqual((await all(await mc.eventStreams.list())).find((x: any) => x.id === r.body.id), r.body);
  const stored = JSON.stringify(await doc('event-streams'));
  assert.ok(!stored.includes('wh-bearer-secret'), 'the token is not stored in clear');

  // The same method without a credential keeps the stored one; another method needs its own.
  const up: any = await mc.eventStreams.update(r.body.id, { name: 'renamed', status: 'disabled', destination: webhook('https://hooks.example.com/v2', { method: 'bearer' }) as any });
  assert.deepEqual([up.name, up.status, up.destination.configuration.webhook_endpoint], ['renamed', 'disabled', 'https://hooks.example.com/v2']);
  assert.ok(Date.parse(up.updated_at) >= Date.parse(r.body.updated_at));
  assertError(await s.api('PATCH', `/event-streams/${r.body.id}`, { body: { destination: webhook('https://hooks.example.com/v2', { method: 'basic', username: 'u' }) } }), 400, /password/);
  const basic: any = await mc.eventStreams.update(r.body.id, { destination: webhook('https://hooks.example.com/v2', { method: 'basic', username: 'u', password: 'basic-pass' }) as any });
  assert.deepEqual(basic.destination.configuration.webhook_authorization, { method: 'basic', username: 'u' });
  assert.ok(!JSON.stringify(await doc('event-streams')).includes('basic-pass'));
});

test('event streams: EventBridge and action destinations, checked as Auth0 checks them; bad input is 400, unknown ids 404', async () => {
  const eb: any = await mc.eventStreams.create({ name: 'eb', subscriptions: [{ event_type: 'user.deleted' }], destination: { type: 'eventbridge', configuration: { aws_account_id: '123456789012', aws_region: 'us-east-2' } } } as any);
  assert.match(eb.destination.configuration.aws_partner_event_source, /^aws\.partner\/auth0\.com\/.+\/auth0\.events$/);
  // The destination's type cannot change.
  assertError(await s.api('PATCH', `/event-streams/${eb.id}`, { body: { destination: webhook('https://x.example.com') } }), 400, /destination type/);

  const action: any = await mc.actions.create({ name: 'es-action', supported_triggers: [{ id: 'post-login', version: 'v3' }], code: '' } as any);
  const viaAction: any = await mc.eventStreams.create({ name: 'act', subscriptions: [{ event_type: 'user.updated' }], destination: { type: 'action', configuration: { action_id: action.id } } } as any);
  assert.deepEqual(viaAction.destination, { type: 'action', configuration: { action_id: action.id } });
  assertError(await s.api('POST', '/event-streams', { body: { destination: { type: 'action', configuration: { action_id: 'no-such-action' } } } }), 400, /does not exist/);

  const count = (await doc('event-streams')).items.length;
  for (const body of [
    { destination: webhook('https://x.example.com', { method: 'bearer' }) }, // no token
    { destination: webhook('http://x.example.com') }, // not https
    { subscriptions: [{ event_type: 'user.exploded' }], destination: webhook('https://x.example.com') },
    { destination: { type: 'eventbridge', configuration: { aws_account_id: 'abc', aws_region: 'us-east-1' } } },
    { destination: webhook('https://x.example.com', { method: 'custom_header', header_key: 'bad header', header_value: 'v' }) },
  ]) assertError(await s.api('POST', '/event-streams', { body }), 400, /validation error/);
  assert.equal((await doc('event-streams')).items.length, count, 'nothing was stored');
  const unknown = 'est_0000000000000000000000';
  for (const [method, path, body] of [['GET', ''], ['PATCH', '', { name: 'x' }], ['DELETE', ''], ['GET', '/deliveries'], ['GET', '/deliveries/evt_0000000000000000000000'], ['POST', '/test', { event_type: 'user.created' }]] as const) {
    assertError(await s.api(method, `/event-streams/${unknown}${path}`, { body }), 404, 'The event stream does not exist.');
  }
});

test('event streams: list pages by checkpoint', async () => {
  for (const n of [1, 2, 3]) await mc.eventStreams.create({ name: `page-${n}`, subscriptions: [{ event_type: 'user.created' }], destination: webhook('https://p.example.com') as any } as any);
  const everything = (await s.api('GET', '/event-streams?take=100')).body.eventStreams;
  const first = await s.api('GET', '/event-streams?take=2');
  assert.deepEqual(first.body.eventStreams, everything.slice(0, 2));
  assert.equal(typeof first.body.next, 'string');
  const second = await s.api('GET', `/event-streams?take=2&from=${first.body.next}`);
  assert.deepEqual(second.body.eventStreams, everything.slice(2, 4));
  assert.deepEqual((await all(await mc.eventStreams.list({ take: 2 } as any))).map((x: any) => x.id), everything.map((x: any) => x.id));
  assertError(await s.api('GET', '/event-streams?take=0'), 400);
});

test('event streams: a test event is really POSTed to the webhook, with its authorization; a success leaves no failed delivery', async () => {
  const es: any = await mc.eventStreams.create({
    name: 'live', subscriptions: [{ event_type: 'user.created' }],
    destination: webhook(`${receiver.url}/events`, { method: 'custom_header', header_key: 'x-hook-secret', header_value: 'hdr-secret' }),
  } as any);
  const r = await s.api('POST', `/event-streams/${es.id}/test`, { body: { event_type: 'user.created' } });
  assert.equal(r.status, 202);
  assert.deepEqual({ ...r.body, event: undefined }, { id: r.body.id, event_stream_id: es.id, event_type: 'user.created', status: 'pending', attempts: [], event: undefined });
  assert.match(r.body.id, /^evt_[A-Za-z0-9]{22}$/);
  const got = await eventually(async () => receiver.received.find((x) => x.path === '/events' && x.body.includes(r.body.id)), 'the webhook POST');
  assert.equal(got.headers['x-hook-secret'], 'hdr-secret');
  assert.equal(got.headers['content-type'], 'application/json');
  const event = JSON.parse(got.body);
  assert.deepEqual([event.id, event.type, event.specversion, event.a0purpose, event.a0stream], [r.body.id, 'user.created', '1.0', 'test', es.id]);
  assert.equal(typeof event.data.object.user_id, 'string');

  // Custom data replaces the sample.
  const custom = await s.api('POST', `/event-streams/${es.id}/test`, { body: { event_type: 'organization.created', data: { object: { id: 'org_custom' } } } });
  const got2 = await eventually(async () => receiver.received.find((x) => x.body.includes(custom.body.id)), 'the second POST');
  assert.deepEqual(JSON.parse(got2.body).data, { object: { id: 'org_custom' } });
  await new Promise((res) => setTimeout(res, 100));
  assert.deepEqual((await s.api('GET', `/event-streams/${es.id}/deliveries`)).body, { deliveries: [] });
  assertError(await s.api('GET', `/event-streams/${es.id}/deliveries/${r.body.id}`), 404, 'The event delivery does not exist.');
  assertError(await s.api('POST', `/event-streams/${es.id}/test`, { body: { event_type: 'user.exploded' } }), 400);
  assertError(await s.api('POST', `/event-streams/${es.id}/test`, { body: { event_type: 'user.created', data: { pad: 'x'.repeat(20_000) } } }), 400, /data/);
});

test('event streams: a failed delivery is listed with its attempts; redelivery retries it and, once it lands, clears it', async () => {
  // Nothing listens on port 9 of the loopback: the POST fails at once.
  const es: any = await mc.eventStreams.create({ name: 'down', subscriptions: [{ event_type: 'user.created' }], destination: webhook('https://127.0.0.1:9/down') as any } as any);
  const t = (await s.api('POST', `/event-streams/${es.id}/test`, { body: { event_type: 'user.updated' } })).body;
  const listed = await eventually(async () => {
    const r = await s.api('GET', `/event-streams/${es.id}/deliveries`);
    return r.body.deliveries.length ? r.body.deliveries : undefined;
  }, 'the failed delivery');
  assert.deepEqual(listed.map((d: any) => [d.id, d.event_stream_id, d.event_type, d.status, d.attempts.length]), [[t.id, es.id, 'user.updated', 'failed', 1]]);
  assert.equal(listed[0].attempts[0].status, 'failed');
  assert.match(listed[0].attempts[0].error_message, /^Post "https:\/\/127\.0\.0\.1:9\/down"/);
  assert.ok(!JSON.stringify(listed).includes('wh-bearer-secret'), 'no credential in the history');
  assert.deepEqual(await mc.eventStreams.deliveries.getHistory(es.id, t.id), listed[0]);
  // Filters: by event type and by time.
  assert.deepEqual((await s.api('GET', `/event-streams/${es.id}/deliveries?event_types=user.created`)).body.deliveries, []);
  assert.equal((await s.api('GET', `/event-streams/${es.id}/deliveries?event_types=user.created,user.updated&statuses=failed`)).body.deliveries.length, 1);
  assert.deepEqual((await s.api('GET', `/event-streams/${es.id}/deliveries?date_to=2000-01-01T00:00:00Z`)).body.deliveries, []);
  assertError(await s.api('GET', `/event-streams/${es.id}/deliveries?date_from=yesterday`), 400);

  const single = await s.api('POST', `/event-streams/${es.id}/redeliver/${t.id}`);
  assert.equal(single.status, 202);
  await eventually(async () => (await mc.eventStreams.deliveries.getHistory(es.id, t.id)).attempts.length === 2, 'the second attempt');
  assertError(await s.api('POST', `/event-streams/${es.id}/redeliver/evt_0000000000000000000000`), 404);

  // Pointed at a working endpoint, a bulk redelivery lands and the failure is gone.
  await mc.eventStreams.update(es.id, { destination: webhook(`${receiver.url}/back`, { method: 'bearer', token: 'now-ok' }) as any });
  const bulk = await s.api('POST', `/event-streams/${es.id}/redeliver`, { body: { event_types: ['user.updated'] } });
  assert.deepEqual([bulk.status, bulk.body], [202, { event_types: ['user.updated'] }]);
  const got = await eventually(async () => receiver.received.find((x) => x.path === '/back' && x.body.includes(t.id)), 'the redelivery');
  assert.equal(got.headers.authorization, 'Bearer now-ok');
  await eventually(async () => (await s.api('GET', `/event-streams/${es.id}/deliveries`)).body.deliveries.length === 0, 'the cleared history');

  // Deleting the stream deletes its history.
  await s.api('POST', `/event-streams/${es.id}/test`, { body: { event_type: 'user.created' } });
  await mc.eventStreams.delete(es.id);
  await new Promise((res) => setTimeout(res, 200));
  assert.equal(await doc(`event-streams:deliveries:${es.id}`), undefined);
});

test('event streams: Postern reaches no EventBridge or action destination, so it makes no test delivery to one', async () => {
  const eb: any = await mc.eventStreams.create({ name: 'eb-test', subscriptions: [{ event_type: 'user.created' }], destination: { type: 'eventbridge', configuration: { aws_account_id: '123456789012', aws_region: 'eu-west-1' } } } as any);
  assertError(await s.api('POST', `/event-streams/${eb.id}/test`, { body: { event_type: 'user.created' } }), 400, /webhook destinations only/, 'unsupported_destination');
  assertError(await s.api('POST', `/event-streams/${eb.id}/redeliver`, { body: {} }), 400, /webhook destinations only/);
  assert.deepEqual((await s.api('GET', `/event-streams/${eb.id}/deliveries`)).body, { deliveries: [] });
});

// --- network ACLs ---------------------------------------------------------------

const acl = (priority: number | undefined, rule: Record<string, unknown> = { action: { block: true }, match: { ipv4_cidrs: ['10.0.0.0/8'] }, scope: 'tenant' }) =>
  ({ description: `acl ${priority}`, active: true, ...(priority === undefined ? {} : { priority }), rule });

test('network ACLs: create, read (with tenant and deleted_at), replace, patch, list with totals, and delete', async () => {
  const r = await s.api('POST', '/network-acls', { body: acl(undefined) });
  assert.equal(r.status, 201);
  assert.match(r.body.id, /^acl_[A-Za-z0-9]{22}$/);
  assert.equal(r.body.priority, 50, 'Auth0\'s default priority');
  const one: any = await mc.networkAcls.get(r.body.id);
  assert.deepEqual(one, { tenant_id: one.tenant_id, ...r.body, deleted_at: null });
  assert.equal(typeof one.tenant_id, 'string');

  const put: any = await mc.networkAcls.set(r.body.id, { description: 'replaced', active: false, priority: 2, rule: { action: { redirect: true, redirect_uri: 'https://example.com/blocked' }, not_match: { geo_country_codes: ['US'] }, scope: 'authentication' } } as any);
  assert.deepEqual({ ...put, updated_at: 0 }, {
    id: r.body.id, description: 'replaced', active: false, priority: 2, created_at: r.body.created_at, updated_at: 0,
    rule: { action: { redirect: true, redirect_uri: 'https://example.com/blocked' }, not_match: { geo_country_codes: ['US'] }, scope: 'authentication' },
  });
  const patched: any = await mc.networkAcls.update(r.body.id, { active: true } as any);
  assert.deepEqual({ ...patched, updated_at: 0 }, { ...put, active: true, updated_at: 0 }, 'a PATCH keeps what it does not name');

  await mc.networkAcls.create(acl(3) as any);
  const listed = await s.api('GET', '/network-acls?include_totals=true&per_page=1');
  assert.deepEqual([listed.body.start, listed.body.limit, listed.body.total, listed.body.network_acls.length], [0, 1, 2, 1]);
  assert.deepEqual((await all(await mc.networkAcls.list())).map((a: any) => a.priority).sort(), [2, 3]);

  await mc.networkAcls.delete(r.body.id);
  assertError(await s.api('GET', `/network-acls/${r.body.id}`), 404, 'NetworkACL with this ID was not found');
  assertError(await s.api('DELETE', `/network-acls/${r.body.id}`), 404, 'NetworkACL with this ID was not found');
});

test('network ACLs: priorities are unique (409), also for concurrent creates and for PATCH and PUT', async () => {
  const a = await s.api('POST', '/network-acls', { body: acl(20) });
  assertError(await s.api('POST', '/network-acls', { body: acl(20) }), 409, /priority 20/);
  const race = await Promise.all([1, 2, 3, 4].map(() => s.api('POST', '/network-acls', { body: acl(21) })));
  assert.deepEqual(race.map((r) => r.status).sort(), [201, 409, 409, 409]);
  assert.equal((await doc('network-acls')).items.filter((x: any) => x.priority === 21).length, 1);
  assertError(await s.api('PATCH', `/network-acls/${a.body.id}`, { body: { priority: 21 } }), 409);
  assertError(await s.api('PUT', `/network-acls/${a.body.id}`, { body: acl(21) }), 409);
  assert.equal((await mc.networkAcls.get(a.body.id) as any).priority, 20, 'the refused writes changed nothing');
  // An ACL keeps its own priority.
  assert.equal((await s.api('PATCH', `/network-acls/${a.body.id}`, { body: { priority: 20, description: 'same' } })).status, 200);
});

test('network ACLs: rules are checked as Auth0 checks them (400), and nothing is stored', async () => {
  const count = (await doc('network-acls'))?.items.length ?? 0;
  const rules: Array<[Record<string, unknown>, RegExp | string]> = [
    [{ action: { redirect: true }, match: { asns: [9453] }, scope: 'tenant' }, 'Payload validation error: Action type of `redirect` requires a `redirect_uri`'],
    [{ action: { block: true, allow: true }, match: { asns: [1] }, scope: 'tenant' }, /exactly one action/],
    [{ action: {}, match: { asns: [1] }, scope: 'tenant' }, /exactly one action/],
    [{ action: { block: true, redirect_uri: 'https://x.example.com' }, match: { asns: [1] }, scope: 'tenant' }, /redirect_uri/],
    [{ action: { block: true }, scope: 'tenant' }, /match/],
    [{ action: { block: true }, match: { asns: Array.from({ length: 11 }, (_, i) => i + 1) }, scope: 'tenant' }, /At most 10/],
    [{ action: { block: true }, match: { ipv4_cidrs: ['10.0.0.0/33'] }, scope: 'tenant' }, /ipv4_cidrs/],
    [{ action: { block: true }, match: { ipv6_cidrs: ['10.0.0.1'] }, scope: 'tenant' }, /ipv6_cidrs/],
    [{ action: { block: false }, match: { asns: [1] }, scope: 'tenant' }, /block/],
    [{ action: { block: true }, match: { asns: [1] }, scope: 'everywhere' }, /scope/],
    [{ action: { block: true }, match: { asns: [] }, scope: 'tenant' }, /asns/],
  ];
  for (const [rule, message] of rules) assertError(await s.api('POST', '/network-acls', { body: acl(60, rule) }), 400, message, 'invalid_body');
  assertError(await s.api('POST', '/network-acls', { body: { ...acl(60), description: 'x'.repeat(256) } }), 400, /description/);
  assertError(await s.api('POST', '/network-acls', { body: acl(0) }), 400, /priority/);
  assertError(await s.api('POST', '/network-acls', { body: acl(101) }), 400, /priority/);
  assertError(await s.api('POST', '/network-acls', { body: { active: true, rule: acl(1).rule } }), 400, /description/);
  assert.equal((await doc('network-acls'))?.items.length ?? 0, count);
});

// --- settings documents -------------------------------------------------------------

test('supplemental signals, risk assessment settings and phone provider protection: Auth0\'s defaults, PATCH, and 400s', async () => {
  assert.deepEqual(await mc.supplementalSignals.get(), { akamai_enabled: false });
  assert.deepEqual(await mc.supplementalSignals.patch({ akamai_enabled: true }), { akamai_enabled: true });
  assert.deepEqual(await mc.supplementalSignals.get(), { akamai_enabled: true });
  assertError(await s.api('PATCH', '/supplemental-signals', { body: {} }), 400, /akamai_enabled/);

  assert.deepEqual(await mc.riskAssessments.settings.get(), { enabled: false });
  assert.deepEqual(await mc.riskAssessments.settings.update({ enabled: true }), { enabled: true });
  assert.deepEqual(await mc.riskAssessments.settings.newDevice.get(), { remember_for: 30 });
  assert.deepEqual(await mc.riskAssessments.settings.newDevice.update({ remember_for: 20 }), { remember_for: 20 });
  for (const remember_for of [0, 366, 1.5]) assertError(await s.api('PATCH', '/risk-assessments/settings/new-device', { body: { remember_for } }), 400);
  assert.deepEqual((await s.api('GET', '/risk-assessments/settings/new-device')).body, { remember_for: 20 });
  assert.deepEqual((await s.api('GET', '/risk-assessments/settings')).body, { enabled: true });

  assert.deepEqual(await mc.attackProtection.phoneProviderProtection.get(), { type: 'none' });
  assert.deepEqual(await mc.attackProtection.phoneProviderProtection.patch({ type: 'exponential' }), { type: 'exponential' });
  assertError(await s.api('PATCH', '/attack-protection/phone-provider-protection', { body: { type: 'linear' } }), 400);
  assert.deepEqual(await doc('attack_protection.phone_provider'), { type: 'exponential' });
});

// --- custom signing keys ---------------------------------------------------------------

test('custom signing keys: a JWKS of public keys is set, read and deleted; private keys and broken keys are 400', async () => {
  assert.deepEqual(await mc.keys.customSigning.get(), { keys: [] });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rsaPub = { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'rsa-1', use: 'sig', alg: 'RS256' } as any;
  const ecPub = { ...ec.publicKey.export({ format: 'jwk' }), kid: 'ec-1', alg: 'ES256', key_ops: ['verify'] } as any;
  const set = await mc.keys.customSigning.set({ keys: [rsaPub, ecPub] });
  assert.deepEqual(set, { keys: [rsaPub, ecPub] });
  assert.deepEqual(await mc.keys.customSigning.get(), { keys: [rsaPub, ecPub] });

  const rsaPrivate = { ...rsa.privateKey.export({ format: 'jwk' }), kid: 'leak' };
  assertError(await s.api('PUT', '/keys/custom-signing', { body: { keys: [rsaPrivate] } }), 400, /Additional properties not allowed: d/);
  assertError(await s.api('PUT', '/keys/custom-signing', { body: { keys: [{ ...rsaPub, n: 'AQAB' + 'x'.repeat(3) }] } }), 400, /2048 bits/);
  assertError(await s.api('PUT', '/keys/custom-signing', { body: { keys: [{ ...rsaPub, n: '!!!' }] } }), 400, /public key/);
  assertError(await s.api('PUT', '/keys/custom-signing', { body: { keys: [{ kty: 'EC', crv: 'P-256', x: 'abc', y: 'def' }] } }), 400, /public key/);
  assertError(await s.api('PUT', '/keys/custom-signing', { body: { keys: [rsaPub, { ...rsaPub }] } }), 400, /Duplicate kid/);
  assertError(await s.api('PUT', '/keys/custom-signing', { body: { keys: [{ ...ecPub, alg: 'RS256' }] } }), 400, /alg/);
  assertError(await s.api('PUT', '/keys/custom-signing', { body: { keys: [] } }), 400);
  assert.deepEqual(await mc.keys.customSigning.get(), { keys: [rsaPub, ecPub] }, 'refused writes changed nothing');
  assert.ok(!JSON.stringify(await doc('keys.custom_signing')).includes('"d"'));

  await mc.keys.customSigning.delete();
  assert.deepEqual(await mc.keys.customSigning.get(), { keys: [] });
  assert.equal(await doc('keys.custom_signing'), undefined);
});
