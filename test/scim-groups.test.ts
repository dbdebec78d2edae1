import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ManagementClient } from 'auth0';
import { startServer, type TestServer } from './helpers/server.ts';
import { collect, managementClient } from './helpers/sdk.ts';
import { assertError } from './helpers/assert.ts';
import { applyRbacClaims, effectivePermissions } from '../src/tenant/rbac.ts';
import { assertScimError, provisionedScim, SCIM_SCHEMAS, scimRequest } from './helpers/scim.ts';

// Groups as Okta Workforce pushes them into an enterprise connection over
// inbound SCIM (Okta's "Push Groups" request sequence, by fetch), read and
// given roles through the Management API (the official SDK), and the roles
// the group's members then hold: effective roles and permissions, and the
// permissions an RBAC access token for them carries.

let s: TestServer;
let mc: ManagementClient;
before(async () => {
  s = await startServer();
  mc = managementClient(s);
});
after(async () => { await s?.close(); });

const env = () => s.runtime.env;
const db = () => env().store.db;
const { user: CORE_USER, group: GROUP, list: LIST, patchOp: PATCH_OP } = SCIM_SCHEMAS;
const ALL_SCOPES = ['users', 'groups'].flatMap((r) => ['get', 'post', 'put', 'patch', 'delete'].map((m) => `${m}:${r}`));
const API = 'https://groups-api.example.com/';

interface Conn { id: string; name: string; token: string }
let n = 0;
/** An Okta Workforce connection with a SCIM configuration and a token holding `scopes`. */
const provisioned = (scopes = ALL_SCOPES): Promise<Conn> => provisionedScim(s, mc, `okta-grp-${++n}`, scopes);
const scim = (conn: { id: string; token: string }, method: string, path: string, body?: unknown, token = conn.token) => scimRequest(s, conn, method, path, { body, token });

/** A user as Okta's SCIM client creates it; its SCIM id (the Auth0 user_id). */
async function oktaUser(conn: Conn, login: string): Promise<string> {
  const r = await scim(conn, 'POST', '/Users', {
    schemas: [CORE_USER], userName: login, name: { givenName: 'G', familyName: 'F' }, emails: [{ primary: true, value: login, type: 'work' }],
    displayName: login, externalId: `ext-${login}`, groups: [], active: true,
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id;
}
const patch = (Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });
const byName = (name: string) => `/Groups?filter=${encodeURIComponent(`displayName eq "${name}"`)}&startIndex=1&count=100`;
const memberIds = (resource: any) => (resource.members ?? []).map((m: any) => m.value).sort();
const groupRows = (id: string) => db().selectFrom('groups').selectAll().where('tenant_id', '=', env().store.tenantId).where('id', '=', id).execute();
const rowsOf = (table: 'group_members' | 'group_roles', column: 'group_id' | 'user_id' | 'role_id', value: string) =>
  db().selectFrom(table).selectAll().where('tenant_id', '=', env().store.tenantId).where(column, '=', value).execute();

test("Okta's group push: look up, create with members, rename, add and remove members, read, delete", async () => {
  const conn = await provisioned();
  const [ada, bob, cy] = [await oktaUser(conn, 'ada@acme.example'), await oktaUser(conn, 'bob@acme.example'), await oktaUser(conn, 'cy@acme.example')];

  const none = await scim(conn, 'GET', byName('Engineering'));
  assert.equal(none.status, 200);
  assert.deepEqual(none.body, { schemas: [LIST], totalResults: 0, startIndex: 1, itemsPerPage: 0, Resources: [] });

  const created = await scim(conn, 'POST', '/Groups', { schemas: [GROUP], displayName: 'Engineering', members: [{ value: ada, display: 'ada@acme.example' }, { value: bob }] });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.id;
  assert.match(id, /^grp_[1-9a-km-zA-HJ-NP-Z]{22}$/);
  assert.equal(created.body.displayName, 'Engineering');
  assert.deepEqual(created.body.schemas, [GROUP]);
  assert.deepEqual(memberIds(created.body), [ada, bob].sort());
  assert.equal(created.body.meta.resourceType, 'Group');
  assert.equal(created.headers.get('location'), created.body.meta.location);
  assert.ok(created.body.meta.location.endsWith(`/scim/v2/connections/${conn.id}/Groups/${id}`));

  const found = await scim(conn, 'GET', byName('Engineering'));
  assert.equal(found.body.totalResults, 1);
  assert.deepEqual(found.body.Resources, [created.body]);

  // Okta renames with a value-only replace that repeats the id.
  const renamed = await scim(conn, 'PATCH', `/Groups/${id}`, patch([{ op: 'replace', value: { id, displayName: 'Engineering EU' } }]));
  assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
  assert.equal(renamed.body.displayName, 'Engineering EU');
  assert.deepEqual(memberIds(renamed.body), [ada, bob].sort());
  assert.equal((await groupRows(id))[0].name, 'Engineering EU');

  const added = await scim(conn, 'PATCH', `/Groups/${id}`, patch([{ op: 'add', path: 'members', value: [{ value: cy, display: 'cy@acme.example' }] }]));
  assert.deepEqual(memberIds(added.body), [ada, bob, cy].sort());
  const removed = await scim(conn, 'PATCH', `/Groups/${id}`, patch([{ op: 'remove', path: `members[value eq "${bob}"]` }]));
  assert.equal(removed.status, 200);
  assert.deepEqual(memberIds(removed.body), [ada, cy].sort());
  // Entra ID's forms: capitalised ops, a path for the name, a value list to remove.
  const entra = await scim(conn, 'PATCH', `/Groups/${id}`, patch([
    { op: 'Replace', path: 'displayName', value: 'Engineering' }, { op: 'Remove', path: 'members', value: [{ value: cy }] }, { op: 'Add', path: 'members', value: [{ value: bob }] },
  ]));
  assert.equal(entra.body.displayName, 'Engineering');
  assert.deepEqual(memberIds(entra.body), [ada, bob].sort());
  assert.deepEqual((await rowsOf('group_members', 'group_id', id)).map((r) => r.user_id).sort(), [ada, bob].sort());

  const read = await scim(conn, 'GET', `/Groups/${id}`);
  assert.deepEqual(read.body, entra.body);
  assert.ok(Date.parse(read.body.meta.lastModified) >= Date.parse(read.body.meta.created));
  const slim = await scim(conn, 'GET', '/Groups?excludedAttributes=members&startIndex=1&count=10');
  assert.equal(slim.body.totalResults, 1);
  assert.equal(slim.body.Resources[0].members, undefined);
  assert.equal(slim.body.Resources[0].displayName, 'Engineering');

  // PUT replaces the name, externalId and the whole member list.
  const put = await scim(conn, 'PUT', `/Groups/${id}`, { schemas: [GROUP], id, displayName: 'Eng', externalId: '00g1', members: [{ value: cy }] });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  assert.deepEqual([put.body.displayName, put.body.externalId, memberIds(put.body)], ['Eng', '00g1', [cy]]);
  const byExternal = await scim(conn, 'GET', `/Groups?filter=${encodeURIComponent('externalId eq "00g1"')}`);
  assert.deepEqual(byExternal.body.Resources.map((g: any) => g.id), [id]);

  // The Management API sees the same group.
  const g = await mc.groups.get(id);
  assert.deepEqual({ ...g, created_at: undefined, updated_at: undefined, tenant_name: undefined }, {
    id, name: 'Eng', external_id: '00g1', connection_id: conn.id, created_at: undefined, updated_at: undefined, tenant_name: undefined,
  });
  assert.equal(g.tenant_name, (await env().store.getTenant())!.name);
  const members = await collect(await mc.groups.members.get(id));
  assert.deepEqual(members.map((m) => [m.id, m.member_type]), [[cy, 'user']]);
  assert.deepEqual((await collect(await mc.users.groups.get(cy))).map((x) => [x.id, x.name, typeof x.membership_created_at]), [[id, 'Eng', 'string']]);
  assert.deepEqual(await collect(await mc.users.groups.get(ada)), []);

  const del = await scim(conn, 'DELETE', `/Groups/${id}`);
  assert.equal(del.status, 204);
  assertScimError(await scim(conn, 'GET', `/Groups/${id}`), 404);
  assert.deepEqual(await groupRows(id), []);
  assert.deepEqual(await rowsOf('group_members', 'group_id', id), []);
  assertError(await s.api('GET', `/groups/${id}`), 404, /group does not exist/);
});

test('Management API: list with filters and both pagings, members paged by checkpoint, delete', async () => {
  const conn = await provisioned();
  const other = await provisioned();
  const u = await oktaUser(conn, 'list@acme.example');
  const made: string[] = [];
  for (const name of ['Alpha', 'Beta', 'Gamma']) {
    made.push((await scim(conn, 'POST', '/Groups', { schemas: [GROUP], displayName: name, externalId: `x-${name}`, members: [{ value: u }] })).body.id);
  }
  const otherGroup = (await scim(other, 'POST', '/Groups', { schemas: [GROUP], displayName: 'Alpha' })).body.id;

  const mine = await collect(await mc.groups.list({ connection_id: conn.id }));
  assert.deepEqual(mine.map((g) => g.name), ['Alpha', 'Beta', 'Gamma']);
  assert.deepEqual((await collect(await mc.groups.list({ name: 'Alpha' }))).map((g) => g.id).sort(), [made[0], otherGroup].sort());
  assert.deepEqual((await collect(await mc.groups.list({ external_id: 'x-Beta' }))).map((g) => g.id), [made[1]]);
  assert.deepEqual((await collect(await mc.groups.list({ connection_id: conn.id, search: 'mm' }))).map((g) => g.name), ['Gamma']);
  // Checkpoint pages of one: the SDK follows `next` through all three.
  const paged = await mc.groups.list({ connection_id: conn.id, take: 1 } as any);
  assert.equal(paged.data.length, 1);
  assert.deepEqual((await collect(paged)).map((g) => g.name), ['Alpha', 'Beta', 'Gamma']);
  const offset = await s.api('GET', `/groups?connection_id=${conn.id}&page=1&per_page=2&include_totals=true`);
  assert.equal(offset.status, 200);
  assert.deepEqual([offset.body.total, offset.body.start, offset.body.groups.map((g: any) => g.name)], [3, 2, ['Gamma']]);
  const projected = await s.api('GET', `/groups?connection_id=${conn.id}&fields=id,name&take=1`);
  assert.deepEqual(Object.keys(projected.body.groups[0]).sort(), ['id', 'name']);
  assert.equal(typeof projected.body.next, 'string');

  const userGroups = await s.api('GET', `/users/${encodeURIComponent(u)}/groups?include_totals=true&per_page=2`);
  assert.deepEqual([userGroups.body.total, userGroups.body.groups.length], [3, 2]);

  await mc.groups.delete(made[1]);
  assert.deepEqual((await collect(await mc.groups.list({ connection_id: conn.id }))).map((g) => g.name), ['Alpha', 'Gamma']);
  assertScimError(await scim(conn, 'GET', `/Groups/${made[1]}`), 404);
  assert.deepEqual(await rowsOf('group_members', 'group_id', made[1]), []);
  assertError(await s.api('DELETE', `/groups/${made[1]}`), 404, /group does not exist/);
});

test('roles given to a group are held by its members: effective roles and permissions, sources, and RBAC tokens', async () => {
  const conn = await provisioned();
  const [ada, bob] = [await oktaUser(conn, 'ra@acme.example'), await oktaUser(conn, 'rb@acme.example')];
  await mc.resourceServers.create({ identifier: API, scopes: [{ value: 'read:docs' }, { value: 'write:docs' }], enforce_policies: true, token_dialect: 'access_token_authz' });
  const reader = await mc.roles.create({ name: 'group-reader' });
  const writer = await mc.roles.create({ name: 'group-writer' });
  await mc.roles.permissions.add(reader.id!, { permissions: [{ resource_server_identifier: API, permission_name: 'read:docs' }] });
  await mc.roles.permissions.add(writer.id!, { permissions: [{ resource_server_identifier: API, permission_name: 'write:docs' }] });
  const gid = (await scim(conn, 'POST', '/Groups', { schemas: [GROUP], displayName: 'Readers', members: [{ value: ada }] })).body.id;

  assert.deepEqual(await effectivePermissions(env(), ada, API), []);
  await mc.groups.roles.create(gid, { roles: [reader.id!] });
  await mc.groups.roles.create(gid, { roles: [reader.id!] }); // replayed: no change
  assert.deepEqual((await collect(await mc.groups.roles.list(gid))).map((r) => r.id), [reader.id]);
  assert.deepEqual((await collect(await mc.roles.groups.get(reader.id!))).map((g) => [g.id, g.name, g.connection_id]), [[gid, 'Readers', conn.id]]);
  assert.equal((await rowsOf('group_roles', 'group_id', gid)).length, 1);

  const roles = await collect(await mc.users.effectiveRoles.list(ada));
  assert.deepEqual(roles.map((r) => [r.id, r.name, r.sources]), [[reader.id, 'group-reader', ['groups']]]);
  assert.deepEqual(await collect(await mc.users.effectiveRoles.list(bob)), []);
  const sources = await collect(await mc.users.effectiveRoles.sources.groups.list(ada, { role_id: reader.id! }));
  assert.deepEqual(sources.map((g) => g.id), [gid]);
  const perms = await collect(await mc.users.effectivePermissions.list(ada, { resource_server_identifier: API }));
  assert.deepEqual(perms.map((p) => [p.permission_name, p.sources]), [['read:docs', ['roles']]]);
  const via = await s.api('GET', `/users/${encodeURIComponent(ada)}/effective-permissions/sources/effective-roles?resource_server_identifier=${encodeURIComponent(API)}&permission_name=read:docs`);
  assert.deepEqual(via.body.roles.map((r: any) => [r.id, r.sources]), [[reader.id, ['groups']]]);

  // Held directly as well: both sources.
  await mc.users.roles.assign(ada, { roles: [reader.id!] });
  assert.deepEqual((await collect(await mc.users.effectiveRoles.list(ada))).map((r) => r.sources), [['direct', 'groups']]);
  await mc.users.roles.delete(ada, { roles: [reader.id!] });

  // The role given from the role's side too; the token's permissions are what the user holds.
  await mc.roles.groups.create(writer.id!, { groups: [gid] });
  assert.deepEqual(await effectivePermissions(env(), ada, API), ['read:docs', 'write:docs']);
  const api = await env().store.resourceServers.findBy('identifier', API);
  const payload: any = { scope: 'openid read:docs write:docs' };
  await applyRbacClaims(env(), api, { kind: 'AccessToken', accountId: ada }, payload);
  assert.deepEqual(payload.permissions, ['read:docs', 'write:docs']);
  assert.equal(payload.scope, 'openid read:docs write:docs');
  const bobPayload: any = { scope: 'openid read:docs' };
  await applyRbacClaims(env(), api, { kind: 'AccessToken', accountId: bob }, bobPayload);
  assert.deepEqual([bobPayload.permissions, bobPayload.scope], [[], 'openid']);

  // Bob joins over SCIM and holds both; Ada leaves and holds none.
  await scim(conn, 'PATCH', `/Groups/${gid}`, patch([{ op: 'add', path: 'members', value: [{ value: bob }] }, { op: 'remove', path: `members[value eq "${ada}"]` }]));
  assert.deepEqual(await effectivePermissions(env(), bob, API), ['read:docs', 'write:docs']);
  assert.deepEqual(await effectivePermissions(env(), ada, API), []);

  await mc.roles.groups.delete(writer.id!, { groups: [gid] });
  assert.deepEqual(await effectivePermissions(env(), bob, API), ['read:docs']);
  await mc.groups.roles.delete(gid, { roles: [reader.id!] });
  assert.deepEqual(await effectivePermissions(env(), bob, API), []);
  assert.deepEqual(await collect(await mc.groups.roles.list(gid)), []);
});

test('SCIM refusals: scopes, bodies, members of other connections, duplicate names, unknown groups; nothing changes', async () => {
  const conn = await provisioned();
  const other = await provisioned();
  const usersOnly = await provisioned(['get:users', 'post:users']);
  const u = await oktaUser(conn, 'neg@acme.example');
  const stranger = await oktaUser(other, 'stranger@acme.example');
  const made = await scim(conn, 'POST', '/Groups', { schemas: [GROUP], displayName: 'Ops', members: [{ value: u }] });
  const id = made.body.id;

  assertScimError(await scim(usersOnly, 'GET', '/Groups'), 403);
  assertScimError(await scim(usersOnly, 'POST', '/Groups', { schemas: [GROUP], displayName: 'X' }), 403);
  const readOnly = (await mc.connections.scimConfiguration.tokens.create(conn.id, { scopes: ['get:groups'] })).token!;
  assert.equal((await scim(conn, 'GET', `/Groups/${id}`, undefined, readOnly)).status, 200);
  assertScimError(await scim(conn, 'DELETE', `/Groups/${id}`, undefined, readOnly), 403);
  assertScimError(await scim(other, 'GET', `/Groups/${id}`, undefined, conn.token), 401);

  assertScimError(await scim(conn, 'POST', '/Groups', { displayName: 'NoSchema' }), 400, 'invalidSyntax');
  assertScimError(await scim(conn, 'POST', '/Groups', { schemas: [GROUP] }), 400, 'invalidValue');
  assertScimError(await scim(conn, 'POST', '/Groups', { schemas: [GROUP], displayName: 'x'.repeat(129) }), 400, 'invalidValue');
  assertScimError(await scim(conn, 'POST', '/Groups', { schemas: [GROUP], displayName: 'Tab\there' }), 400, 'invalidValue');
  assertScimError(await scim(conn, 'POST', '/Groups', { schemas: [GROUP], displayName: 'Bad', members: [{ value: 'okta|nobody' }] }), 400, 'invalidValue');
  assertScimError(await scim(conn, 'POST', '/Groups', { schemas: [GROUP], displayName: 'Bad', members: [{ value: stranger }] }), 400, 'invalidValue');
  assertScimError(await scim(conn, 'POST', '/Groups', { schemas: [GROUP], displayName: 'Bad', members: ['x'] }), 400, 'invalidValue');
  assertScimError(await scim(conn, 'POST', '/Groups', { schemas: [GROUP], displayName: 'Ops' }), 409, 'uniqueness');
  // The same name in another connection is another group.
  assert.equal((await scim(other, 'POST', '/Groups', { schemas: [GROUP], displayName: 'Ops' })).status, 201);
  const second = (await scim(conn, 'POST', '/Groups', { schemas: [GROUP], displayName: 'Ops2' })).body.id;
  assertScimError(await scim(conn, 'PATCH', `/Groups/${second}`, patch([{ op: 'replace', path: 'displayName', value: 'Ops' }])), 409, 'uniqueness');
  assertScimError(await scim(conn, 'PUT', `/Groups/${second}`, { schemas: [GROUP], displayName: 'Ops' }), 409, 'uniqueness');

  assertScimError(await scim(conn, 'PATCH', `/Groups/${id}`, patch([{ op: 'add', path: 'members', value: [{ value: stranger }] }])), 400, 'invalidValue');
  assertScimError(await scim(conn, 'PATCH', `/Groups/${id}`, patch([{ op: 'replace', path: 'description', value: 'x' }])), 400, 'invalidPath');
  assertScimError(await scim(conn, 'PATCH', `/Groups/${id}`, patch([{ op: 'move', path: 'members' }])), 400, 'invalidSyntax');
  assertScimError(await scim(conn, 'PATCH', `/Groups/${id}`, patch([{ op: 'remove' }])), 400, 'noTarget');
  assertScimError(await scim(conn, 'PATCH', `/Groups/${id}`, patch([])), 400, 'invalidSyntax');
  assertScimError(await scim(conn, 'PATCH', `/Groups/${id}`, { Operations: [{ op: 'remove', path: 'members' }] }), 400, 'invalidSyntax');
  assertScimError(await scim(conn, 'GET', `/Groups?filter=${encodeURIComponent('displayName co "O"')}`), 400, 'invalidFilter');
  assertScimError(await scim(conn, 'GET', `/Groups?filter=${encodeURIComponent('members eq "x"')}`), 400, 'invalidFilter');
  assertScimError(await scim(conn, 'GET', `/Groups?filter=${encodeURIComponent('displayName eq')}`), 400, 'invalidFilter');

  const otherGroup = (await scim(other, 'GET', byName('Ops'))).body.Resources[0].id;
  for (const [method, body] of [['GET'], ['PUT', { schemas: [GROUP], displayName: 'Z' }], ['PATCH', patch([{ op: 'replace', path: 'displayName', value: 'Z' }])], ['DELETE']] as const) {
    assertScimError(await scim(conn, method, `/Groups/${otherGroup}`, body), 404);
    assertScimError(await scim(conn, method, '/Groups/grp_nonexistent000000000', body), 404);
  }
  // Nothing refused changed the group.
  assert.deepEqual((await scim(conn, 'GET', `/Groups/${id}`)).body, made.body);
  assert.equal((await scim(other, 'GET', `/Groups/${otherGroup}`)).body.displayName, 'Ops');
});

test('Management API refusals: unknown ids 404, bad bodies and ids 400, scopes 403', async () => {
  const conn = await provisioned();
  const gid = (await scim(conn, 'POST', '/Groups', { schemas: [GROUP], displayName: 'Mgmt' })).body.id;
  const role = await mc.roles.create({ name: 'mgmt-neg' });
  const missingGroup = 'grp_1111111111111111111111';

  assertError(await s.api('GET', `/groups/${missingGroup}`), 404, /group does not exist/);
  assertError(await s.api('GET', `/groups/${missingGroup}/members`), 404);
  assertError(await s.api('GET', `/groups/${missingGroup}/roles`), 404);
  assertError(await s.api('POST', `/groups/${missingGroup}/roles`, { body: { roles: [role.id] } }), 404);
  assertError(await s.api('GET', '/groups/short'), 404, /group does not exist/);
  assertError(await s.api('POST', `/groups/${gid}/roles`, { body: { roles: ['rol_0000000000000000'] } }), 404, /role does not exist/);
  assertError(await s.api('POST', `/groups/${gid}/roles`, { body: { roles: [] } }), 400);
  assertError(await s.api('POST', `/groups/${gid}/roles`, { body: {} }), 400);
  assertError(await s.api('DELETE', `/groups/${gid}/roles`, { body: { roles: [] } }), 400);
  assertError(await s.api('POST', `/roles/${role.id}/groups`, { body: { groups: [missingGroup] } }), 404, /group does not exist/);
  assertError(await s.api('POST', `/roles/${role.id}/groups`, { body: { groups: ['not-a-group'] } }), 400);
  assertError(await s.api('POST', `/roles/${role.id}/groups`, { body: { groups: [gid], extra: 1 } }), 400);
  assertError(await s.api('POST', '/roles/rol_0000000000000000/groups', { body: { groups: [gid] } }), 404, /role does not exist/);
  assertError(await s.api('GET', '/roles/rol_0000000000000000/groups'), 404);
  assertError(await s.api('GET', '/users/okta%7Cnobody/groups'), 404);
  assertError(await s.api('GET', `/groups?from=${encodeURIComponent('not a checkpoint')}`), 400);
  assertError(await s.api('GET', '/groups?take=101'), 400);
  // A refused assignment left nothing behind.
  assert.deepEqual(await rowsOf('group_roles', 'group_id', gid), []);

  const readOnly = await s.token('read:groups');
  assert.equal((await s.api('GET', `/groups/${gid}`, { token: readOnly })).status, 200);
  assertError(await s.api('DELETE', `/groups/${gid}`, { token: readOnly }), 403);
  assertError(await s.api('POST', `/groups/${gid}/roles`, { token: readOnly, body: { roles: [role.id] } }), 403);
  assert.equal((await groupRows(gid)).length, 1);
});

test('deletes cascade: a user leaves its groups, a role its groups, a connection takes its groups', async () => {
  const conn = await provisioned();
  const [a, b] = [await oktaUser(conn, 'ca@acme.example'), await oktaUser(conn, 'cb@acme.example')];
  const gid = (await scim(conn, 'POST', '/Groups', { schemas: [GROUP], displayName: 'Cascade', members: [{ value: a }, { value: b }] })).body.id;
  const role = await mc.roles.create({ name: 'cascade-role' });
  const kept = await mc.roles.create({ name: 'cascade-kept' });
  await mc.groups.roles.create(gid, { roles: [role.id!, kept.id!] });

  assert.equal((await scim(conn, 'DELETE', `/Users/${encodeURIComponent(a)}`)).status, 204);
  assert.deepEqual(await rowsOf('group_members', 'user_id', a), []);
  assert.deepEqual(memberIds((await scim(conn, 'GET', `/Groups/${gid}`)).body), [b]);
  await mc.users.delete(b);
  assert.deepEqual(await rowsOf('group_members', 'group_id', gid), []);

  await mc.roles.delete(role.id!);
  assert.deepEqual(await rowsOf('group_roles', 'role_id', role.id!), []);
  assert.deepEqual((await collect(await mc.groups.roles.list(gid))).map((r) => r.id), [kept.id]);

  await mc.connections.delete(conn.id);
  assert.deepEqual(await groupRows(gid), []);
  assert.deepEqual(await rowsOf('group_roles', 'group_id', gid), []);
  assert.deepEqual(await collect(await mc.groups.list({ connection_id: conn.id })), []);
  assert.deepEqual(await collect(await mc.roles.groups.get(kept.id!)), []);
});
