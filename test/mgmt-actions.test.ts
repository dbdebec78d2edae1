import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ManagementClient } from 'auth0';
import { startServer, type TestServer } from './helpers/server.ts';
import { collect as all, managementClient } from './helpers/sdk.ts';
import { assertError } from './helpers/assert.ts';

// Actions (with their versions and trigger bindings) and email templates,
// through the official SDK, with plain fetch for the negative cases. Action
// secrets are checked where they rest: the store's rows and the data directory.

let s: TestServer;
let mc: ManagementClient;
before(async () => {
  s = await startServer();
  mc = managementClient(s);
});
after(async () => { await s?.close(); });

const store = () => s.runtime.env.store;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const POST_LOGIN = [{ id: 'post-login' as const, version: 'v3' }];
const CODE = 'exports.onExecutePostLogin = async (event, api) => {};';
let n = 0;
const uniq = (prefix: string) => `${prefix}-${++n}-${Math.random().toString(36).slice(2, 8)}`;
const createAction = async (extra: Record<string, unknown> = {}) =>
  (await mc.actions.create({ name: uniq('act'), supported_triggers: POST_LOGIN, code: CODE, ...extra } as any)) as any;

function assertNotInDataDir(plain: string) {
  const walk = (dir: string): string[] => readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
  for (const file of walk(s.dataDir)) assert.ok(!readFileSync(file).includes(Buffer.from(plain)), `${file} holds a secret in plain text`);
}

// --- actions ----------------------------------------------------------------------

test('actions: create with Auth0 defaults, read, update, delete', async () => {
  const a = await createAction();
  assert.match(a.id, UUID);
  assert.deepEqual({ ...a, id: 0, name: 0, created_at: 0, updated_at: 0 }, {
    id: 0, name: 0, created_at: 0, updated_at: 0, supported_triggers: POST_LOGIN, code: CODE, dependencies: [], runtime: 'node22',
    status: 'built', secrets: [], all_changes_deployed: false,
  });
  assert.deepEqual(await mc.actions.get(a.id), a);

  const up: any = await mc.actions.update(a.id, { code: '// v2', dependencies: [{ name: 'lodash', version: '4.17.21' }], runtime: 'node18-actions' });
  assert.equal(up.code, '// v2');
  assert.equal(up.runtime, 'node18-actions');
  assert.deepEqual(up.dependencies, [{ name: 'lodash', version: '4.17.21' }]);
  assert.equal(up.name, a.name, 'a PATCH keeps what it does not name');
  assert.equal((await mc.actions.get(a.id) as any).code, '// v2');

  await mc.actions.delete(a.id);
  assertError(await s.api('GET', `/actions/actions/${a.id}`), 404, 'That action does not exist.');
  assertError(await s.api('PATCH', `/actions/actions/${a.id}`, { body: { code: 'x' } }), 404);
  assertError(await s.api('DELETE', `/actions/actions/${a.id}`), 404);
  assertError(await s.api('POST', `/actions/actions/${a.id}/deploy`), 404);
});

test('actions: names are unique (409), concurrent creates let one through, bad input is 400', async () => {
  const a = await createAction();
  const b = await createAction();
  assertError(await s.api('POST', '/actions/actions', { body: { name: a.name, supported_triggers: POST_LOGIN } }), 409, /same name/);
  assertError(await s.api('PATCH', `/actions/actions/${b.id}`, { body: { name: a.name } }), 409, /same name/);
  assert.equal((await s.api('PATCH', `/actions/actions/${a.id}`, { body: { name: a.name, code: 'same name is fine' } })).status, 200);

  const name = uniq('race');
  const results = await Promise.all([1, 2, 3, 4].map(() => s.api('POST', '/actions/actions', { body: { name, supported_triggers: POST_LOGIN } })));
  assert.deepEqual(results.map((r) => r.status).sort(), [201, 409, 409, 409]);

  const bad: Array<[unknown, RegExp]> = [
    [{ name: 'x' }, /Missing required property: supported_triggers/],
    [{ name: 'x', supported_triggers: [] }, /Payload validation error/],
    [{ name: 'x', supported_triggers: [{ id: 'post-login', version: 'v9' }] }, /post-login v9 is not supported/],
    [{ name: 'x', supported_triggers: [{ id: 'no-such-trigger' }] }, /Payload validation error/],
    [{ name: 'x', supported_triggers: POST_LOGIN, runtime: 'node8' }, /runtime must be one of/],
    [{ name: ' ', supported_triggers: POST_LOGIN }, /name must not be empty/],
    [{ name: 'x', supported_triggers: POST_LOGIN, secrets: [{ name: 'K' }] }, /must have a string value/],
    [{ name: 'x', supported_triggers: POST_LOGIN, secrets: [{ value: 'v' }] }, /must have a name/],
    [{ name: 'x', supported_triggers: POST_LOGIN, secrets: [{ name: 'K', value: 'a' }, { name: 'K', value: 'b' }] }, /Duplicate secret name/],
    [{ name: 'x', supported_triggers: POST_LOGIN, modules: [{ module_id: 'm' }] }, /The module m does not exist/],
  ];
  for (const [body, message] of bad) assertError(await s.api('POST', '/actions/actions', { body }), 400, message, 'invalid_body');
  assert.equal((await s.api('GET', '/actions/actions?actionName=x')).body.actions.length, 0, 'no refused create left an action');
  assertError(await s.api('GET', '/actions/actions?per_page=101'), 400, /per_page/, 'invalid_query_string');
  for (const x of [a, b, results.find((r) => r.status === 201)!.body]) await mc.actions.delete(x.id);
});

test('actions: listing filters by trigger, name, deployed and installed, in Auth0\'s page envelope', async () => {
  const login = await createAction();
  const m2m = await createAction({ supported_triggers: [{ id: 'credentials-exchange', version: 'v2' }] });
  await mc.actions.deploy(m2m.id);
  const names = (r: any) => r.body.actions.map((x: any) => x.name).sort();

  assert.deepEqual(names(await s.api('GET', `/actions/actions?actionName=${login.name}`)), [login.name]);
  assert.deepEqual(names(await s.api('GET', '/actions/actions?triggerId=credentials-exchange')), [m2m.name]);
  assert.ok(!names(await s.api('GET', '/actions/actions?triggerId=credentials-exchange')).includes(login.name));
  assert.deepEqual(names(await s.api('GET', '/actions/actions?deployed=true')), [m2m.name]);
  assert.ok(names(await s.api('GET', '/actions/actions?deployed=false')).includes(login.name));
  assert.ok(!names(await s.api('GET', '/actions/actions?deployed=false')).includes(m2m.name));
  assert.deepEqual(names(await s.api('GET', '/actions/actions?installed=true')), [], 'no action is a marketplace integration');

  const p0 = await s.api('GET', '/actions/actions?per_page=1&page=0');
  assert.deepEqual(Object.keys(p0.body).sort(), ['actions', 'page', 'per_page', 'total']);
  assert.equal(p0.body.total, 2);
  assert.equal(p0.body.per_page, 1);
  assert.equal(p0.body.actions.length, 1);
  const p1 = await s.api('GET', '/actions/actions?per_page=1&page=1');
  assert.equal(p1.body.page, 1);
  assert.notEqual(p1.body.actions[0].id, p0.body.actions[0].id);
  const viaSdk = await all(await mc.actions.list({ per_page: 1 }));
  assert.equal(viaSdk.length, 2, 'the SDK pages through every action');
  await mc.actions.delete(login.id);
  await mc.actions.delete(m2m.id);
});

// --- versions ---------------------------------------------------------------------

test('actions: deploy makes numbered versions; a rollback deploys a copy of an older one', async () => {
  const a = await createAction({ code: '// one' });
  const d1 = await s.api('POST', `/actions/actions/${a.id}/deploy`);
  assert.equal(d1.status, 202);
  assert.match(d1.body.id, UUID);
  assert.equal(d1.body.number, 1);
  assert.equal(d1.body.deployed, true);
  assert.equal(d1.body.code, '// one');
  assert.equal(d1.body.status, 'built');
  assert.equal(d1.body.action.id, a.id);
  assert.equal(d1.body.action.all_changes_deployed, true);

  let got: any = await mc.actions.get(a.id);
  assert.equal(got.all_changes_deployed, true);
  assert.equal(got.deployed_version.id, d1.body.id);
  await mc.actions.update(a.id, { code: '// two' });
  got = await mc.actions.get(a.id);
  assert.equal(got.all_changes_deployed, false, 'the draft changed after the deploy');
  assert.equal(got.deployed_version.code, '// one', 'the deployed version is a frozen copy');

  const v2: any = await mc.actions.deploy(a.id);
  assert.equal(v2.number, 2);
  assert.equal((await mc.actions.get(a.id) as any).all_changes_deployed, true);

  const versions = await s.api('GET', `/actions/actions/${a.id}/versions`);
  assert.equal(versions.body.total, 2);
  assert.deepEqual(versions.body.versions.map((v: any) => [v.number, v.deployed, v.code]), [[2, true, '// two'], [1, false, '// one']]);
  assert.equal((await all(await mc.actions.versions.list(a.id, { per_page: 1 }))).length, 2);
  const one: any = await mc.actions.versions.get(a.id, d1.body.id);
  assert.equal(one.number, 1);
  assert.equal(one.deployed, false);
  assertError(await s.api('GET', `/actions/actions/${a.id}/versions/nope`), 404, 'That action version does not exist.');
  assertError(await s.api('GET', '/actions/actions/nope/versions'), 404, 'That action does not exist.');

  // Rolling back to version 1 leaves the draft alone unless asked.
  const r1 = await s.api('POST', `/actions/actions/${a.id}/versions/${d1.body.id}/deploy`, { body: {} });
  assert.equal(r1.status, 202);
  assert.deepEqual([r1.body.number, r1.body.code, r1.body.deployed], [3, '// one', true]);
  got = await mc.actions.get(a.id);
  assert.equal(got.code, '// two');
  assert.equal(got.deployed_version.number, 3);
  assert.equal(got.all_changes_deployed, false);
  const r2: any = await mc.actions.versions.deploy(a.id, d1.body.id, { update_draft: true });
  assert.equal(r2.number, 4);
  got = await mc.actions.get(a.id);
  assert.equal(got.code, '// one', 'update_draft resets the draft to the version');
  assert.equal(got.all_changes_deployed, true);
  assertError(await s.api('POST', `/actions/actions/${a.id}/versions/nope/deploy`, { body: {} }), 404);

  // Concurrent deploys each get their own number.
  const racing = await Promise.all([1, 2, 3].map(() => s.api('POST', `/actions/actions/${a.id}/deploy`)));
  assert.deepEqual(racing.map((r) => r.body.number).sort(), [5, 6, 7]);
  await mc.actions.delete(a.id);
});

test('actions: create with deploy: true is deployed at once', async () => {
  const a = await createAction({ deploy: true });
  assert.equal(a.all_changes_deployed, true);
  assert.equal(a.deployed_version.number, 1);
  await mc.actions.delete(a.id);
});

// --- secrets ----------------------------------------------------------------------

test('actions: secrets are sealed at rest, never answered, and replaced by a PATCH list', async () => {
  const plain = 'sk_live_action_secret_plaintext_value_7';
  const other = 'sk_live_action_other_plaintext_value_8';
  const a = await createAction({ secrets: [{ name: 'API_KEY', value: plain }, { name: 'OTHER', value: other }] });
  assert.deepEqual(a.secrets.map((x: any) => x.name), ['API_KEY', 'OTHER']);
  assert.ok(a.secrets.every((x: any) => Object.keys(x).sort().join() === 'name,updated_at'));
  const v: any = await mc.actions.deploy(a.id);

  const raw = await store().actions.get(a.id);
  const rawText = JSON.stringify(raw);
  assert.ok(!rawText.includes(plain) && !rawText.includes(other), 'the stored document holds no secret in plain text');
  assert.equal(s.runtime.env.box.open(raw!.data.secrets.API_KEY), plain, 'the sealed value opens to the secret');
  assert.equal(s.runtime.env.box.open(raw!.data.versions[0].secrets.OTHER), other, 'the version keeps its own sealed copy');

  const answers = [
    await s.api('GET', `/actions/actions/${a.id}`), await s.api('GET', '/actions/actions'), await s.api('GET', `/actions/actions/${a.id}/versions`),
    await s.api('GET', `/actions/actions/${a.id}/versions/${v.id}`),
  ];
  for (const r of answers) {
    const text = JSON.stringify(r.body);
    assert.ok(!text.includes(plain) && !text.includes('enc:v1:'), 'neither the value nor its sealed form is answered');
  }

  // An entry without a value keeps the stored one; names left out are removed.
  const before = (await store().actions.get(a.id))!.data;
  const up: any = await mc.actions.update(a.id, { secrets: [{ name: 'API_KEY' }] });
  assert.deepEqual(up.secrets.map((x: any) => x.name), ['API_KEY']);
  const after = (await store().actions.get(a.id))!.data;
  assert.equal(after.secrets.API_KEY, before.secrets.API_KEY);
  assert.equal(after.secret_times.API_KEY, before.secret_times.API_KEY);
  assertError(await s.api('PATCH', `/actions/actions/${a.id}`, { body: { secrets: [{ name: 'NEW' }] } }), 400, /string value/);
  await mc.actions.update(a.id, { secrets: [{ name: 'API_KEY', value: `${plain}-rotated` }] });
  assert.equal(s.runtime.env.box.open((await store().actions.get(a.id))!.data.secrets.API_KEY), `${plain}-rotated`);
  assert.deepEqual((await mc.actions.update(a.id, { secrets: [] }) as any).secrets, []);

  if (store().backend === 'sqlite') assertNotInDataDir(plain);
  await mc.actions.delete(a.id);
});

// --- triggers and bindings --------------------------------------------------------

test('triggers: Auth0\'s catalogue of triggers', async () => {
  const { triggers } = await mc.actions.triggers.list() as any;
  for (const [id, version] of [['post-login', 'v3'], ['credentials-exchange', 'v2'], ['pre-user-registration', 'v2'], ['post-user-registration', 'v2'],
    ['post-change-password', 'v2'], ['send-phone-message', 'v2'], ['password-reset-post-challenge', 'v1']]) {
    const t = triggers.find((x: any) => x.id === id && x.version === version);
    assert.ok(t, `${id} ${version}`);
    assert.equal(t.status, 'CURRENT');
    assert.ok(t.runtimes.includes('node22') && t.default_runtime === 'node22');
    assert.deepEqual(t.compatible_triggers, []);
  }
});

test('bindings: PATCH replaces a trigger\'s bindings with deployed actions that support it', async () => {
  const a = await createAction({ deploy: true });
  const b = await createAction({ deploy: true });
  const draft = await createAction();
  const m2m = await createAction({ supported_triggers: [{ id: 'credentials-exchange', version: 'v2' }], deploy: true });
  const patch = (bindings: unknown[], trigger = 'post-login') => s.api('PATCH', `/actions/triggers/${trigger}/bindings`, { body: { bindings } });

  assertError(await patch([{ ref: { type: 'action_id', value: draft.id } }]), 400, /no deployed version/);
  assertError(await patch([{ ref: { type: 'action_id', value: m2m.id } }]), 400, /does not support the post-login trigger/);
  assertError(await patch([{ ref: { type: 'action_id', value: 'nope' } }]), 400, /does not exist/);
  assertError(await patch([{ ref: { type: 'binding_id', value: 'nope' } }]), 400, /binding nope does not exist/);
  assertError(await patch([{ ref: { type: 'action_id', value: a.id } }, { ref: { type: 'action_name', value: a.name } }]), 400, /only once/);
  assertError(await patch([{ ref: { type: 'action_id', value: a.id } }], 'custom-token-exchange'), 400);
  assert.equal((await mc.actions.triggers.bindings.list('post-login') as any).data.length, 0, 'refused PATCHes bound nothing');

  const set: any = await mc.actions.triggers.bindings.updateMany('post-login', {
    bindings: [{ ref: { type: 'action_id', value: a.id }, display_name: 'first' }, { ref: { type: 'action_name', value: b.name } }],
  });
  assert.deepEqual(set.bindings.map((x: any) => [x.trigger_id, x.action.id, x.display_name]), [['post-login', a.id, 'first'], ['post-login', b.id, b.name]]);
  assert.match(set.bindings[0].id, UUID);
  assert.equal(set.bindings[0].action.deployed_version.number, 1);

  const listed = await s.api('GET', '/actions/triggers/post-login/bindings?per_page=1');
  assert.equal(listed.body.total, 2);
  assert.equal(listed.body.bindings.length, 1);
  assert.equal((await all(await mc.actions.triggers.bindings.list('post-login', { per_page: 1 }))).length, 2);

  // Replace: b stays under its binding id, a goes; the m2m trigger is separate.
  const replaced = await patch([{ ref: { type: 'binding_id', value: set.bindings[1].id }, display_name: 'renamed' }]);
  assert.equal(replaced.status, 200);
  assert.deepEqual(replaced.body.bindings.map((x: any) => [x.id, x.action.id, x.display_name]), [[set.bindings[1].id, b.id, 'renamed']]);
  assert.equal((await patch([{ ref: { type: 'action_id', value: m2m.id } }], 'credentials-exchange')).status, 200);
  assert.equal((await s.api('GET', '/actions/triggers/credentials-exchange/bindings')).body.total, 1);

  // A bound action is deleted only with force, which unbinds it.
  assertError(await s.api('DELETE', `/actions/actions/${b.id}`), 409, 'Unable to delete an action bound to a trigger.');
  assert.equal((await s.api('GET', `/actions/actions/${b.id}`)).status, 200);
  await mc.actions.delete(b.id, { force: true });
  assert.equal((await s.api('GET', '/actions/triggers/post-login/bindings')).body.total, 0);
  assert.deepEqual(await store().getTenantDoc('actions:bindings:post-login'), { bindings: [] });

  assert.deepEqual((await patch([], 'credentials-exchange')).body, { bindings: [] });
  await mc.actions.delete(m2m.id);
  for (const x of [a, draft]) await mc.actions.delete(x.id);
});

test('a test run executes the draft with the given event and its secrets, and applies nothing', async () => {
  assertError(await s.api('GET', '/actions/executions/some-id'), 404, 'That execution does not exist.');
  const a = await createAction({
    code: `exports.onExecutePostLogin = async (event, api) => {
      console.log('hello', event.user.email, event.secrets.TOKEN);
      api.idToken.setCustomClaim('https://x.example/email', event.user.email);
      api.idToken.setCustomClaim('iss', 'nope');
      api.user.setAppMetadata('plan', 'gold');
    };`,
    secrets: [{ name: 'TOKEN', value: 't0k' }],
  });
  const r: any = await mc.actions.test(a.id, { payload: { user: { email: 'ann@example.com' } } });
  assert.equal(r.payload.error, undefined, JSON.stringify(r.payload));
  assert.match(r.payload.logs, /^hello ann@example.com t0k\n/);
  assert.match(r.payload.logs, /"iss" is restricted/);
  assert.deepEqual(r.payload.response.idToken, { 'https://x.example/email': 'ann@example.com' });
  assert.deepEqual(r.payload.response.appMetadata, { plan: 'gold' });
  assert.equal(typeof r.payload.stats.action_duration_ms, 'number');

  const failing = await createAction({ code: `exports.onExecutePostLogin = async () => { throw new Error('boom'); };` });
  const f: any = await mc.actions.test(failing.id, { payload: {} });
  assert.equal(f.payload.error.msg, 'boom');
  const broken = await createAction({ code: `exports.onExecutePostLogin = async (event, api) => { ` });
  assert.match((await mc.actions.test(broken.id, { payload: {} }) as any).payload.error.msg, /Unexpected|SyntaxError|end of input/);

  assertError(await s.api('POST', `/actions/actions/${a.id}/test`, { body: {} }), 400);
  assertError(await s.api('POST', `/actions/actions/${a.id}/test`, { body: { payload: [1] } }), 400);
  assertError(await s.api('POST', '/actions/actions/00000000-0000-4000-8000-000000000000/test', { body: { payload: {} } }), 404);
  for (const x of [a, failing, broken]) await mc.actions.delete(x.id);
});

// --- email templates --------------------------------------------------------------

test('email templates: 404 until created, create once (409), PATCH merges, PUT replaces', async () => {
  assertError(await s.api('GET', '/email-templates/verify_email'), 404, 'The template does not exist.');
  assertError(await s.api('PATCH', '/email-templates/verify_email', { body: { enabled: true } }), 404);
  const full = { template: 'verify_email' as const, body: '<p>{{ url }}</p>', from: 'noreply@example.com', subject: 'Verify', syntax: 'liquid', enabled: true };
  assertError(await s.api('PUT', '/email-templates/verify_email', { body: full }), 404);

  const created = await s.api('POST', '/email-templates', { body: { ...full, resultUrl: 'https://example.com/done', urlLifetimeInSeconds: 3600 } });
  assert.equal(created.status, 200);
  assert.deepEqual(created.body, { ...full, resultUrl: 'https://example.com/done', urlLifetimeInSeconds: 3600 });
  assertError(await s.api('POST', '/email-templates', { body: full }), 409, /already exists/);
  assert.deepEqual(await mc.emailTemplates.get('verify_email'), created.body);

  const patched: any = await mc.emailTemplates.update('verify_email', { subject: 'Please verify', resultUrl: null });
  assert.deepEqual(patched, { ...created.body, subject: 'Please verify', resultUrl: null });
  const put: any = await mc.emailTemplates.set('verify_email', { ...full, subject: 'Replaced', enabled: false });
  assert.deepEqual(put, { ...full, subject: 'Replaced', enabled: false }, 'PUT drops what it does not send');
  assert.deepEqual(await mc.emailTemplates.get('verify_email'), put);

  assertError(await s.api('PATCH', '/email-templates/verify_email', { body: { template: 'reset_email' } }), 400, /template must be verify_email/);
  assertError(await s.api('GET', '/email-templates/no_such_template'), 404);
  assertError(await s.api('POST', '/email-templates', { body: { ...full, template: 'no_such_template' } }), 400);
  assertError(await s.api('POST', '/email-templates', { body: { template: 'welcome_email' } }), 400, /Missing required property/);
  assertError(await s.api('PATCH', '/email-templates/verify_email', { body: { urlLifetimeInSeconds: -1 } }), 400);
  assertError(await s.api('GET', '/email-templates/welcome_email'), 404, 'The template does not exist.');

  const sdkMade: any = await mc.emailTemplates.create({ ...full, template: 'welcome_email' });
  assert.equal(sdkMade.template, 'welcome_email');
  assert.equal((await mc.emailTemplates.get('verify_email') as any).subject, 'Replaced', 'templates are separate documents');
});

test('email templates: concurrent creates let one through; concurrent PATCHes keep both changes', async () => {
  const full = { template: 'blocked_account', body: 'b', from: 'a@example.com', subject: 's', syntax: 'liquid', enabled: false };
  const results = await Promise.all([1, 2, 3].map(() => s.api('POST', '/email-templates', { body: full })));
  assert.deepEqual(results.map((r) => r.status).sort(), [200, 409, 409]);
  await Promise.all([
    s.api('PATCH', '/email-templates/blocked_account', { body: { subject: 'new subject' } }),
    s.api('PATCH', '/email-templates/blocked_account', { body: { enabled: true } }),
  ]);
  const got: any = await mc.emailTemplates.get('blocked_account');
  assert.equal(got.subject, 'new subject');
  assert.equal(got.enabled, true);
});

// --- scopes -----------------------------------------------------------------------

test('scopes: reading tokens cannot write actions, bindings or templates (403)', async () => {
  const read = await s.token('read:actions read:email_templates');
  assert.equal((await s.api('GET', '/actions/actions', { token: read })).status, 200);
  assert.equal((await s.api('GET', '/actions/triggers', { token: read })).status, 200);
  const writes: Array<[string, string, unknown, string]> = [
    ['POST', '/actions/actions', { name: 'x', supported_triggers: POST_LOGIN }, 'create:actions'],
    ['PATCH', '/actions/triggers/post-login/bindings', { bindings: [] }, 'update:actions'],
    ['DELETE', '/actions/actions/some-id', undefined, 'delete:actions'],
    ['POST', '/email-templates', { template: 'reset_email', body: 'b', from: 'f', subject: 's', syntax: 'liquid', enabled: true }, 'create:email_templates'],
    ['PUT', '/email-templates/verify_email', { template: 'verify_email', body: 'b', from: 'f', subject: 's', syntax: 'liquid', enabled: true }, 'update:email_templates'],
  ];
  for (const [method, path, body, scope] of writes) {
    assertError(await s.api(method, path, { token: read, body }), 403, `Insufficient scope, expected any of: ${scope}`, 'insufficient_scope');
  }
  const writeOnly = await s.token('create:actions');
  assertError(await s.api('GET', '/actions/actions', { token: writeOnly }), 403, 'Insufficient scope, expected any of: read:actions');
  assertError(await s.api('GET', '/email-templates/verify_email', { token: writeOnly }), 403, 'Insufficient scope, expected any of: read:email_templates');
});

// --- wrong-shaped input on real resources ------------------------------------------

test('wrong-shaped values on real actions, bindings and templates are 4xx in the error shape, never 5xx', async () => {
  const a = await createAction({ deploy: true });
  const v = (await s.api('GET', `/actions/actions/${a.id}/versions`)).body.versions[0];
  await s.api('POST', '/email-templates', { body: { template: 'mfa_oob_code', body: 'b', from: 'f', subject: 's', syntax: 'liquid', enabled: true } });
  const WRONG: unknown[] = [null, '', ' ', 'x'.repeat(3000), -1, 1.5, true, [], [null], [{}], [[]], {}, { a: 1 }, [{ name: '__proto__', value: 'v' }],
    [{ id: 'post-login', version: 5 }], [{ ref: {} }], [{ ref: { type: 'action_id' } }], [{ ref: { value: 1 } }], [{ ref: { type: 'binding_id', value: a.id } }],
    [{ ref: { value: a.name }, secrets: [{ name: 'k', value: 'v' }] }], [{ name: 'k', value: 1 }], 'a\u0000b'];
  const targets: Array<[string, string, string[]]> = [
    ['PATCH', `/actions/actions/${a.id}`, ['name', 'supported_triggers', 'code', 'dependencies', 'runtime', 'secrets', 'modules']],
    ['POST', '/actions/actions', ['supported_triggers', 'dependencies', 'runtime', 'secrets', 'modules', 'deploy']],
    ['POST', `/actions/actions/${a.id}/versions/${v.id}/deploy`, ['update_draft']],
    ['PATCH', '/actions/triggers/post-login/bindings', ['bindings']],
    ['PATCH', '/email-templates/mfa_oob_code', ['template', 'body', 'from', 'resultUrl', 'subject', 'syntax', 'urlLifetimeInSeconds', 'includeEmailInRedirect', 'enabled']],
    ['PUT', '/email-templates/mfa_oob_code', ['body', 'urlLifetimeInSeconds', 'enabled']],
  ];
  const failures: string[] = [];
  for (const [method, path, properties] of targets) {
    for (const property of properties) {
      for (const value of WRONG) {
        const base = method === 'POST' && path === '/actions/actions' ? { name: uniq('fz'), supported_triggers: POST_LOGIN }
          : method === 'PUT' ? { template: 'mfa_oob_code', body: 'b', from: 'f', subject: 's', syntax: 'liquid', enabled: true } : {};
        const r = await s.api(method, path, { body: { ...base, [property]: value } });
        const shaped = r.status < 400 || (r.status < 500 && r.body?.statusCode === r.status && typeof r.body.errorCode === 'string');
        if (!shaped) failures.push(`${method} ${path} ${property}=${JSON.stringify(value).slice(0, 40)} → ${r.status} ${JSON.stringify(r.body).slice(0, 120)}`);
      }
    }
  }
  assert.deepEqual(failures, []);
  assert.equal((await s.api('GET', `/actions/actions/${a.id}`)).status, 200, 'the action stays readable');
  assert.equal((await s.api('GET', '/actions/triggers/post-login/bindings')).status, 200);
  assert.equal((await s.api('GET', '/email-templates/mfa_oob_code')).status, 200);
  for (const x of (await s.api('GET', '/actions/actions?per_page=100')).body.actions) await mc.actions.delete(x.id, { force: true });
});
