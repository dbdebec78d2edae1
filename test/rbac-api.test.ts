import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ManagementClient } from 'auth0';
import { startServer, type TestServer } from './helpers/server.ts';
import { collect as all, managementClient } from './helpers/sdk.ts';

let s: TestServer;
let mc: ManagementClient;
const API = 'https://rbac.example.com/api';
let alice: string;
let bob: string;

before(async () => {
  s = await startServer();
  mc = managementClient(s);
  await mc.resourceServers.create({ identifier: API, name: 'RBAC API', scopes: [{ value: 'read:docs', description: 'Read docs' }, { value: 'write:docs', description: 'Write docs' }, { value: 'admin' }] as any });
  alice = (await mc.users.create({ connection: 'Username-Password-Authentication', email: 'alice@example.com', password: 'Al1ce-Passw0rd!' })).user_id!;
  bob = (await mc.users.create({ connection: 'Username-Password-Authentication', email: 'bob@example.com', password: 'B0b-Passw0rd!!' })).user_id!;
});
after(async () => { await s?.close(); });


test('roles CRUD through the official SDK', async () => {
  const role = await mc.roles.create({ name: 'editor', description: 'Edits docs' } as any);
  assert.match(role.id!, /^rol_[A-Za-z0-9]{16}$/);
  assert.equal((role as any).description, 'Edits docs');
  assert.equal((await mc.roles.get(role.id!)).name, 'editor');
  const updated = await mc.roles.update(role.id!, { name: 'writer', description: 'Writes' } as any);
  assert.deepEqual(updated, { id: role.id, name: 'writer', description: 'Writes' });
  const listed = await all(await mc.roles.list());
  assert.deepEqual(listed.map((r) => r.name), ['writer']);
  const filtered = await mc.roles.list({ name_filter: 'WRI' });
  assert.equal(filtered.data.length, 1);
  assert.equal((await mc.roles.list({ name_filter: 'nomatch' })).data.length, 0);
  await assert.rejects(mc.roles.create({ name: 'writer' }), (e: any) => e.statusCode === 409);
  await mc.roles.delete(role.id!);
  await assert.rejects(mc.roles.get(role.id!), (e: any) => e.statusCode === 404);
});

test('role permissions: add, list (bare array by default, as baton reads it), remove; unknown API 404, unknown scope 400', async () => {
  const role = await mc.roles.create({ name: 'perm-role' });
  await mc.roles.permissions.add(role.id!, { permissions: [{ resource_server_identifier: API, permission_name: 'read:docs' }, { resource_server_identifier: API, permission_name: 'write:docs' }] });
  // Adding again is harmless.
  await mc.roles.permissions.add(role.id!, { permissions: [{ resource_server_identifier: API, permission_name: 'read:docs' }] });
  const bare = await s.api('GET', `/roles/${role.id}/permissions`);
  assert.equal(bare.status, 200);
  assert.deepEqual(bare.body, [
    { permission_name: 'read:docs', description: 'Read docs', resource_server_name: 'RBAC API', resource_server_identifier: API },
    { permission_name: 'write:docs', description: 'Write docs', resource_server_name: 'RBAC API', resource_server_identifier: API },
  ]);
  const sdk = await all(await mc.roles.permissions.list(role.id!));
  assert.deepEqual(sdk.map((p) => p.permission_name), ['read:docs', 'write:docs']);
  const paged = await s.api('GET', `/roles/${role.id}/permissions?include_totals=true&per_page=1&page=1`);
  assert.equal(paged.body.total, 2);
  assert.deepEqual(paged.body.permissions.map((p: any) => p.permission_name), ['write:docs']);

  const noApi = await s.api('POST', `/roles/${role.id}/permissions`, { body: { permissions: [{ resource_server_identifier: 'https://nope', permission_name: 'read:docs' }] } });
  assert.equal(noApi.status, 404);
  assert.equal(noApi.body.error, 'Not Found');
  const noScope = await s.api('POST', `/roles/${role.id}/permissions`, { body: { permissions: [{ resource_server_identifier: API, permission_name: 'delete:docs' }] } });
  assert.equal(noScope.status, 400);
  assert.equal(noScope.body.statusCode, 400);
  const badBody = await s.api('POST', `/roles/${role.id}/permissions`, { body: { permissions: [{ permission_name: 'read:docs' }] } });
  assert.equal(badBody.status, 400);
  assert.match(badBody.body.message, /resource_server_identifier/);

  await mc.roles.permissions.delete(role.id!, { permissions: [{ resource_server_identifier: API, permission_name: 'write:docs' }] });
  assert.deepEqual((await s.api('GET', `/roles/${role.id}/permissions`)).body.map((p: any) => p.permission_name), ['read:docs']);
  const noBody = await s.api('DELETE', `/roles/${role.id}/permissions`);
  assert.equal(noBody.status, 400);
  assert.equal((await s.api('GET', '/roles/rol_doesnotexist00000/permissions')).status, 404);
});

test('user roles and role users: idempotent assign/remove with 204s, DELETE with a JSON body', async () => {
  const a = await mc.roles.create({ name: 'ra' });
  const b = await mc.roles.create({ name: 'rb' });
  for (let i = 0; i < 2; i++) {
    const r = await s.api('POST', `/users/${encodeURIComponent(alice)}/roles`, { body: { roles: [a.id, b.id] } });
    assert.equal(r.status, 204);
    assert.equal(r.body, undefined);
  }
  await mc.users.roles.assign(bob, { roles: [a.id!] });
  const aliceRoles = await all(await mc.users.roles.list(alice));
  assert.deepEqual(aliceRoles.map((r) => r.name).sort(), ['ra', 'rb']);
  const totals = await s.api('GET', `/users/${encodeURIComponent(alice)}/roles?include_totals=true`);
  assert.equal(totals.body.total, 2);

  const roleUsers = await all(await mc.roles.users.list(a.id!));
  assert.deepEqual(roleUsers.map((u) => u.user_id).sort(), [alice, bob].sort());
  assert.equal(roleUsers.find((u) => u.user_id === alice)!.email, 'alice@example.com');

  for (let i = 0; i < 2; i++) {
    const r = await s.api('DELETE', `/users/${encodeURIComponent(alice)}/roles`, { body: { roles: [b.id] } });
    assert.equal(r.status, 204);
  }
  await mc.users.roles.delete(bob, { roles: [a.id!] });
  assert.deepEqual((await s.api('GET', `/roles/${a.id}/users`)).body.map((u: any) => u.user_id), [alice]);

  await mc.roles.users.assign(b.id!, { users: [bob] });
  assert.deepEqual((await s.api('GET', `/roles/${b.id}/users?include_totals=true`)).body.users.map((u: any) => u.user_id), [bob]);

  assert.equal((await s.api('POST', '/users/auth0%7Cnobody/roles', { body: { roles: [a.id] } })).status, 404);
  const unknownRole = await s.api('POST', `/users/${encodeURIComponent(alice)}/roles`, { body: { roles: ['rol_nope'] } });
  assert.equal(unknownRole.status, 404);
  assert.equal((await s.api('POST', `/users/${encodeURIComponent(alice)}/roles`, { body: { roles: [] } })).status, 400);
  assert.equal((await s.api('POST', `/users/${encodeURIComponent(alice)}/roles`, { body: { role: [a.id] } })).status, 400);
  assert.equal((await s.api('DELETE', `/users/${encodeURIComponent(alice)}/roles`)).status, 400);
  assert.equal((await s.api('GET', '/roles/rol_nope/users')).status, 404);
  assert.equal((await s.api('POST', `/roles/${a.id}/users`, { body: { users: ['auth0|ghost'] } })).status, 404);
});

test('role users checkpoint paging: {users,next} whenever take or from is present, keyset order, no repeats', async () => {
  const role = await mc.roles.create({ name: 'many' });
  const ids: string[] = [];
  for (let i = 0; i < 7; i++) {
    const u = await s.runtime.env.store.insertUser({
      user_id: `auth0|cp${String(i).padStart(3, '0')}`, connection: 'Username-Password-Authentication', provider: 'auth0',
      email: `cp${i}@example.com`, email_norm: `cp${i}@example.com`, email_verified: 0, username: null, phone_number: null,
      name: `cp${i}`, nickname: `cp${i}`, given_name: null, family_name: null, picture: null, blocked: 0,
      created_at: new Date().toISOString(), updated_at: new Date().toISOString(), last_login: null, last_ip: null, logins_count: 0,
      app_metadata: '{}', user_metadata: '{}', identities: '[]', data: '{}', password_hash: null,
    });
    void u;
    ids.push(`auth0|cp${String(i).padStart(3, '0')}`);
  }
  await mc.roles.users.assign(role.id!, { users: ids });
  const first = await s.api('GET', `/roles/${role.id}/users?take=3`);
  assert.equal(first.status, 200);
  assert.deepEqual(Object.keys(first.body).sort(), ['next', 'users']);
  assert.deepEqual(first.body.users.map((u: any) => u.user_id), ids.slice(0, 3));
  const second = await s.api('GET', `/roles/${role.id}/users?take=3&from=${first.body.next}`);
  assert.deepEqual(second.body.users.map((u: any) => u.user_id), ids.slice(3, 6));
  const third = await s.api('GET', `/roles/${role.id}/users?take=3&from=${second.body.next}`);
  assert.deepEqual(third.body.users.map((u: any) => u.user_id), ids.slice(6));
  assert.equal(third.body.next, undefined);
  // `from` alone is also the checkpoint shape; a bad cursor is a 400.
  assert.ok(Array.isArray((await s.api('GET', `/roles/${role.id}/users?from=`)).body.users));
  assert.equal((await s.api('GET', `/roles/${role.id}/users?take=3&from=garbage`)).status, 400);
  assert.equal((await s.api('GET', `/roles/${role.id}/users?take=1000`)).status, 400);
  // The SDK walks every page through `next`.
  const sdk = await all(await mc.roles.users.list(role.id!, { take: 2 }));
  assert.deepEqual(sdk.map((u) => u.user_id), ids);
});

test('user permissions: direct and through roles, with sources; add/remove idempotent', async () => {
  const role = await mc.roles.create({ name: 'admins' });
  await mc.roles.permissions.add(role.id!, { permissions: [{ resource_server_identifier: API, permission_name: 'admin' }, { resource_server_identifier: API, permission_name: 'read:docs' }] });
  await mc.users.roles.assign(bob, { roles: [role.id!] });
  await mc.users.permissions.create(bob, { permissions: [{ resource_server_identifier: API, permission_name: 'read:docs' }] });
  const r = await s.api('POST', `/users/${encodeURIComponent(bob)}/permissions`, { body: { permissions: [{ resource_server_identifier: API, permission_name: 'read:docs' }] } });
  assert.equal(r.status, 201);
  const perms = await all(await mc.users.permissions.list(bob));
  const byName = Object.fromEntries(perms.map((p: any) => [p.permission_name, p]));
  assert.deepEqual(Object.keys(byName).sort(), ['admin', 'read:docs']);
  assert.deepEqual(byName.admin.sources, [{ source_id: role.id, source_name: 'admins', source_type: 'ROLE' }]);
  assert.deepEqual(byName['read:docs'].sources.map((x: any) => x.source_type).sort(), ['DIRECT', 'ROLE']);
  assert.equal(byName.admin.resource_server_name, 'RBAC API');

  const { effectivePermissions } = await import('../src/tenant/rbac.ts');
  assert.deepEqual(await effectivePermissions(s.runtime.env, bob, API), ['admin', 'read:docs']);
  assert.deepEqual(await effectivePermissions(s.runtime.env, bob, 'https://other'), []);

  await mc.users.permissions.delete(bob, { permissions: [{ resource_server_identifier: API, permission_name: 'read:docs' }] });
  const again = await s.api('DELETE', `/users/${encodeURIComponent(bob)}/permissions`, { body: { permissions: [{ resource_server_identifier: API, permission_name: 'read:docs' }] } });
  assert.equal(again.status, 204);
  const after = (await s.api('GET', `/users/${encodeURIComponent(bob)}/permissions`)).body;
  assert.deepEqual(after.find((p: any) => p.permission_name === 'read:docs').sources.map((x: any) => x.source_type), ['ROLE']);
  await mc.users.roles.delete(bob, { roles: [role.id!] });
  assert.deepEqual(await effectivePermissions(s.runtime.env, bob, API), []);
  assert.equal((await s.api('GET', '/users/auth0%7Cghost/permissions')).status, 404);
  assert.equal((await s.api('POST', `/users/${encodeURIComponent(bob)}/permissions`, { body: { permissions: [{ resource_server_identifier: API, permission_name: 'nope' }] } })).status, 400);
});

test('deleting a role removes its assignments and permissions', async () => {
  const role = await mc.roles.create({ name: 'temp' });
  await mc.roles.permissions.add(role.id!, { permissions: [{ resource_server_identifier: API, permission_name: 'admin' }] });
  await mc.users.roles.assign(alice, { roles: [role.id!] });
  const { effectivePermissions } = await import('../src/tenant/rbac.ts');
  assert.ok((await effectivePermissions(s.runtime.env, alice, API)).includes('admin'));
  await mc.roles.delete(role.id!);
  assert.ok(!(await effectivePermissions(s.runtime.env, alice, API)).includes('admin'));
  assert.ok(!(await all(await mc.users.roles.list(alice))).some((r) => r.id === role.id));
});

test('deleting an API removes its client grants and every role\'s and user\'s permissions on it; the same identifier made again grants nothing', async () => {
  const TEMP = 'https://rbac.example.com/temporary';
  const api = await mc.resourceServers.create({ identifier: TEMP, name: 'Temporary', scopes: [{ value: 'use:temp' }] as any });
  const role = await mc.roles.create({ name: 'temp-users' });
  await mc.roles.permissions.add(role.id!, { permissions: [{ resource_server_identifier: TEMP, permission_name: 'use:temp' }] });
  await mc.users.roles.assign(alice, { roles: [role.id!] });
  await mc.users.permissions.create(bob, { permissions: [{ resource_server_identifier: TEMP, permission_name: 'use:temp' }] });
  const app = (await s.api('POST', '/clients', { body: { name: 'temp-m2m', app_type: 'non_interactive' } })).body;
  assert.equal((await s.api('POST', '/client-grants', { body: { client_id: app.client_id, audience: TEMP, scope: ['use:temp'] } })).status, 201);

  assert.equal((await s.api('DELETE', `/resource-servers/${api.id}`)).status, 204);
  await mc.resourceServers.create({ identifier: TEMP, name: 'Temporary again', scopes: [{ value: 'use:temp' }] as any });
  const { effectivePermissions } = await import('../src/tenant/rbac.ts');
  assert.deepEqual(await effectivePermissions(s.runtime.env, alice, TEMP), []);
  assert.deepEqual(await effectivePermissions(s.runtime.env, bob, TEMP), []);
  assert.deepEqual((await s.api('GET', `/roles/${role.id}/permissions`)).body, []);
  assert.deepEqual((await s.api('GET', `/client-grants?audience=${encodeURIComponent(TEMP)}`)).body, []);
  const token = await fetch(`${s.baseUrl}/oauth/token`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'client_credentials', client_id: app.client_id, client_secret: app.client_secret, audience: TEMP }),
  });
  assert.equal(token.status, 403, 'the old client grant does not carry over');
});
