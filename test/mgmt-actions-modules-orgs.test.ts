import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ManagementClient } from 'auth0';
import { getOrgConnection } from '../src/store/rbac-store.ts';
import { startServer, type TestServer } from './helpers/server.ts';
import { collect as all, managementClient } from './helpers/sdk.ts';
import { assertError } from './helpers/assert.ts';

// Early-access Management API reads and writes a posture scanner uses: actions
// modules (with their versions, and the actions that use them), the newer form
// of an organization's connections (the same links as enabled_connections),
// organization templates, and who holds a role within an organization. Through
// the official SDK where it has the method, plain fetch for the negative cases.

let s: TestServer;
let mc: ManagementClient;
const users: string[] = [];
const profiles: Record<string, { email: string; name: string; picture: string }> = {};
let dbConnId: string;
before(async () => {
  s = await startServer();
  mc = managementClient(s);
  for (const n of ['ann', 'ben', 'cat', 'dan']) {
    const u = await mc.users.create({ connection: 'Username-Password-Authentication', email: `${n}@example.com`, password: 'Mod-Passw0rd!!', name: n.toUpperCase() });
    users.push(u.user_id!);
    profiles[u.user_id!] = { email: u.email!, name: u.name!, picture: u.picture! };
  }
  users.sort();
  dbConnId = (await s.api('GET', '/connections?name=Username-Password-Authentication')).body[0].id;
});
after(async () => { await s?.close(); });

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const POST_LOGIN = [{ id: 'post-login' as const, version: 'v3' }];
let n = 0;
const uniq = (prefix: string) => `${prefix}-${++n}-${Math.random().toString(36).slice(2, 8)}`;
const store = () => s.runtime.env.store;
const createModule = async (extra: Record<string, unknown> = {}) =>
  (await mc.actions.modules.create({ name: uniq('mod'), code: 'module.exports = { v: 1 };', ...extra } as any)) as any;

// --- actions modules ---------------------------------------------------------------

test('modules: create, read, update, list and delete, in the spec\'s shapes; secrets are never answered', async () => {
  const m = await createModule({ dependencies: [{ name: 'lodash', version: '4.17.21' }], secrets: [{ name: 'API_KEY', value: 'plain-module-secret' }] });
  assert.match(m.id, UUID);
  assert.deepEqual({ ...m, id: 0, name: 0, created_at: 0, updated_at: 0, secrets: 0 }, {
    id: 0, name: 0, created_at: 0, updated_at: 0, secrets: 0, code: 'module.exports = { v: 1 };',
    dependencies: [{ name: 'lodash', version: '4.17.21' }], actions_using_module_total: 0, all_changes_published: false,
  });
  assert.deepEqual(m.secrets.map((x: any) => x.name), ['API_KEY']);
  assert.ok(!Number.isNaN(Date.parse(m.secrets[0].updated_at)));
  assert.deepEqual(await mc.actions.modules.get(m.id), m);
  const stored = JSON.stringify(await store().getTenantDoc('actions:modules'));
  assert.ok(stored.includes('API_KEY') && !stored.includes('plain-module-secret'), 'the secret is sealed where it rests');

  const up: any = await mc.actions.modules.update(m.id, { code: '// v2', secrets: [{ name: 'OTHER', value: 'x' }] });
  assert.equal(up.code, '// v2');
  assert.equal(up.name, m.name);
  assert.deepEqual(up.dependencies, m.dependencies, 'a PATCH keeps what it does not name');
  assert.deepEqual(up.secrets.map((x: any) => x.name), ['OTHER'], 'the secrets list replaces the stored one');
  assert.ok(Date.parse(up.updated_at) >= Date.parse(m.updated_at));

  const listed = await all(await mc.actions.modules.list());
  assert.deepEqual(listed.find((x: any) => x.id === m.id), up, 'the list shows the module as a read does');

  await mc.actions.modules.delete(m.id);
  assertError(await s.api('GET', `/actions/modules/${m.id}`), 404, 'That action module does not exist.', 'inexistent_action_module');
  assert.ok(!(await all(await mc.actions.modules.list())).some((x: any) => x.id === m.id));
});

test('modules: names are unique (409) also under concurrent creates; bad input is 400; unknown ids are 404', async () => {
  const a = await createModule();
  assertError(await s.api('POST', '/actions/modules', { body: { name: a.name, code: '' } }), 409, /same name/, 'action_module_conflict');
  const name = uniq('race');
  const results = await Promise.all([1, 2, 3, 4].map(() => s.api('POST', '/actions/modules', { body: { name, code: 'x' } })));
  assert.deepEqual(results.map((r) => r.status).sort(), [201, 409, 409, 409]);
  assert.equal((await all(await mc.actions.modules.list())).filter((x: any) => x.name === name).length, 1);

  const bad: Array<[unknown, RegExp]> = [
    [{ name: 'x' }, /Missing required property: code/],
    [{ code: 'x' }, /Missing required property: name/],
    [{ name: ' ', code: 'x' }, /name must not be empty/],
    [{ name: 'x', code: 'x', bogus: 1 }, /Additional properties not allowed: bogus/],
    [{ name: 'x', code: 'x', secrets: [{ name: 'K' }] }, /Missing required property: value/],
    [{ name: 'x', code: 'x', secrets: [{ name: 'K', value: 'a' }, { name: 'K', value: 'b' }] }, /Duplicate secret name/],
    [{ name: 'x', code: 'x', dependencies: [{ name: 'lodash' }] }, /Missing required property: version/],
  ];
  for (const [body, message] of bad) assertError(await s.api('POST', '/actions/modules', { body }), 400, message, 'invalid_body');
  assert.ok(!(await all(await mc.actions.modules.list())).some((x: any) => x.name === 'x'), 'no refused create left a module');
  assertError(await s.api('PATCH', `/actions/modules/${a.id}`, { body: { name: 'renamed' } }), 400, /Additional properties not allowed: name/);
  assertError(await s.api('POST', `/actions/modules/${a.id}/rollback`, { body: {} }), 400, /Missing required property: module_version_id/);

  for (const [method, path] of [['GET', ''], ['PATCH', ''], ['DELETE', ''], ['GET', '/actions'], ['GET', '/versions'], ['POST', '/versions']]) {
    assertError(await s.api(method, `/actions/modules/nope${path}`, { body: method === 'PATCH' ? {} : undefined }), 404, 'That action module does not exist.');
  }
  assertError(await s.api('POST', '/actions/modules/nope/rollback', { body: { module_version_id: 'v' } }), 404, 'That action module does not exist.');
  assertError(await s.api('GET', `/actions/modules/${a.id}/versions/nope`), 404, 'That action module version does not exist.', 'inexistent_action_module_version');
});

test('modules: versions are numbered from 1, newest first, paged; rollback makes a version\'s code the draft', async () => {
  const m = await createModule({ code: 'one', publish: true });
  assert.equal(m.latest_version_number, 1);
  assert.equal(m.all_changes_published, true);
  assert.deepEqual({ ...m.latest_version, id: 0, created_at: 0 }, { id: 0, created_at: 0, version_number: 1, code: 'one', secrets: [], dependencies: [] });

  await mc.actions.modules.update(m.id, { code: 'two', dependencies: [{ name: 'uuid', version: '9.0.0' }] });
  assert.equal((await mc.actions.modules.get(m.id) as any).all_changes_published, false, 'an edited draft is not published');
  const v2: any = await mc.actions.modules.versions.create(m.id);
  assert.deepEqual({ ...v2, id: 0, created_at: 0 }, { id: 0, created_at: 0, module_id: m.id, version_number: 2, code: 'two', secrets: [], dependencies: [{ name: 'uuid', version: '9.0.0' }] });
  const created = await s.api('POST', `/actions/modules/${m.id}/versions`);
  assert.equal(created.status, 201);
  assert.equal(created.body.version_number, 3);

  const got: any = await mc.actions.modules.get(m.id);
  assert.equal(got.latest_version_number, 3);
  assert.equal(got.latest_version.id, created.body.id);
  assert.equal(got.all_changes_published, true);

  const page = await s.api('GET', `/actions/modules/${m.id}/versions?per_page=2&page=0`);
  assert.deepEqual(Object.keys(page.body).sort(), ['page', 'per_page', 'total', 'versions']);
  assert.deepEqual(page.body.versions.map((v: any) => v.version_number), [3, 2]);
  assert.equal(page.body.total, 3);
  assert.deepEqual((await s.api('GET', `/actions/modules/${m.id}/versions?per_page=2&page=1`)).body.versions.map((v: any) => v.version_number), [1]);
  assert.deepEqual((await all(await mc.actions.modules.versions.list(m.id))).map((v: any) => v.version_number), [3, 2, 1]);
  assertError(await s.api('GET', `/actions/modules/${m.id}/versions?per_page=101`), 400, /per_page/, 'invalid_query_string');
  const v1: any = (await all(await mc.actions.modules.versions.list(m.id))).find((v: any) => v.version_number === 1);
  assert.deepEqual(await mc.actions.modules.versions.get(m.id, v1.id), v1);

  const rolled: any = await mc.actions.modules.rollback(m.id, { module_version_id: v1.id });
  assert.equal(rolled.code, 'one');
  assert.deepEqual(rolled.dependencies, []);
  assert.equal(rolled.latest_version_number, 3, 'a rollback makes no version');
  assert.equal(rolled.all_changes_published, false, 'the draft now differs from the latest version');
  assert.equal((await mc.actions.modules.get(m.id) as any).code, 'one');
  assertError(await s.api('POST', `/actions/modules/${m.id}/rollback`, { body: { module_version_id: 'nope' } }), 404, 'That action module version does not exist.');
  const other = await createModule({ publish: true });
  // A version of another module is no version of this one.
  assertError(await s.api('POST', `/actions/modules/${m.id}/rollback`, { body: { module_version_id: other.latest_version.id } }), 404, /version does not exist/);

  const racing = await Promise.all([1, 2, 3, 4].map(() => s.api('POST', `/actions/modules/${other.id}/versions`)));
  assert.deepEqual(racing.map((r) => r.status), [201, 201, 201, 201]);
  assert.deepEqual(racing.map((r) => r.body.version_number).sort(), [2, 3, 4, 5], 'concurrent publishes never share a number');
  for (const r of racing) assert.equal((await s.api('GET', `/actions/modules/${other.id}/versions/${r.body.id}`)).status, 200);
});

test('modules: actions use a published version; the module lists the deployed ones and cannot be deleted while used', async () => {
  const draftOnly = await createModule();
  const m = await createModule({ code: 'a', publish: true });
  await mc.actions.modules.update(m.id, { code: 'b' });
  const v2: any = await mc.actions.modules.versions.create(m.id);

  const bad: Array<[unknown, RegExp]> = [
    [[{ module_id: 'nope' }], /The module nope does not exist/],
    [[{ module_id: draftOnly.id }], /has no published version/],
    [[{ module_id: m.id, module_version_number: 9 }], /has no such version/],
    [[{ module_id: m.id }, { module_id: m.id }], /Duplicate module/],
    [[{ module_name: 'x' }], /must have a module_id/],
  ];
  for (const [modules, message] of bad) {
    assertError(await s.api('POST', '/actions/actions', { body: { name: uniq('act'), supported_triggers: POST_LOGIN, modules } }), 400, message, 'invalid_body');
  }

  const act: any = await mc.actions.create({ name: uniq('act'), supported_triggers: POST_LOGIN, code: 'c', modules: [{ module_id: m.id }] } as any);
  assert.deepEqual(act.modules, [{ module_id: m.id, module_name: m.name, module_version_id: v2.id, module_version_number: 2 }], 'the latest version by default');
  assert.deepEqual((await mc.actions.modules.listActions(m.id)).data, [], 'a draft does not use a module yet');
  assert.equal((await mc.actions.modules.get(m.id) as any).actions_using_module_total, 0);
  assertError(await s.api('DELETE', `/actions/modules/${m.id}`), 409, /used by actions/, 'action_module_in_use');

  await mc.actions.deploy(act.id);
  const uses = await s.api('GET', `/actions/modules/${m.id}/actions`);
  assert.deepEqual(uses.body, {
    actions: [{ action_id: act.id, action_name: act.name, module_version_id: v2.id, module_version_number: 2, supported_triggers: POST_LOGIN }],
    total: 1, page: 0, per_page: 20,
  });
  assert.equal((await mc.actions.modules.get(m.id) as any).actions_using_module_total, 1);
  assert.equal((await all(await mc.actions.modules.list())).find((x: any) => x.id === m.id)!.actions_using_module_total, 1);
  const deployed: any = await mc.actions.get(act.id);
  assert.equal(deployed.deployed_version.modules[0].module_version_number, 2);

  // Pinning version 1 by id, then dropping the module: the deployed version keeps using it until the next deploy.
  const v1 = (await all(await mc.actions.modules.versions.list(m.id))).find((v: any) => v.version_number === 1) as any;
  const pinned: any = await mc.actions.update(act.id, { modules: [{ module_id: m.id, module_version_id: v1.id }] } as any);
  assert.equal(pinned.modules[0].module_version_number, 1);
  assert.equal(pinned.all_changes_deployed, false);
  await mc.actions.update(act.id, { modules: [] } as any);
  assertError(await s.api('DELETE', `/actions/modules/${m.id}`), 409, /used by actions/);
  await mc.actions.deploy(act.id);
  assert.deepEqual((await s.api('GET', `/actions/modules/${m.id}/actions`)).body.actions, []);

  const ids = (await all(await mc.actions.modules.versions.list(m.id))).map((v: any) => v.id);
  assert.equal((await s.api('DELETE', `/actions/modules/${m.id}`)).status, 204);
  for (const id of ids) assert.equal(await store().getTenantDoc(`actions:module-versions:${id}`), undefined, 'the versions go with the module');
  assert.equal((await s.api('GET', '/actions/actions')).body.actions.some((x: any) => x.id === m.id), false, 'modules never show as actions');
});

test('modules: the list pages in Auth0\'s envelope', async () => {
  const before = (await s.api('GET', '/actions/modules?per_page=100')).body.total;
  for (let i = 0; i < 3; i++) await createModule();
  const p = await s.api('GET', '/actions/modules?per_page=2&page=1');
  assert.deepEqual(Object.keys(p.body).sort(), ['modules', 'page', 'per_page', 'total']);
  assert.equal(p.body.total, before + 3);
  assert.equal(p.body.page, 1);
  assert.equal(p.body.per_page, 2);
  assert.equal(p.body.modules.length, 2);
  assert.equal(p.body.modules[0].latest_version, undefined, 'list items carry no version');
  assertError(await s.api('GET', '/actions/modules?per_page=abc'), 400, undefined, 'invalid_query_string');
  assertError(await s.api('GET', '/actions/modules?page=-1'), 400, undefined, 'invalid_query_string');
  const writeOnly = await s.token('create:actions');
  assertError(await s.api('GET', '/actions/modules', { token: writeOnly }), 403, 'Insufficient scope, expected any of: read:actions');
});

// --- organization connections, newer form ------------------------------------------------

test('organization connections (EA) and enabled_connections read and write the same links', async () => {
  const org = await mc.organizations.create({ name: 'ea-conn' });
  const created: any = await mc.organizations.connections.create(org.id!, {
    connection_id: dbConnId, organization_connection_name: 'staff', organization_access_level: 'readonly', assign_membership_on_login: true,
  } as any);
  const connection = { name: 'Username-Password-Authentication', strategy: 'auth0' };
  assert.deepEqual(created, {
    connection_id: dbConnId, assign_membership_on_login: true, show_as_button: true, organization_connection_name: 'staff',
    organization_access_level: 'readonly', is_enabled: true, connection,
  });
  const legacy = `/organizations/${org.id}/enabled_connections/${dbConnId}`;
  assert.deepEqual((await s.api('GET', legacy)).body, { connection_id: dbConnId, assign_membership_on_login: true, show_as_button: true, connection },
    'the older form shows the link in its own shape');
  assert.deepEqual(await mc.organizations.connections.get(org.id!, dbConnId), created);

  // A change through either form is seen by the other, and keeps what it does not name.
  await mc.organizations.enabledConnections.update(org.id!, dbConnId, { show_as_button: false });
  const afterLegacy: any = await mc.organizations.connections.get(org.id!, dbConnId);
  assert.deepEqual([afterLegacy.show_as_button, afterLegacy.organization_connection_name], [false, 'staff']);
  const renamed: any = await mc.organizations.connections.update(org.id!, dbConnId, { organization_connection_name: null, is_signup_enabled: true } as any);
  assert.equal(renamed.organization_connection_name, undefined, 'null clears the name');
  assert.equal((await s.api('GET', legacy)).body.is_signup_enabled, true);

  // A disabled link is kept, but is no enabled connection: not listed, not found, not usable to log in.
  const disabled: any = await mc.organizations.connections.update(org.id!, dbConnId, { is_enabled: false } as any);
  assert.equal(disabled.is_enabled, false);
  assert.deepEqual((await s.api('GET', `/organizations/${org.id}/enabled_connections`)).body, []);
  assertError(await s.api('GET', legacy), 404, 'The connection is not enabled for this organization', 'inexistent_organization_connection');
  assertError(await s.api('PATCH', legacy, { body: { show_as_button: true } }), 404);
  assert.equal(await getOrgConnection(store(), org.id!, dbConnId), undefined, 'login does not see it');
  assert.deepEqual((await s.api('GET', `/organizations/${org.id}/connections?is_enabled=false`)).body.map((c: any) => c.connection_id), [dbConnId]);
  assert.deepEqual((await s.api('GET', `/organizations/${org.id}/connections?is_enabled=true`)).body, []);
  // Enabling it through the older form keeps the newer form's fields.
  assert.equal((await s.api('POST', `/organizations/${org.id}/enabled_connections`, { body: { connection_id: dbConnId } })).status, 201);
  const back: any = await mc.organizations.connections.get(org.id!, dbConnId);
  assert.deepEqual([back.is_enabled, back.organization_access_level], [true, 'readonly']);
  assert.equal((await getOrgConnection(store(), org.id!, dbConnId))?.connection_id, dbConnId);

  assertError(await s.api('POST', `/organizations/${org.id}/connections`, { body: { connection_id: dbConnId } }), 409, /already associated/);
  assertError(await s.api('POST', `/organizations/${org.id}/enabled_connections`, { body: { connection_id: dbConnId } }), 409, /already enabled/);
  await mc.organizations.connections.delete(org.id!, dbConnId);
  assertError(await s.api('GET', legacy), 404);
  assertError(await s.api('GET', `/organizations/${org.id}/connections/${dbConnId}`), 404, 'The connection is not associated with this organization');
  assertError(await s.api('DELETE', `/organizations/${org.id}/connections/${dbConnId}`), 404);
  await mc.organizations.enabledConnections.add(org.id!, { connection_id: dbConnId });
  assert.equal((await mc.organizations.connections.get(org.id!, dbConnId) as any).is_enabled, true);
});

test('organization connections (EA): paging, and 404/400 in the error shape', async () => {
  const org = await mc.organizations.create({ name: 'ea-paging' });
  const conns: string[] = [];
  for (const i of [1, 2, 3]) conns.push((await mc.connections.create({ name: uniq(`ea-db${i}`), strategy: 'auth0' } as any)).id!);
  for (const c of conns) await mc.organizations.connections.create(org.id!, { connection_id: c, is_enabled: c !== conns[2] } as any);
  const p = await s.api('GET', `/organizations/${org.id}/connections?include_totals=true&per_page=2&page=0`);
  for (const k of ['start', 'limit', 'total', 'connections']) assert.ok(k in p.body, k);
  assert.deepEqual([p.body.total, p.body.start, p.body.limit, p.body.connections.length], [3, 0, 2, 2]);
  const p1 = await s.api('GET', `/organizations/${org.id}/connections?include_totals=true&per_page=2&page=1`);
  assert.deepEqual(new Set([...p.body.connections, ...p1.body.connections].map((c: any) => c.connection_id)), new Set(conns));
  assert.equal((await all(await mc.organizations.connections.list(org.id!, { per_page: 1 }))).length, 3);
  assert.equal((await s.api('GET', `/organizations/${org.id}/enabled_connections?include_totals=true`)).body.total, 2, 'the disabled one is not enabled');
  assert.equal((await s.api('GET', `/organizations/${org.id}/connections?is_enabled=true&include_totals=true`)).body.total, 2);
  assertError(await s.api('GET', `/organizations/${org.id}/connections?per_page=101`), 400, undefined, 'invalid_query_string');

  assertError(await s.api('GET', '/organizations/org_nope/connections'), 404, 'No organization found by that id or name');
  assertError(await s.api('POST', '/organizations/org_nope/connections', { body: { connection_id: dbConnId } }), 404);
  assertError(await s.api('POST', `/organizations/${org.id}/connections`, { body: { connection_id: 'con_nothere' } }), 404, 'No connection found by that id');
  assertError(await s.api('POST', `/organizations/${org.id}/connections`, { body: { show_as_button: true } }), 400, /Missing required property: connection_id/, 'invalid_body');
  assertError(await s.api('POST', `/organizations/${org.id}/connections`, { body: { connection_id: dbConnId, organization_access_level: 'root' } }), 400);
  assertError(await s.api('PATCH', `/organizations/${org.id}/connections/${conns[0]}`, { body: { connection_id: 'x' } }), 400, /Additional properties not allowed/);
  assertError(await s.api('PATCH', `/organizations/${org.id}/connections/${dbConnId}`, { body: {} }), 404, /not associated/);
});

// --- organization templates -----------------------------------------------------------

test('organization templates: assign, read, replace and unassign; kept off the organization\'s own shape', async () => {
  const org = await mc.organizations.create({ name: 'tmpl-org' });
  assertError(await s.api('GET', `/organizations/${org.id}/organization-templates`), 404, /No organization template/, 'inexistent_organization_template');
  await mc.organizations.organizationTemplate.assignOrganizationTemplate(org.id!, 'orgtmpl_A1');
  assert.deepEqual(await mc.organizations.organizationTemplate.get(org.id!), { id: 'orgtmpl_A1' });
  const put = await s.api('PUT', `/organizations/${org.id}/organization-templates/orgtmpl_B2`);
  assert.equal(put.status, 204);
  assert.deepEqual((await s.api('GET', `/organizations/${org.id}/organization-templates`)).body, { id: 'orgtmpl_B2' }, 'an organization has one template');
  assert.deepEqual(Object.keys((await s.api('GET', `/organizations/${org.id}`)).body).sort(), ['id', 'name']);
  await mc.organizations.update(org.id!, { display_name: 'Templated' });
  assert.deepEqual((await s.api('GET', `/organizations/${org.id}/organization-templates`)).body, { id: 'orgtmpl_B2' }, 'an organization PATCH keeps it');

  assertError(await s.api('DELETE', `/organizations/${org.id}/organization-templates/orgtmpl_A1`), 404, /No organization template/);
  await mc.organizations.organizationTemplate.unassignOrganizationTemplate(org.id!, 'orgtmpl_B2');
  assertError(await s.api('GET', `/organizations/${org.id}/organization-templates`), 404);
  assertError(await s.api('PUT', `/organizations/${org.id}/organization-templates/${encodeURIComponent('bad id!')}`), 400, /template_id/);
  for (const [method, path] of [['GET', ''], ['PUT', '/t1'], ['DELETE', '/t1']]) {
    assertError(await s.api(method, `/organizations/org_nope/organization-templates${path}`), 404, 'No organization found by that id or name');
  }
});

// --- who holds a role within an organization -------------------------------------------------

test('organization role members: members holding the role in that organization, checkpoint paged; groups are empty', async () => {
  const org = await mc.organizations.create({ name: 'role-org' });
  const role = await mc.roles.create({ name: uniq('org-role') });
  const other = await mc.roles.create({ name: uniq('other-role') });
  await mc.organizations.members.create(org.id!, { members: users });
  for (const u of [users[0], users[2], users[3]]) await mc.organizations.members.roles.assign(org.id!, u, { roles: [role.id!] });
  await mc.organizations.members.roles.assign(org.id!, users[1], { roles: [other.id!] });
  await mc.users.roles.assign(users[1], { roles: [role.id!] }); // held globally, not in the organization

  const path = `/organizations/${org.id}/roles/${role.id}/members`;
  const first = await s.api('GET', `${path}?take=2`);
  assert.deepEqual(first.body.members.map((m: any) => m.user_id), [users[0], users[2]]);
  const member = (u: string) => ({ user_id: u, ...profiles[u] });
  assert.deepEqual(first.body.members, [member(users[0]), member(users[2])]);
  assert.equal(typeof first.body.next, 'string');
  const second = await s.api('GET', `${path}?take=2&from=${first.body.next}`);
  assert.deepEqual(second.body, { members: [member(users[3])] }, 'the last page has no next');
  assert.deepEqual(Object.keys((await s.api('GET', path)).body), ['members'], 'without paging: the first 50, no next');
  const viaSdk = await all(await mc.organizations.roles.members.list(org.id!, role.id!, { take: 1 }));
  assert.deepEqual(viaSdk.map((m) => m.user_id), [users[0], users[2], users[3]]);
  assert.deepEqual((await s.api('GET', `${path}?fields=user_id`)).body.members, [users[0], users[2], users[3]].map((user_id) => ({ user_id })));

  await mc.organizations.members.delete(org.id!, { members: [users[2]] });
  assert.deepEqual((await s.api('GET', path)).body.members.map((m: any) => m.user_id), [users[0], users[3]], 'a member who leaves loses the role there');

  assertError(await s.api('GET', `${path}?take=0`), 400, /take/, 'invalid_query_string');
  assertError(await s.api('GET', `${path}?take=1000`), 400, /take/);
  assertError(await s.api('GET', `${path}?from=${Buffer.from('u:x').toString('base64url')}`), 400, /checkpoint/);
  assertError(await s.api('GET', `/organizations/org_nope/roles/${role.id}/members`), 404, 'No organization found by that id or name');
  assertError(await s.api('GET', `/organizations/${org.id}/roles/rol_nope/members`), 404, 'The role does not exist.');

  const groups = `/organizations/${org.id}/roles/${role.id}/groups`;
  assert.deepEqual((await s.api('GET', groups)).body, { groups: [] });
  assert.deepEqual(await all(await mc.organizations.roles.groups.list(org.id!, role.id!)), []);
  assertError(await s.api('GET', `${groups}?take=1000`), 400, /take/);
  assertError(await s.api('GET', `/organizations/org_nope/roles/${role.id}/groups`), 404, 'No organization found by that id or name');
  assertError(await s.api('GET', `/organizations/${org.id}/roles/rol_nope/groups`), 404, 'The role does not exist.');
  const narrow = await s.token('read:organizations');
  assertError(await s.api('GET', path, { token: narrow }), 403, 'Insufficient scope, expected any of: read:roles,read:organization_members');
});
