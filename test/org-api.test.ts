import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ManagementClient } from 'auth0';
import { startServer, type TestServer } from './helpers/server.ts';
import { collect as all, managementClient } from './helpers/sdk.ts';

let s: TestServer;
let mc: ManagementClient;
let users: string[] = [];
let dbConnId: string;

before(async () => {
  s = await startServer();
  mc = managementClient(s);
  for (const n of ['ann', 'ben', 'cat']) {
    users.push((await mc.users.create({ connection: 'Username-Password-Authentication', email: `${n}@example.com`, password: 'Org-Passw0rd!!', name: n.toUpperCase() })).user_id!);
  }
  users = users.sort();
  const conns = await s.api('GET', '/connections');
  dbConnId = conns.body.find((c: any) => c.name === 'Username-Password-Authentication').id;
});
after(async () => { await s?.close(); });

const enc = encodeURIComponent;

test('organizations CRUD, get by name, list with page and checkpoint paging', async () => {
  const org = await mc.organizations.create({
    name: 'acme', display_name: 'Acme Inc', branding: { logo_url: 'https://acme.example.com/logo.png', colors: { primary: '#112233', page_background: '#ffffff' } },
    metadata: { tier: 'gold', region: 'eu' },
  });
  assert.match(org.id!, /^org_[A-Za-z0-9]{16}$/);
  assert.equal(org.display_name, 'Acme Inc');
  assert.deepEqual(org.metadata, { tier: 'gold', region: 'eu' });
  assert.equal((await mc.organizations.get(org.id!)).name, 'acme');
  assert.equal((await mc.organizations.getByName('acme')).id, org.id);
  const patched = await mc.organizations.update(org.id!, { display_name: 'ACME', metadata: { region: null, plan: 'x' } as any });
  assert.equal(patched.display_name, 'ACME');
  assert.deepEqual(patched.metadata, { tier: 'gold', plan: 'x' });
  assert.equal(patched.branding!.logo_url, 'https://acme.example.com/logo.png');

  await assert.rejects(mc.organizations.create({ name: 'acme' }), (e: any) => e.statusCode === 409);
  const badName = await s.api('POST', '/organizations', { body: { name: 'Not Valid!' } });
  assert.equal(badName.status, 400);
  assert.equal(badName.body.errorCode, 'invalid_body');
  assert.equal((await s.api('POST', '/organizations', { body: { display_name: 'no name' } })).status, 400);
  assert.equal((await s.api('POST', '/organizations', { body: { name: 'x1', bogus: true } })).status, 400);

  for (const n of ['o-b', 'o-c', 'o-d', 'o-e']) await mc.organizations.create({ name: n });
  const offset = await s.api('GET', '/organizations?include_totals=true&page=1&per_page=2');
  assert.equal(offset.body.total, 5);
  assert.deepEqual(offset.body.organizations.map((o: any) => o.name), ['o-c', 'o-d']);
  const cp1 = await s.api('GET', '/organizations?take=3');
  assert.equal(cp1.body.organizations.length, 3);
  const cp2 = await s.api('GET', `/organizations?take=3&from=${cp1.body.next}`);
  assert.equal(cp2.body.organizations.length, 2);
  assert.equal(cp2.body.next, undefined);
  assert.deepEqual(new Set([...cp1.body.organizations, ...cp2.body.organizations].map((o: any) => o.name)).size, 5);
  // The SDK lists with include_totals=true&take=50 and follows `next`.
  assert.equal((await all(await mc.organizations.list({ take: 2 }))).length, 5);

  const gone = await mc.organizations.create({ name: 'gone' });
  await mc.organizations.delete(gone.id!);
  await assert.rejects(mc.organizations.get(gone.id!), (e: any) => e.statusCode === 404);
  const nf = await s.api('GET', '/organizations/name/nothere');
  assert.equal(nf.status, 404);
  assert.deepEqual(Object.keys(nf.body).sort(), ['error', 'errorCode', 'message', 'statusCode']);
});

test('members: idempotent add/remove, page and checkpoint lists, fields=roles, user organizations', async () => {
  const org = await mc.organizations.create({ name: 'members-org' });
  const role = await mc.roles.create({ name: 'org-admin' });
  for (let i = 0; i < 2; i++) {
    const r = await s.api('POST', `/organizations/${org.id}/members`, { body: { members: users } });
    assert.equal(r.status, 204);
  }
  await mc.organizations.members.create(org.id!, { members: [users[0]] });
  const page = await s.api('GET', `/organizations/${org.id}/members?include_totals=true&page=0&per_page=2`);
  assert.equal(page.body.total, 3);
  assert.deepEqual(page.body.members.map((m: any) => m.user_id), users.slice(0, 2));
  assert.deepEqual(Object.keys(page.body.members[0]).sort(), ['email', 'name', 'picture', 'user_id']);
  const cp = await s.api('GET', `/organizations/${org.id}/members?take=2`);
  const cp2 = await s.api('GET', `/organizations/${org.id}/members?take=2&from=${cp.body.next}`);
  assert.deepEqual([...cp.body.members, ...cp2.body.members].map((m: any) => m.user_id), users);
  const sdk = await all(await mc.organizations.members.list(org.id!, { take: 1 }));
  assert.deepEqual(sdk.map((m) => m.user_id), users);

  await mc.organizations.members.roles.assign(org.id!, users[1], { roles: [role.id!] });
  await mc.organizations.members.roles.assign(org.id!, users[1], { roles: [role.id!] });
  const withRoles = await s.api('GET', `/organizations/${org.id}/members?fields=user_id,roles`);
  assert.deepEqual(withRoles.body.find((m: any) => m.user_id === users[1]).roles, [{ id: role.id, name: 'org-admin' }]);
  assert.deepEqual(withRoles.body.find((m: any) => m.user_id === users[0]), { user_id: users[0], roles: [] });
  const noRoles = await s.api('GET', `/organizations/${org.id}/members`);
  assert.equal(noRoles.body[0].roles, undefined);
  const memberRoles = await all(await mc.organizations.members.roles.list(org.id!, users[1]));
  assert.deepEqual(memberRoles.map((r) => r.id), [role.id]);
  await mc.organizations.members.roles.delete(org.id!, users[1], { roles: [role.id!] });
  assert.equal((await mc.organizations.members.roles.list(org.id!, users[1])).data.length, 0);
  assert.equal((await s.api('GET', `/organizations/${org.id}/members/${enc('auth0|ghost')}/roles`)).status, 404);
  assert.equal((await s.api('POST', `/organizations/${org.id}/members/${enc(users[1])}/roles`, { body: { roles: ['rol_missing'] } })).status, 404);

  const userOrgs = await all(await mc.users.organizations.list(users[2]));
  assert.deepEqual(userOrgs.map((o) => o.name), ['members-org']);
  const totals = await s.api('GET', `/users/${enc(users[2])}/organizations?include_totals=true`);
  assert.equal(totals.body.total, 1);
  assert.equal((await s.api('GET', '/users/auth0%7Cghost/organizations')).status, 404);

  for (let i = 0; i < 2; i++) {
    const r = await s.api('DELETE', `/organizations/${org.id}/members`, { body: { members: [users[2]] } });
    assert.equal(r.status, 204);
  }
  await mc.organizations.members.delete(org.id!, { members: [users[1]] });
  assert.deepEqual((await s.api('GET', `/organizations/${org.id}/members`)).body.map((m: any) => m.user_id), [users[0]]);
  assert.equal((await s.api('POST', `/organizations/${org.id}/members`, { body: { members: ['auth0|ghost'] } })).status, 404);
  assert.equal((await s.api('POST', `/organizations/${org.id}/members`, { body: { members: [] } })).status, 400);
  assert.equal((await s.api('DELETE', `/organizations/${org.id}/members`)).status, 400);
  assert.equal((await s.api('POST', '/organizations/org_nope/members', { body: { members: [users[0]] } })).status, 404);
  assert.equal((await s.api('GET', '/organizations/org_nope/members')).status, 404);
});

test('enabled connections CRUD', async () => {
  const org = await mc.organizations.create({ name: 'conn-org', enabled_connections: [{ connection_id: dbConnId, assign_membership_on_login: true }] });
  assert.deepEqual((org as any).enabled_connections, [{ connection_id: dbConnId, assign_membership_on_login: true, show_as_button: true, connection: { name: 'Username-Password-Authentication', strategy: 'auth0' } }]);
  const list = await all(await mc.organizations.enabledConnections.list(org.id!));
  assert.equal(list.length, 1);
  const updated = await mc.organizations.enabledConnections.update(org.id!, dbConnId, { show_as_button: false });
  assert.equal(updated.show_as_button, false);
  assert.equal(updated.assign_membership_on_login, true);
  assert.equal((await mc.organizations.enabledConnections.get(org.id!, dbConnId)).show_as_button, false);
  assert.equal((await s.api('POST', `/organizations/${org.id}/enabled_connections`, { body: { connection_id: dbConnId } })).status, 409);
  await mc.organizations.enabledConnections.delete(org.id!, dbConnId);
  assert.equal((await s.api('GET', `/organizations/${org.id}/enabled_connections/${dbConnId}`)).status, 404);
  const added = await mc.organizations.enabledConnections.add(org.id!, { connection_id: dbConnId });
  assert.deepEqual({ a: added.assign_membership_on_login, b: added.show_as_button }, { a: false, b: true });
  const totals = await s.api('GET', `/organizations/${org.id}/enabled_connections?include_totals=true`);
  assert.equal(totals.body.total, 1);
  assert.equal((await s.api('POST', `/organizations/${org.id}/enabled_connections`, { body: { connection_id: 'con_nothere' } })).status, 404);
  assert.equal((await s.api('POST', `/organizations/${org.id}/enabled_connections`, { body: { show_as_button: true } })).status, 400);
});

test('invitations: create (login route from the application), list, get, delete', async () => {
  const org = await mc.organizations.create({ name: 'invite-org' });
  const role = await mc.roles.create({ name: 'invitee-role' });
  const noRoute = await mc.clients.create({ name: 'no-login-route', app_type: 'regular_web', callbacks: ['https://app.example.com/cb'] });
  const app = await mc.clients.create({ name: 'invite-app', app_type: 'regular_web', callbacks: ['https://app.example.com/cb'], initiate_login_uri: 'https://app.example.com/login' });
  const refused = await s.api('POST', `/organizations/${org.id}/invitations`, { body: { inviter: { name: 'Jane' }, invitee: { email: 'new@example.com' }, client_id: noRoute.client_id } });
  assert.equal(refused.status, 400);
  assert.match(refused.body.message, /default login route/);

  const inv = await mc.organizations.invitations.create(org.id!, {
    inviter: { name: 'Jane' }, invitee: { email: 'new@example.com' }, client_id: app.client_id!, roles: [role.id!], ttl_sec: 3600, send_invitation_email: false,
  });
  assert.match(inv.id!, /^uinv_[A-Za-z0-9]{16}$/);
  const url = new URL(inv.invitation_url!);
  assert.equal(url.origin + url.pathname, 'https://app.example.com/login');
  assert.equal(url.searchParams.get('invitation'), inv.ticket_id);
  assert.equal(url.searchParams.get('organization'), org.id);
  assert.equal(url.searchParams.get('organization_name'), 'invite-org');
  assert.equal(Date.parse(inv.expires_at!) - Date.parse(inv.created_at!), 3600_000);
  assert.deepEqual(inv.roles, [role.id]);
  assert.equal(inv.organization_id, org.id);

  const got = await mc.organizations.invitations.get(org.id!, inv.id!);
  assert.equal(got.invitee!.email, 'new@example.com');
  const listed = await all(await mc.organizations.invitations.list(org.id!));
  assert.deepEqual(listed.map((i) => i.id), [inv.id]);
  assert.equal((await s.api('POST', `/organizations/${org.id}/invitations`, { body: { inviter: { name: 'J' }, invitee: { email: 'x@example.com' }, client_id: 'nope' } })).status, 404);
  assert.equal((await s.api('POST', `/organizations/${org.id}/invitations`, { body: { inviter: { name: 'J' }, client_id: app.client_id } })).status, 400);
  await mc.organizations.invitations.delete(org.id!, inv.id!);
  assert.equal((await s.api('GET', `/organizations/${org.id}/invitations/${inv.id}`)).status, 404);
  assert.equal((await s.api('DELETE', `/organizations/${org.id}/invitations/${inv.id}`)).status, 404);
});

test('deleting an organization removes its members, roles, connections and invitations', async () => {
  const org = await mc.organizations.create({ name: 'doomed', enabled_connections: [{ connection_id: dbConnId }] });
  await mc.organizations.members.create(org.id!, { members: [users[0]] });
  await mc.organizations.delete(org.id!);
  assert.ok(!(await all(await mc.users.organizations.list(users[0]))).some((o) => o.id === org.id));
  const left = await s.runtime.env.store.db.selectFrom('organization_connections').selectAll().where('org_id', '=', org.id!).execute();
  assert.equal(left.length, 0);
});
