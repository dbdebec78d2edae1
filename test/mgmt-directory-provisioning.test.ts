import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ManagementClient } from 'auth0';
import { startServer, type TestServer } from './helpers/server.ts';
import { collect, managementClient } from './helpers/sdk.ts';
import { assertError } from './helpers/assert.ts';

// Directory Sync configuration of Google Workspace connections, through the
// official SDK: create/read/list/patch/delete, the default mapping, the
// selected groups, and the synchronization Postern refuses (it cannot reach
// Google's Directory API).

let s: TestServer;
let mc: ManagementClient;
before(async () => {
  s = await startServer();
  mc = managementClient(s);
});
after(async () => { await s?.close(); });

let n = 0;
const uniq = (p: string) => `${p}-${Date.now().toString(36)}-${n++}`;
async function googleConnection(): Promise<string> {
  const c = await mc.connections.create({ name: uniq('gws'), strategy: 'google-apps', options: { domain: 'example.com', client_id: 'gid', client_secret: 'gsecret', api_enable_users: true } } as any);
  return c.id!;
}
const dp = () => mc.connections.directoryProvisioning;
const raw = (id: string, tail = '') => `/connections/${id}/directory-provisioning${tail}`;
const storedDoc = (id: string) => s.runtime.env.store.getTenantDoc<any>(`directory-provisioning:${id}`);

test('create with defaults: 201 with the default mapping, no automatic sync, groups off; read back as created', async () => {
  const id = await googleConnection();
  const name = (await mc.connections.get(id)).name;
  const defaults = await dp().getDefaultMapping(id);
  assert.ok(defaults.mapping!.length > 10);
  assert.deepEqual(defaults.mapping!.slice(0, 3), [{ auth0: 'id', idp: 'id' }, { auth0: 'email', idp: 'primaryEmail' }, { auth0: 'primaryEmail', idp: 'primaryEmail' }]);
  assert.ok(defaults.mapping!.some((m) => m.auth0 === 'blocked' && m.idp === 'suspended'));

  const r = await s.api('POST', raw(id), { body: {} });
  assert.equal(r.status, 201);
  assert.deepEqual(Object.keys(r.body).sort(), ['connection_id', 'connection_name', 'created_at', 'mapping', 'strategy', 'synchronize_automatically', 'synchronize_groups', 'updated_at']);
  assert.equal(r.body.connection_id, id);
  assert.equal(r.body.connection_name, name);
  assert.equal(r.body.strategy, 'google-apps');
  assert.deepEqual(r.body.mapping, defaults.mapping);
  assert.equal(r.body.synchronize_automatically, false);
  assert.equal(r.body.synchronize_groups, 'off');
  assert.ok(!Number.isNaN(Date.parse(r.body.created_at)));
  assert.deepEqual(await dp().get(id), r.body);
});

test('create with a custom mapping, then PATCH changes only what it names; a second create is a 409', async () => {
  const id = await googleConnection();
  const mapping = [{ auth0: 'email', idp: 'primaryEmail' }, { auth0: 'given_name', idp: 'name.givenName' }];
  const created = await dp().create(id, { mapping, synchronize_automatically: true, synchronize_groups: 'selected' });
  assert.deepEqual(created.mapping, mapping);
  assert.equal(created.synchronize_automatically, true);
  assert.equal(created.synchronize_groups, 'selected');

  const again = await s.api('POST', raw(id), { body: { synchronize_automatically: false } });
  assertError(again, 409, /already exists/, 'directory_provisioning_conflict');
  assert.equal((await dp().get(id)).synchronize_automatically, true, 'the refused create changed nothing');

  const patched = await dp().update(id, { synchronize_automatically: false });
  assert.equal(patched.synchronize_automatically, false);
  assert.deepEqual(patched.mapping, mapping, 'the mapping is kept');
  assert.equal(patched.synchronize_groups, 'selected');
  assert.equal(patched.created_at, created.created_at);
  assert.ok(patched.updated_at >= created.updated_at);

  const remapped = await dp().update(id, { mapping: [{ auth0: 'name', idp: 'name.fullName' }], synchronize_groups: 'all' });
  assert.deepEqual(remapped.mapping, [{ auth0: 'name', idp: 'name.fullName' }]);
  assert.equal(remapped.synchronize_groups, 'all');
  assert.equal(remapped.synchronize_automatically, false);
  assert.deepEqual(await dp().get(id), remapped);
});

test('bad input is a 400 that writes nothing', async () => {
  const id = await googleConnection();
  const cases: unknown[] = [
    { mapping: [] },
    { mapping: [{ auth0: 'email' }] },
    { mapping: [{ auth0: 'email', idp: 'primaryEmail', extra: 1 }] },
    { mapping: [{ auth0: 'email', idp: 'primaryEmail' }, { auth0: 'email', idp: 'emails' }] },
    { mapping: [{ auth0: ' ', idp: 'primaryEmail' }] },
    { synchronize_automatically: 'yes' },
    { synchronize_groups: 'some' },
    { unknown: true },
  ];
  for (const body of cases) {
    assertError(await s.api('POST', raw(id), { body }), 400);
    assert.equal(await storedDoc(id), undefined, `nothing stored after ${JSON.stringify(body)}`);
  }
  await dp().create(id, {});
  const before = await dp().get(id);
  for (const body of cases) assertError(await s.api('PATCH', raw(id), { body }), 400);
  assert.deepEqual(await dp().get(id), before, 'the refused patches changed nothing');
});

test('unsupported strategies are a 400, unknown connections a 404, an unconfigured connection a 404', async () => {
  const db = await mc.connections.create({ name: uniq('db'), strategy: 'auth0' } as any);
  for (const [method, tail] of [['POST', ''], ['GET', '/default-mapping']] as const) {
    assertError(await s.api(method, raw(db.id!, tail), { body: method === 'POST' ? {} : undefined }), 400, /not supported.*auth0/, 'operation_not_supported');
  }
  assert.equal(await storedDoc(db.id!), undefined);

  const routes: Array<[string, string, unknown?]> = [
    ['GET', ''], ['POST', '', {}], ['PATCH', '', {}], ['DELETE', ''], ['GET', '/default-mapping'], ['POST', '/synchronizations'],
    ['GET', '/synchronized-groups'], ['PUT', '/synchronized-groups', { groups: [] }], ['POST', '/synchronized-groups', { groups: [] }],
    ['DELETE', '/synchronized-groups', { groups: [] }],
  ];
  for (const [method, tail, body] of routes) assertError(await s.api(method, raw('con_doesnotexist0000', tail), { body }), 404, undefined, 'inexistent_connection');

  const id = await googleConnection();
  for (const [method, tail, body] of routes.filter(([m, t]) => !(m === 'POST' && t === '') && t !== '/default-mapping')) {
    assertError(await s.api(method, raw(id, tail), { body }), 404, /directory provisioning configuration does not exist/, 'inexistent_directory_provisioning');
  }
  await assert.rejects(dp().get(id), (e: any) => e.statusCode === 404);
  assert.equal(await storedDoc(id), undefined, 'a PATCH of nothing creates nothing');
});

test('delete: 204, then the configuration is gone and can be created again', async () => {
  const id = await googleConnection();
  await dp().create(id, { synchronize_automatically: true });
  const r = await s.api('DELETE', raw(id));
  assert.equal(r.status, 204);
  assertError(await s.api('GET', raw(id)), 404, undefined, 'inexistent_directory_provisioning');
  assertError(await s.api('DELETE', raw(id)), 404, undefined, 'inexistent_directory_provisioning');
  assert.equal((await dp().create(id, {})).synchronize_automatically, false);
});

test('deleting the connection deletes its configuration', async () => {
  const id = await googleConnection();
  await dp().create(id, {});
  await dp().set(id, { groups: [{ id: 'grp1' }] });
  assert.ok(await storedDoc(id));
  await mc.connections.delete(id);
  assert.equal(await storedDoc(id), undefined);
  assert.ok(!(await collect(await dp().list())).some((c) => c.connection_id === id));
  assertError(await s.api('GET', raw(id)), 404, undefined, 'inexistent_connection');
});

test('list: every configuration by checkpoint pages (from/take, then next)', async () => {
  const made: string[] = [];
  for (let i = 0; i < 3; i++) {
    const id = await googleConnection();
    await dp().create(id, { synchronize_automatically: i === 1 });
    made.push(id);
  }
  const first = await s.api('GET', '/connections-directory-provisionings?take=2');
  assert.equal(first.status, 200);
  assert.equal(first.body.directory_provisionings.length, 2);
  assert.equal(typeof first.body.next, 'string');
  const seen: any[] = [...first.body.directory_provisionings];
  for (let next = first.body.next; next;) {
    const page = await s.api('GET', `/connections-directory-provisionings?take=2&from=${encodeURIComponent(next)}`);
    assert.equal(page.status, 200);
    seen.push(...page.body.directory_provisionings);
    next = page.body.next;
  }
  const ids = seen.map((c) => c.connection_id);
  assert.equal(new Set(ids).size, ids.length, 'no configuration twice');
  for (const id of made) assert.deepEqual(seen.find((c) => c.connection_id === id), await dp().get(id));

  const viaSdk = await collect(await dp().list({ take: 1 }));
  assert.deepEqual(viaSdk.map((c) => c.connection_id).sort(), [...ids].sort());

  const all = await s.api('GET', '/connections-directory-provisionings');
  assert.equal(all.status, 200);
  assert.deepEqual(Object.keys(all.body), ['directory_provisionings'], 'the default page holds them all, without next');
  assertError(await s.api('GET', '/connections-directory-provisionings?take=0'), 400);
  assertError(await s.api('GET', '/connections-directory-provisionings?from=bogus'), 400);
});

test('synchronized groups: replace, add, remove, paged by checkpoint', async () => {
  const id = await googleConnection();
  await dp().create(id, { synchronize_groups: 'selected' });
  assert.deepEqual(await collect(await dp().listSynchronizedGroups(id)), []);

  await dp().set(id, { groups: [{ id: 'g1' }, { id: 'g2' }, { id: 'g1' }] });
  assert.deepEqual(await collect(await dp().listSynchronizedGroups(id)), [{ id: 'g1' }, { id: 'g2' }]);

  await dp().addSynchronizedGroupSelections(id, { groups: [{ id: 'g2' }, { id: 'g3' }, { id: 'g4' }] });
  assert.deepEqual(await collect(await dp().listSynchronizedGroups(id, { take: 1 })), [{ id: 'g1' }, { id: 'g2' }, { id: 'g3' }, { id: 'g4' }]);
  const page = await s.api('GET', `${raw(id, '/synchronized-groups')}?take=3`);
  assert.deepEqual(page.body.groups, [{ id: 'g1' }, { id: 'g2' }, { id: 'g3' }]);
  const rest = await s.api('GET', `${raw(id, '/synchronized-groups')}?take=3&from=${encodeURIComponent(page.body.next)}`);
  assert.deepEqual(rest.body, { groups: [{ id: 'g4' }] });

  const del = await s.api('DELETE', raw(id, '/synchronized-groups'), { body: { groups: [{ id: 'g1' }, { id: 'g3' }, { id: 'nothere' }] } });
  assert.equal(del.status, 204);
  assert.deepEqual(await collect(await dp().listSynchronizedGroups(id)), [{ id: 'g2' }, { id: 'g4' }]);

  const put = await s.api('PUT', raw(id, '/synchronized-groups'), { body: { groups: [{ id: 'only' }] } });
  assert.equal(put.status, 204);
  assert.deepEqual((await s.api('GET', raw(id, '/synchronized-groups'))).body, { groups: [{ id: 'only' }] });

  // Postern never learns group names or emails from Google, so a name/email search finds nothing.
  assert.deepEqual((await s.api('GET', `${raw(id, '/synchronized-groups')}?q=name:only*`)).body, { groups: [] });
  assertError(await s.api('GET', `${raw(id, '/synchronized-groups')}?q=${encodeURIComponent('name:a OR email:b')}`), 400);
  assert.equal((await dp().get(id)).synchronize_groups, 'selected', 'the group list does not change the mode');
});

test('synchronized groups: bad bodies are a 400 that changes nothing', async () => {
  const id = await googleConnection();
  await dp().create(id, {});
  await dp().set(id, { groups: [{ id: 'keep' }] });
  const bad: unknown[] = [undefined, {}, { groups: 'g1' }, { groups: [{}] }, { groups: [{ id: '' }] }, { groups: [{ id: 'has-dash' }] },
    { groups: [{ id: 'x'.repeat(33) }] }, { groups: [{ id: 'g1', name: 'x' }] }, { groups: [], extra: 1 }];
  for (const method of ['PUT', 'POST', 'DELETE']) {
    for (const body of bad) assertError(await s.api(method, raw(id, '/synchronized-groups'), { body }), 400, /Payload validation error/);
  }
  assert.deepEqual(await collect(await dp().listSynchronizedGroups(id)), [{ id: 'keep' }]);
});

test('a synchronization is refused with a 400, and nothing is recorded as synchronized', async () => {
  const id = await googleConnection();
  await dp().create(id, { synchronize_automatically: true });
  const before = await dp().get(id);
  const r = await s.api('POST', raw(id, '/synchronizations'));
  assertError(r, 400, /cannot reach the Google Workspace Directory API/, 'directory_unreachable');
  await assert.rejects(dp().synchronizations.create(id), (e: any) => e.statusCode === 400);
  const after = await dp().get(id);
  assert.deepEqual(after, before);
  for (const k of ['last_synchronization_at', 'last_synchronization_status', 'last_synchronization_error']) assert.ok(!(k in after), k);
});
