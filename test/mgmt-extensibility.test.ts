import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ManagementClient } from 'auth0';
import { startServer, type TestServer } from './helpers/server.ts';
import { collect as all, managementClient } from './helpers/sdk.ts';
import { assertError } from './helpers/assert.ts';

// Rules, rules configs, hooks with their secrets, and custom domains through
// the official SDK, with plain fetch for the negative cases. Secrets are
// checked where they rest: in the store's documents and in the data directory.

let s: TestServer;
let mc: ManagementClient;
before(async () => {
  s = await startServer();
  mc = managementClient(s);
});
after(async () => { await s?.close(); });

const store = () => s.runtime.env.store;
const SCRIPT = 'function (user, context, callback) { callback(null, user, context); }';
const HOOK_SCRIPT = 'module.exports = function (client, scope, audience, context, cb) { cb(null, {}); };';

/** Every file under the data dir (the SQLite database and its WAL on that backend) must not hold `plain`. */
function assertNotInDataDir(plain: string) {
  const walk = (dir: string): string[] => readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
  for (const file of walk(s.dataDir)) {
    assert.ok(!readFileSync(file).includes(Buffer.from(plain)), `${file} holds a secret in plain text`);
  }
}

// --- rules ---------------------------------------------------------------------

test('rules: create with Auth0 defaults, read, update, delete', async () => {
  const r: any = await mc.rules.create({ name: 'add-claims', script: SCRIPT });
  assert.match(r.id, /^rul_[A-Za-z0-9]{16}$/);
  assert.deepEqual({ ...r, id: undefined }, { id: undefined, name: 'add-claims', script: SCRIPT, enabled: true, order: 1, stage: 'login_success' });
  const second: any = await mc.rules.create({ name: 'second', script: SCRIPT, enabled: false });
  assert.equal(second.order, 2, 'order defaults to the next free number');
  assert.equal(second.enabled, false);

  assert.deepEqual(await mc.rules.get(r.id), r);
  const only = await s.api('GET', `/rules/${r.id}?fields=name,order&include_fields=true`);
  assert.deepEqual(only.body, { name: 'add-claims', order: 1 });

  const up: any = await mc.rules.update(r.id, { script: 'function (u, c, cb) { cb(null, u, c); }', enabled: false, order: 10 });
  assert.equal(up.order, 10);
  assert.equal(up.enabled, false);
  assert.equal(up.name, 'add-claims');
  assert.equal((await mc.rules.get(r.id) as any).script, 'function (u, c, cb) { cb(null, u, c); }');
  const third: any = await mc.rules.create({ name: 'third', script: SCRIPT });
  assert.equal(third.order, 11);

  const created = await s.api('POST', '/rules', { body: { name: 'status-check', script: SCRIPT } });
  assert.equal(created.status, 201);

  await mc.rules.delete(r.id);
  assertError(await s.api('GET', `/rules/${r.id}`), 404, 'The rule does not exist.', 'inexistent_rule');
  assertError(await s.api('PATCH', `/rules/${r.id}`, { body: { enabled: true } }), 404);
  assertError(await s.api('DELETE', `/rules/${r.id}`), 404);
  for (const x of [second, third, created.body]) await mc.rules.delete(x.id);
});

test('rules: names and orders are unique (409), bad input is 400', async () => {
  const a: any = await mc.rules.create({ name: 'unique-a', script: SCRIPT, order: 50 });
  assertError(await s.api('POST', '/rules', { body: { name: 'unique-a', script: SCRIPT } }), 409, /same name/, 'rule_conflict');
  assertError(await s.api('POST', '/rules', { body: { name: 'unique-b', script: SCRIPT, order: 50 } }), 409, /same order/, 'rule_conflict');
  // A create refused for its name gives its order back at once.
  assertError(await s.api('POST', '/rules', { body: { name: 'unique-a', script: SCRIPT, order: 51 } }), 409, /same name/);
  const b: any = await mc.rules.create({ name: 'unique-b', script: SCRIPT, order: 51 });
  assertError(await s.api('PATCH', `/rules/${b.id}`, { body: { name: 'unique-a' } }), 409, /same name/);
  assertError(await s.api('PATCH', `/rules/${b.id}`, { body: { order: 50 } }), 409, /same order/);
  // Keeping its own order, or freeing one, is no conflict.
  assert.equal((await s.api('PATCH', `/rules/${a.id}`, { body: { order: 50, enabled: false } })).status, 200);
  await mc.rules.update(a.id, { order: 52 });
  assert.equal((await mc.rules.update(b.id, { order: 50 }) as any).order, 50);

  assertError(await s.api('POST', '/rules', { body: { name: 'no-script' } }), 400, "Payload validation error: 'Missing required property: script'.", 'invalid_body');
  assertError(await s.api('POST', '/rules', { body: { name: 'bad name!', script: SCRIPT } }), 400, /^Payload validation error/, 'invalid_body');
  assertError(await s.api('POST', '/rules', { body: { name: 'x', script: SCRIPT, stage: 'pre_authorize' } }), 400, /Additional properties not allowed: stage/);
  assertError(await s.api('POST', '/rules', { body: { name: 'x', script: SCRIPT, order: -1 } }), 400, /^Payload validation error/);
  assertError(await s.api('PATCH', `/rules/${a.id}`, { body: {} }), 400, /^Payload validation error/);
  assertError(await s.api('GET', '/rules?per_page=101'), 400, /per_page/, 'invalid_query_string');
  await mc.rules.delete(a.id);
  await mc.rules.delete(b.id);
});

test('rules: concurrent creates with one order let exactly one through; concurrent patches keep both changes', async () => {
  const results = await Promise.all([1, 2, 3, 4].map((i) => s.api('POST', '/rules', { body: { name: `race-${i}`, script: SCRIPT, order: 77 } })));
  assert.deepEqual(results.map((r) => r.status).sort(), [201, 409, 409, 409]);
  const winner = results.find((r) => r.status === 201)!.body;
  await Promise.all([
    s.api('PATCH', `/rules/${winner.id}`, { body: { enabled: false } }),
    s.api('PATCH', `/rules/${winner.id}`, { body: { script: 'function (u, c, cb) { cb(null, u, c); } // v2' } }),
  ]);
  const got: any = await mc.rules.get(winner.id);
  assert.equal(got.enabled, false);
  assert.match(got.script, /v2/);
  await mc.rules.delete(winner.id);
});

test('rules: listing sorts by order, filters enabled, pages with totals, projects fields', async () => {
  const made: any[] = [];
  for (const [i, enabled] of [[3, true], [1, false], [2, true], [4, true]] as const) {
    made.push(await mc.rules.create({ name: `list-${i}`, script: SCRIPT, order: 100 + i, enabled }) as any);
  }
  const listed = (await s.api('GET', '/rules')).body.filter((r: any) => r.name.startsWith('list-'));
  assert.deepEqual(listed.map((r: any) => r.order), [101, 102, 103, 104]);
  const enabled = (await s.api('GET', '/rules?enabled=true')).body;
  assert.ok(enabled.length >= 3 && enabled.every((r: any) => r.enabled === true));
  assert.ok(!enabled.some((r: any) => r.name === 'list-1'));
  const disabled = (await s.api('GET', '/rules?enabled=false')).body;
  assert.ok(disabled.some((r: any) => r.name === 'list-1') && disabled.every((r: any) => r.enabled === false));

  const p0 = await s.api('GET', '/rules?per_page=3&page=0&include_totals=true');
  assert.equal(p0.body.total, 4);
  assert.equal(p0.body.start, 0);
  assert.equal(p0.body.limit, 3);
  assert.equal(p0.body.rules.length, 3);
  const p1 = await s.api('GET', '/rules?per_page=3&page=1&include_totals=true');
  assert.deepEqual(p1.body.rules.map((r: any) => r.name), ['list-4']);

  const viaSdk = await all(await mc.rules.list({ per_page: 2 }));
  assert.equal(viaSdk.length, 4, 'the SDK pages through every rule');
  const fields = await s.api('GET', '/rules?fields=script&include_fields=false');
  assert.ok(fields.body.every((r: any) => !('script' in r) && 'id' in r && 'order' in r));
  for (const r of made) await mc.rules.delete(r.id);
});

// --- rules configs -----------------------------------------------------------------

test('rules configs: set, list keys only, sealed at rest, delete', async () => {
  const secret = 'sk_live_rules_config_plaintext_value_1';
  const set: any = await mc.rulesConfigs.set('STRIPE_KEY', { value: secret });
  assert.deepEqual(set, { key: 'STRIPE_KEY', value: secret });
  await mc.rulesConfigs.set('a-b_c@d*e+f:g', { value: 'other' });
  await mc.rulesConfigs.set('STRIPE_KEY', { value: `${secret}-rotated` });

  const list: any = await mc.rulesConfigs.list();
  assert.deepEqual(list.map((c: any) => c.key).sort(), ['STRIPE_KEY', 'a-b_c@d*e+f:g']);
  assert.ok(list.every((c: any) => Object.keys(c).join() === 'key'), 'values are never listed');

  const raw = await store().getTenantDoc<Record<string, string>>('rules-configs');
  assert.ok(raw && Object.keys(raw).length === 2);
  assert.ok(!JSON.stringify(raw).includes(secret), 'the stored document holds no plain value');
  assert.match(raw.STRIPE_KEY, /^enc:v1:/);
  assert.equal(s.runtime.env.box.open(raw.STRIPE_KEY), `${secret}-rotated`, 'the sealed value is the latest one');
  assertNotInDataDir(secret);

  await mc.rulesConfigs.delete('STRIPE_KEY');
  assert.deepEqual((await mc.rulesConfigs.list() as any).map((c: any) => c.key), ['a-b_c@d*e+f:g']);
  assert.equal((await s.api('DELETE', '/rules-configs/STRIPE_KEY')).status, 204);
});

test('rules configs: keys outside Auth0\'s pattern and bodies without a value are 400', async () => {
  for (const key of ['has%20space', 'slash%2Fkey', 'dollar$', 'x'.repeat(128)]) {
    assertError(await s.api('PUT', `/rules-configs/${key}`, { body: { value: 'v' } }), 400, /^Path validation error/, 'invalid_uri');
    assertError(await s.api('DELETE', `/rules-configs/${key}`), 400, undefined, 'invalid_uri');
  }
  assertError(await s.api('PUT', '/rules-configs/OK_KEY', { body: {} }), 400, "Payload validation error: 'Missing required property: value'.");
  assertError(await s.api('PUT', '/rules-configs/OK_KEY', { body: { value: 5 } }), 400, /^Payload validation error/);
  assertError(await s.api('PUT', '/rules-configs/OK_KEY', { body: { value: 'v', extra: 1 } }), 400, /Additional properties not allowed: extra/);
  assert.ok(!(await s.api('GET', '/rules-configs')).body.some((c: any) => c.key === 'OK_KEY'));
  const proto = await s.api('PUT', '/rules-configs/__proto__', { body: { value: 'p' } });
  assert.equal(proto.status, 200);
  assert.ok((await s.api('GET', '/rules-configs')).body.some((c: any) => c.key === '__proto__'), 'an odd but valid key is an ordinary key');
  assert.equal((await s.api('DELETE', '/rules-configs/__proto__')).status, 204);
});

// --- hooks -------------------------------------------------------------------------

test('hooks: create, read, update (201), delete; defaults and 404s', async () => {
  const h: any = await mc.hooks.create({ name: 'cc-hook', script: HOOK_SCRIPT, triggerId: 'credentials-exchange', dependencies: { lodash: '4.17.21' } });
  assert.ok(typeof h.id === 'string' && h.id.length >= 8);
  assert.deepEqual({ ...h, id: undefined }, { id: undefined, name: 'cc-hook', script: HOOK_SCRIPT, enabled: false, triggerId: 'credentials-exchange', dependencies: { lodash: '4.17.21' } });
  assert.deepEqual(await mc.hooks.get(h.id), h);
  assert.deepEqual((await s.api('GET', `/hooks/${h.id}?fields=name,enabled`)).body, { name: 'cc-hook', enabled: false });

  const patched = await s.api('PATCH', `/hooks/${h.id}`, { body: { enabled: true, dependencies: {} } });
  assert.equal(patched.status, 201);
  assert.equal(patched.body.enabled, true);
  assert.deepEqual(patched.body.dependencies, {});
  const renamed: any = await mc.hooks.update(h.id, { name: 'cc-hook-2' });
  assert.equal(renamed.name, 'cc-hook-2');
  assert.equal(renamed.enabled, true);
  assertError(await s.api('PATCH', `/hooks/${h.id}`, { body: { triggerId: 'pre-user-registration' } }), 400, /Additional properties not allowed: triggerId/);

  await mc.hooks.delete(h.id);
  assertError(await s.api('GET', `/hooks/${h.id}`), 404, 'The hook does not exist.', 'inexistent_hook');
  assertError(await s.api('DELETE', `/hooks/${h.id}`), 404);
  assertError(await s.api('GET', `/hooks/${h.id}/secrets`), 404);
});

test('hooks: unique names, Auth0\'s trigger enum, one enabled hook per trigger', async () => {
  const a: any = await mc.hooks.create({ name: 'pre-reg-a', script: HOOK_SCRIPT, triggerId: 'pre-user-registration', enabled: true });
  assertError(await s.api('POST', '/hooks', { body: { name: 'pre-reg-a', script: HOOK_SCRIPT, triggerId: 'post-change-password' } }), 409, /same name/);
  assertError(await s.api('POST', '/hooks', { body: { name: 'x', script: HOOK_SCRIPT, triggerId: 'post-login' } }), 400, /^Payload validation error/, 'invalid_body');
  assertError(await s.api('POST', '/hooks', { body: { name: 'x', script: HOOK_SCRIPT } }), 400, "Payload validation error: 'Missing required property: triggerId'.");
  assertError(await s.api('POST', '/hooks', { body: { name: 'x', script: '', triggerId: 'pre-user-registration' } }), 400, /^Payload validation error/);

  assertError(await s.api('POST', '/hooks', { body: { name: 'pre-reg-b', script: HOOK_SCRIPT, triggerId: 'pre-user-registration', enabled: true } }),
    409, /Only one active hook allowed for "pre-user-registration"/, 'hook_conflict');
  const b: any = await mc.hooks.create({ name: 'pre-reg-b', script: HOOK_SCRIPT, triggerId: 'pre-user-registration' });
  assertError(await s.api('PATCH', `/hooks/${b.id}`, { body: { enabled: true } }), 409, /Only one active hook/);
  const other: any = await mc.hooks.create({ name: 'post-reg', script: HOOK_SCRIPT, triggerId: 'post-user-registration', enabled: true });
  assert.equal(other.enabled, true, 'another trigger has its own enabled hook');

  await mc.hooks.update(a.id, { enabled: false });
  assert.equal((await mc.hooks.update(b.id, { enabled: true }) as any).enabled, true);
  assertError(await s.api('PATCH', `/hooks/${a.id}`, { body: { enabled: true } }), 409, /Only one active hook/);
  await mc.hooks.delete(b.id);
  assert.equal((await mc.hooks.update(a.id, { enabled: true }) as any).enabled, true, 'deleting the enabled hook frees its trigger');

  // Racing enables of two hooks on one trigger: one wins.
  const c: any = await mc.hooks.create({ name: 'cpm-c', script: HOOK_SCRIPT, triggerId: 'post-change-password' });
  const d: any = await mc.hooks.create({ name: 'cpm-d', script: HOOK_SCRIPT, triggerId: 'post-change-password' });
  const race = await Promise.all([c, d].map((h) => s.api('PATCH', `/hooks/${h.id}`, { body: { enabled: true } })));
  assert.deepEqual(race.map((r) => r.status).sort(), [201, 409]);
  const enabled = (await s.api('GET', '/hooks?triggerId=post-change-password&enabled=true')).body;
  assert.equal(enabled.length, 1);
  for (const h of [a, other, c, d]) await mc.hooks.delete(h.id);
});

test('hooks: list filters by triggerId and enabled, pages with totals', async () => {
  const made: any[] = [];
  for (let i = 0; i < 3; i++) made.push(await mc.hooks.create({ name: `sms-${i}`, script: HOOK_SCRIPT, triggerId: 'send-phone-message', enabled: i === 0 }) as any);
  made.push(await mc.hooks.create({ name: 'cc-list', script: HOOK_SCRIPT, triggerId: 'credentials-exchange' }) as any);

  const sms = (await s.api('GET', '/hooks?triggerId=send-phone-message')).body;
  assert.deepEqual(sms.map((h: any) => h.name), ['sms-0', 'sms-1', 'sms-2']);
  const on = (await s.api('GET', '/hooks?enabled=true')).body;
  assert.deepEqual(on.map((h: any) => h.name), ['sms-0']);
  assert.equal((await s.api('GET', '/hooks?enabled=false&triggerId=send-phone-message')).body.length, 2);
  assertError(await s.api('GET', '/hooks?triggerId=post-login'), 400, undefined, 'invalid_query_string');

  const page = await s.api('GET', '/hooks?per_page=3&page=1&include_totals=true');
  assert.equal(page.body.total, 4);
  assert.deepEqual(page.body.hooks.map((h: any) => h.name), ['cc-list']);
  assert.equal((await all(await mc.hooks.list({ per_page: 1 }))).length, 4);
  const names = await s.api('GET', '/hooks?fields=name');
  assert.ok(names.body.every((h: any) => Object.keys(h).join() === 'name'));
  for (const h of made) await mc.hooks.delete(h.id);
});

test('hook secrets: sealed at rest, masked on read, never in the hook; create/update/delete rules', async () => {
  const h: any = await mc.hooks.create({ name: 'secretive', script: HOOK_SCRIPT, triggerId: 'credentials-exchange' });
  const plain = 'twilio-auth-token-plaintext-0123456789';
  await mc.hooks.secrets.create(h.id, { TWILIO_TOKEN: plain, API_KEY: 'api-key-plaintext-abcdef' });
  const created = await s.api('POST', `/hooks/${h.id}/secrets`, { body: { THIRD: 'third-plaintext' } });
  assert.equal(created.status, 201);

  assert.deepEqual(await mc.hooks.secrets.get(h.id), { TWILIO_TOKEN: '_VALUE_NOT_SHOWN_', API_KEY: '_VALUE_NOT_SHOWN_', THIRD: '_VALUE_NOT_SHOWN_' });
  const hook = await s.api('GET', `/hooks/${h.id}`);
  assert.ok(!JSON.stringify(hook.body).includes(plain) && !('secrets' in hook.body));
  assert.ok(!JSON.stringify((await s.api('GET', '/hooks')).body).includes(plain));

  const raw = await store().hooks.get(h.id);
  assert.ok(!JSON.stringify(raw).includes(plain), 'the stored hook holds no plain secret');
  assert.match(raw!.data.secrets.TWILIO_TOKEN, /^enc:v1:/);
  assert.equal(s.runtime.env.box.open(raw!.data.secrets.TWILIO_TOKEN), plain);
  assertNotInDataDir(plain);

  assertError(await s.api('POST', `/hooks/${h.id}/secrets`, { body: { API_KEY: 'again' } }), 409, /API_KEY/);
  assertError(await s.api('PATCH', `/hooks/${h.id}/secrets`, { body: { MISSING: 'x' } }), 404, /MISSING/);
  assertError(await s.api('POST', `/hooks/${h.id}/secrets`, { body: { N: 5 } }), 400, /^Payload validation error/);
  assertError(await s.api('POST', `/hooks/${h.id}/secrets`, { body: {} }), 400, /^Payload validation error/);
  assertError(await s.api('POST', '/hooks/no-such-hook/secrets', { body: { A: 'b' } }), 404, undefined, 'inexistent_hook');

  await mc.hooks.secrets.update(h.id, { TWILIO_TOKEN: 'rotated-token-value' });
  const rotated = await store().hooks.get(h.id);
  assert.equal(s.runtime.env.box.open(rotated!.data.secrets.TWILIO_TOKEN), 'rotated-token-value');
  assert.equal(s.runtime.env.box.open(rotated!.data.secrets.API_KEY), 'api-key-plaintext-abcdef', 'an update leaves the other secrets');
  const renamed: any = await mc.hooks.update(h.id, { script: `${HOOK_SCRIPT} // v2` });
  assert.ok(!('secrets' in renamed));
  assert.equal(Object.keys((await store().hooks.get(h.id))!.data.secrets).length, 3, 'a hook update keeps its secrets');

  await mc.hooks.secrets.delete(h.id, ['API_KEY', 'NOT_THERE']);
  assert.deepEqual(Object.keys(await mc.hooks.secrets.get(h.id) as any).sort(), ['THIRD', 'TWILIO_TOKEN']);
  assertError(await s.api('DELETE', `/hooks/${h.id}/secrets`), 400, /array/);
  assertError(await s.api('DELETE', `/hooks/${h.id}/secrets`, { body: { API_KEY: true } }), 400, /^Payload validation error/);
  assertError(await s.api('DELETE', `/hooks/${h.id}/secrets`, { body: [] }), 400, /^Payload validation error/);

  const many = Object.fromEntries(Array.from({ length: 19 }, (_, i) => [`S${i}`, 'v']));
  assertError(await s.api('POST', `/hooks/${h.id}/secrets`, { body: many }), 400, /at most 20/);
  assert.equal(Object.keys((await s.api('GET', `/hooks/${h.id}/secrets`)).body).length, 2, 'a refused write changes nothing');
  await mc.hooks.delete(h.id);
});

// --- custom domains ------------------------------------------------------------------

test('custom domains: create as Auth0 answers it, read, list, update, delete', async () => {
  const cd: any = await mc.customDomains.create({ domain: 'Login.Postern-Test.example', type: 'auth0_managed_certs', domain_metadata: { team: 'identity' } });
  assert.match(cd.custom_domain_id, /^cd_[A-Za-z0-9]{16}$/);
  assert.equal(cd.domain, 'login.postern-test.example');
  assert.equal(cd.primary, false);
  assert.equal(cd.status, 'pending_verification');
  assert.equal(cd.type, 'auth0_managed_certs');
  assert.equal(cd.tls_policy, 'recommended');
  assert.deepEqual(cd.domain_metadata, { team: 'identity' });
  const [method] = cd.verification.methods;
  assert.equal(method.name, 'txt');
  assert.equal(method.domain, '_cf-custom-hostname.login.postern-test.example');
  assert.match(method.record, /^auth0-domain-verification=[A-Za-z0-9]{20,}$/);
  const raw = await s.api('POST', '/custom-domains', { body: { domain: 'id.postern-test.example', type: 'self_managed_certs', custom_client_ip_header: 'cf-connecting-ip' } });
  assert.equal(raw.status, 201);
  assert.equal(raw.body.custom_client_ip_header, 'cf-connecting-ip');

  assert.deepEqual(await mc.customDomains.get(cd.custom_domain_id), cd);
  const listed: any = await mc.customDomains.list();
  assert.deepEqual(listed.map((d: any) => d.domain).sort(), ['id.postern-test.example', 'login.postern-test.example']);
  assert.deepEqual((await s.api('GET', '/custom-domains?q=type:self_managed_certs')).body.map((d: any) => d.domain), ['id.postern-test.example']);
  assert.deepEqual((await s.api('GET', '/custom-domains?sort=domain:-1&fields=domain')).body, [{ domain: 'login.postern-test.example' }, { domain: 'id.postern-test.example' }]);
  const first = await s.api('GET', '/custom-domains?take=1');
  assert.equal(first.body.custom_domains.length, 1);
  const rest = await s.api('GET', `/custom-domains?take=1&from=${encodeURIComponent(first.body.next)}`);
  assert.notEqual(rest.body.custom_domains[0].custom_domain_id, first.body.custom_domains[0].custom_domain_id);
  assertError(await s.api('GET', '/custom-domains?q=((('), 400, undefined, 'invalid_query_string');
  assertError(await s.api('GET', '/custom-domains?sort=domain'), 400, undefined, 'invalid_query_string');

  const up: any = await mc.customDomains.update(cd.custom_domain_id, { domain_metadata: { team: null, env: 'prod' }, custom_client_ip_header: 'true-client-ip' });
  assert.deepEqual(up.domain_metadata, { env: 'prod' });
  assert.equal(up.custom_client_ip_header, 'true-client-ip');
  assert.equal(up.status, 'pending_verification');
  assertError(await s.api('PATCH', `/custom-domains/${cd.custom_domain_id}`, { body: { domain: 'other.example.com' } }), 400, /Additional properties not allowed: domain/);
  const tooMany = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, 'v']));
  assertError(await s.api('PATCH', `/custom-domains/${cd.custom_domain_id}`, { body: { domain_metadata: tooMany } }), 400, /at most 10/);

  await mc.customDomains.delete(cd.custom_domain_id);
  await mc.customDomains.delete(raw.body.custom_domain_id);
  assertError(await s.api('GET', `/custom-domains/${cd.custom_domain_id}`), 404, undefined, 'inexistent_custom_domain');
  assertError(await s.api('DELETE', `/custom-domains/${cd.custom_domain_id}`), 404);
  assertError(await s.api('POST', `/custom-domains/${cd.custom_domain_id}/verify`), 404);
});

test('custom domains: the domain must be a host name, once (case-insensitively)', async () => {
  for (const domain of ['https://login.example.com', 'login.example.com:443', 'login.example.com/path', 'localhost', '10.0.0.1', 'bad_label.example.com', '-x.example.com', 'a..example.com', '']) {
    assertError(await s.api('POST', '/custom-domains', { body: { domain, type: 'auth0_managed_certs' } }), 400, /^Payload validation error/, 'invalid_body');
  }
  assertError(await s.api('POST', '/custom-domains', { body: { domain: 'ok.example.com', type: 'letsencrypt' } }), 400, /^Payload validation error/);
  assertError(await s.api('POST', '/custom-domains', { body: { domain: 'ok.example.com' } }), 400, "Payload validation error: 'Missing required property: type'.");
  const cd: any = await mc.customDomains.create({ domain: 'dup.postern-test.example', type: 'auth0_managed_certs' });
  assertError(await s.api('POST', '/custom-domains', { body: { domain: 'DUP.postern-test.example', type: 'self_managed_certs' } }), 409, undefined, 'custom_domain_conflict');
  await mc.customDomains.delete(cd.custom_domain_id);
  const again = await s.api('POST', '/custom-domains', { body: { domain: 'dup.postern-test.example', type: 'self_managed_certs' } });
  assert.equal(again.status, 201, 'a deleted domain can be added again');
  await mc.customDomains.delete(again.body.custom_domain_id);
});

test('custom domains: verify looks the TXT record up for real and, offline, stays pending; test and default need a ready domain', async () => {
  const cd: any = await mc.customDomains.create({ domain: 'verify.postern-test.example', type: 'auth0_managed_certs' });
  const v: any = await mc.customDomains.verify(cd.custom_domain_id);
  assert.equal(v.status, 'pending_verification');
  assert.equal(v.custom_domain_id, cd.custom_domain_id);
  assert.equal(v.verification.status, 'pending');
  assert.match(v.verification.error_msg, /_cf-custom-hostname\.verify\.postern-test\.example/);
  assert.equal((await mc.customDomains.get(cd.custom_domain_id) as any).status, 'pending_verification');

  assertError(await s.api('POST', `/custom-domains/${cd.custom_domain_id}/test`), 409, /not verified/);
  assertError(await s.api('PATCH', '/custom-domains/default', { body: { domain: 'verify.postern-test.example' } }), 400, /not verified/);
  assertError(await s.api('PATCH', '/custom-domains/default', { body: { domain: 'unknown.postern-test.example' } }), 400);
  assert.deepEqual(await mc.customDomains.getDefault(), { domain: s.domain });
  assert.deepEqual(await mc.customDomains.setDefault({ domain: s.domain }), { domain: s.domain });
  assert.equal((await mc.customDomains.get(cd.custom_domain_id) as any).is_default, false);
  await mc.customDomains.delete(cd.custom_domain_id);
});
