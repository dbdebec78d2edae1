import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ManagementClient } from 'auth0';
import { startServer, type TestServer } from './helpers/server.ts';
import { collect, managementClient } from './helpers/sdk.ts';
import { assertError } from './helpers/assert.ts';

// Flows vault connections: created, read, listed, changed and deleted as Auth0
// does, with the setup's credentials sealed at rest and never answered.

let s: TestServer;
let mc: ManagementClient;
before(async () => { s = await startServer(); mc = managementClient(s); });
after(async () => { await s?.close(); });

const stored = async () => (await s.runtime.env.store.getTenantDoc<any>('flows-vault-connections'))?.items ?? [];
const FIELDS = ['app_id', 'created_at', 'fingerprint', 'id', 'name', 'ready', 'updated_at'];

test('a connection with a setup is created (201), ready, with an ac_ id and a fingerprint; the setup is sealed and never answered', async () => {
  const setup = { type: 'BEARER', token: 'vault-bearer-secret' };
  const r = await s.api('POST', '/flows/vault/connections', { body: { name: 'My API', app_id: 'HTTP', setup } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.match(r.body.id, /^ac_[A-Za-z0-9]{22}$/);
  assert.deepEqual(Object.keys(r.body).sort(), FIELDS);
  assert.equal(r.body.name, 'My API');
  assert.equal(r.body.app_id, 'HTTP');
  assert.equal(r.body.ready, true);
  assert.ok(r.body.fingerprint.length > 0);
  assert.ok(!r.body.fingerprint.includes('vault-bearer-secret'));
  assert.deepEqual(await mc.flows.vault.connections.get(r.body.id), r.body);
  const [row] = (await stored()).filter((x: any) => x.id === r.body.id);
  assert.ok(!JSON.stringify(row).includes('vault-bearer-secret'), 'the credential is not stored in clear');
  assert.deepEqual(JSON.parse(s.runtime.env.box.open(row.setup)), setup);
});

test('an uninitialized connection is not ready; the SDK lists connections in offset pages', async () => {
  const made = await mc.flows.vault.connections.create({ name: 'Slack later', app_id: 'SLACK' } as any);
  assert.equal(made.ready, false);
  assert.equal(made.app_id, 'SLACK');
  const listed = await collect(await mc.flows.vault.connections.list());
  assert.deepEqual(listed.find((c: any) => c.id === made.id), made);
  const page = await s.api('GET', '/flows/vault/connections?include_totals=true&per_page=1&page=0');
  assert.equal(page.status, 200);
  assert.equal(page.body.total, listed.length);
  assert.equal(page.body.connections.length, 1);
  const bare = await s.api('GET', '/flows/vault/connections');
  assert.ok(Array.isArray(bare.body));
  assert.ok(!JSON.stringify(bare.body).includes('setup'));
});

test('the same setup gives the same fingerprint, in any key order; another setup another one', async () => {
  const a = await mc.flows.vault.connections.create({ name: 'a', app_id: 'TWILIO', setup: { type: 'API_KEY', account_id: 'AC1', api_key: 'k1' } } as any);
  const b = await s.api('POST', '/flows/vault/connections', { body: { name: 'b', app_id: 'TWILIO', setup: { api_key: 'k1', account_id: 'AC1', type: 'API_KEY' } } });
  const c = await mc.flows.vault.connections.create({ name: 'c', app_id: 'TWILIO', setup: { type: 'API_KEY', account_id: 'AC1', api_key: 'k2' } } as any);
  assert.equal(b.body.fingerprint, a.fingerprint);
  assert.notEqual(c.fingerprint, a.fingerprint);
});

test('a PATCH renames, or replaces the setup (new fingerprint, ready), keeping id and creation time', async () => {
  const made = await mc.flows.vault.connections.create({ name: 'hook', app_id: 'ZAPIER' } as any);
  const renamed = await mc.flows.vault.connections.update(made.id, { name: 'zap hook' });
  assert.deepEqual({ ...renamed, updated_at: made.updated_at }, { ...made, name: 'zap hook' });
  const setup = { type: 'WEBHOOK', url: 'https://hooks.zapier.com/hooks/catch/1/abc' };
  const up = await mc.flows.vault.connections.update(made.id, { setup } as any);
  assert.equal(up.ready, true);
  assert.equal(up.name, 'zap hook');
  assert.equal(up.created_at, made.created_at);
  assert.notEqual(up.fingerprint, made.fingerprint);
  assert.deepEqual(await mc.flows.vault.connections.get(made.id), up);
  const row = (await stored()).find((x: any) => x.id === made.id);
  assert.deepEqual(JSON.parse(s.runtime.env.box.open(row.setup)), setup);
});

test('a PATCH takes an OAuth code setup (listed twice in the spec\'s choices), for an app that takes one', async () => {
  const made = await mc.flows.vault.connections.create({ name: 'slack', app_id: 'SLACK' } as any);
  const r = await s.api('PATCH', `/flows/vault/connections/${made.id}`, { body: { setup: { type: 'OAUTH_CODE', code: 'slack-oauth-code' } } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.ready, true);
  assert.ok(!JSON.stringify(r.body).includes('slack-oauth-code'));
  const row = (await stored()).find((x: any) => x.id === made.id);
  assert.deepEqual(JSON.parse(s.runtime.env.box.open(row.setup)), { type: 'OAUTH_CODE', code: 'slack-oauth-code' });
});

test('bad input is a 400 that writes nothing: unknown app, a setup the app does not take, http URLs, extra fields', async () => {
  const before = await stored();
  assertError(await s.api('POST', '/flows/vault/connections', { body: { name: 'x', app_id: 'NOPE' } }), 400);
  assertError(await s.api('POST', '/flows/vault/connections', { body: { name: 'x', app_id: 'SLACK', setup: { type: 'BEARER', token: 't' } } }), 400);
  assertError(await s.api('POST', '/flows/vault/connections', { body: { name: 'x', app_id: 'ZAPIER', setup: { type: 'WEBHOOK', url: 'http://insecure.example.com' } } }), 400, /forms-url-https/);
  assertError(await s.api('POST', '/flows/vault/connections', { body: { name: '', app_id: 'HTTP' } }), 400);
  assertError(await s.api('POST', '/flows/vault/connections', { body: { name: 'x', app_id: 'HTTP', extra: 1 } }), 400);
  assert.deepEqual(await stored(), before);

  const made = await mc.flows.vault.connections.create({ name: 'jwt', app_id: 'JWT', setup: { type: 'JWT', algorithm: 'HS256', secret: 's' } } as any);
  const kept = await stored();
  // A setup of another app's kind, for this app.
  assertError(await s.api('PATCH', `/flows/vault/connections/${made.id}`, { body: { setup: { type: 'TOKEN', token: 't' } } }), 400);
  assertError(await s.api('PATCH', `/flows/vault/connections/${made.id}`, { body: { app_id: 'HTTP' } }), 400);
  assert.deepEqual(await stored(), kept);
  assert.deepEqual(await mc.flows.vault.connections.get(made.id), made);
});

test('unknown ids are 404s; a DELETE removes the connection (204) and then 404s', async () => {
  assertError(await s.api('GET', '/flows/vault/connections/ac_unknown0000000000000'), 404, undefined, 'inexistent_flows_vault_connection');
  assertError(await s.api('PATCH', '/flows/vault/connections/ac_unknown0000000000000', { body: { name: 'n' } }), 404);
  assertError(await s.api('DELETE', '/flows/vault/connections/ac_unknown0000000000000'), 404);
  const made = await mc.flows.vault.connections.create({ name: 'gone', app_id: 'AUTH0', setup: { type: 'OAUTH_APP', client_id: 'c', client_secret: 'sec', domain: 'tenant.example.com' } } as any);
  const del = await s.api('DELETE', `/flows/vault/connections/${made.id}`);
  assert.equal(del.status, 204);
  assertError(await s.api('GET', `/flows/vault/connections/${made.id}`), 404);
  assert.ok(!(await stored()).some((x: any) => x.id === made.id));
  assertError(await s.api('DELETE', `/flows/vault/connections/${made.id}`), 404);
});

test('each operation needs its own scope', async () => {
  const read = await s.token('read:flows_vault_connections');
  assertError(await s.api('POST', '/flows/vault/connections', { token: read, body: { name: 'x', app_id: 'HTTP' } }), 403, undefined, 'insufficient_scope');
  assert.equal((await s.api('GET', '/flows/vault/connections', { token: read })).status, 200);
});
