import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import type { ManagementClient } from 'auth0';
import { startServer, type TestServer } from './helpers/server.ts';
import { collect, managementClient } from './helpers/sdk.ts';
import { assertError } from './helpers/assert.ts';
import { createApp, Jar } from './helpers/login-flow.ts';
import { startMockIdp, type MockIdp } from './helpers/mock-idp.ts';
import { throughIdp } from './helpers/through-idp.ts';
import { provisionedScim, SCIM_SCHEMAS, scimRequest } from './helpers/scim.ts';
import { effectivePermissions } from '../src/tenant/rbac.ts';

// Organization groups: the groups of the enterprise connections enabled for an
// organization, the roles given to them there (the official SDK), and what
// those roles do: the organization's effective member roles, and the
// permissions of an organization's access tokens for the group's members,
// logged in through their Okta connection (a mock Okta) as a browser would.

let s: TestServer;
let mc: ManagementClient;
let okta: MockIdp;
let app: { client_id: string; client_secret?: string };
interface Conn { id: string; name: string; token: string }
let acme: Conn;
let other: Conn;
let org: { id: string };
const CALLBACK = 'https://app.example.com/callback';
const API = 'https://org-groups-api.example/';
const SCIM_SCOPES = ['get', 'post', 'put', 'patch', 'delete'].flatMap((m) => [`${m}:users`, `${m}:groups`]);

before(async () => {
  s = await startServer();
  mc = managementClient(s);
  okta = await startMockIdp();
  app = await createApp(s, {
    name: 'Org portal', app_type: 'regular_web', callbacks: [CALLBACK], organization_usage: 'allow',
    grant_types: ['authorization_code', 'refresh_token'],
  });
  const made = await mc.connections.create({
    name: 'acme-okta', strategy: 'okta', enabled_clients: [app.client_id],
    options: { domain: okta.domain, client_id: okta.clientId, client_secret: okta.clientSecret, scope: 'openid profile email' } as any,
  });
  await mc.connections.scimConfiguration.create(made.id!, {});
  acme = { id: made.id!, name: 'acme-okta', token: (await mc.connections.scimConfiguration.tokens.create(made.id!, { scopes: SCIM_SCOPES })).token! };
  other = await provisionedScim(s, mc, 'other-okta', SCIM_SCOPES);
  org = await mc.organizations.create({ name: 'acme', enabled_connections: [{ connection_id: acme.id, assign_membership_on_login: true }] }) as { id: string };
  await mc.resourceServers.create({
    identifier: API, scopes: [{ value: 'read:x' }, { value: 'write:x' }], enforce_policies: true, token_dialect: 'access_token_authz', allow_offline_access: true,
  });
});
after(async () => { await okta?.close(); await s?.close(); });

const env = () => s.runtime.env;
const linkRows = (column: 'org_id' | 'group_id' | 'role_id', value: string) =>
  env().store.db.selectFrom('organization_group_roles').selectAll().where('tenant_id', '=', env().store.tenantId).where(column, '=', value).execute();

/** A user as Okta's SCIM client creates it; its user_id. */
async function scimUser(conn: Conn, sub: string): Promise<string> {
  const r = await scimRequest(s, conn, 'POST', '/Users', {
    body: { schemas: [SCIM_SCHEMAS.user], userName: `${sub}@acme.example`, externalId: sub, emails: [{ primary: true, value: `${sub}@acme.example` }], active: true },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id;
}
/** A group as Okta's group push creates it; its id. */
async function scimGroup(conn: Conn, name: string, members: string[] = []): Promise<string> {
  const r = await scimRequest(s, conn, 'POST', '/Groups', { body: { schemas: [SCIM_SCHEMAS.group], displayName: name, members: members.map((value) => ({ value })) } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id;
}
const role = async (name: string) => (await mc.roles.create({ name })).id!;
const orgGroupRoleIds = async (groupId: string, orgId = org.id) => (await collect(await mc.organizations.groups.roles.list(orgId, groupId))).map((r) => r.id).sort();
const orgGroupIds = async (orgId = org.id) => (await collect(await mc.organizations.groups.list(orgId))).map((g) => g.id).sort();
const groupRoles = (path: string) => `/organizations/${org.id}/groups/${path}/roles`;

test("an organization's groups are those of its enabled connections, paged by checkpoint", async () => {
  const eng = await scimGroup(acme, 'Engineering');
  const ops = await scimGroup(acme, 'Operations');
  const elsewhere = await scimGroup(other, 'Elsewhere');

  const listed = await collect(await mc.organizations.groups.list(org.id));
  assert.deepEqual(listed.map((g) => g.id).sort(), [eng, ops].sort());
  const one = await s.api('GET', `/groups/${eng}`);
  assert.deepEqual(listed.find((g) => g.id === eng), one.body, 'shown as the tenant-level group is');

  const first = await s.api('GET', `/organizations/${org.id}/groups?take=1`);
  assert.equal(first.status, 200);
  assert.deepEqual(Object.keys(first.body).sort(), ['groups', 'next']);
  assert.equal(first.body.groups.length, 1);
  const second = await s.api('GET', `/organizations/${org.id}/groups?take=1&from=${first.body.next}`);
  assert.deepEqual([...first.body.groups, ...second.body.groups].map((g: any) => g.id).sort(), [eng, ops].sort());
  assert.equal(second.body.next, undefined);

  // Enabling the other connection brings its groups; disabling it takes them away.
  assert.equal((await s.api('POST', `/organizations/${org.id}/enabled_connections`, { body: { connection_id: other.id } })).status, 201);
  assert.deepEqual(await orgGroupIds(), [eng, ops, elsewhere].sort());
  assert.equal((await s.api('DELETE', `/organizations/${org.id}/enabled_connections/${other.id}`)).status, 204);
  assert.deepEqual(await orgGroupIds(), [eng, ops].sort());

  const empty = await mc.organizations.create({ name: 'no-connections' });
  assert.deepEqual((await s.api('GET', `/organizations/${empty.id}/groups`)).body, { groups: [] });
  assertError(await s.api('GET', '/organizations/org_doesnotexist1/groups'), 404, undefined, 'inexistent_organization');
  assertError(await s.api('GET', `/organizations/${org.id}/groups?take=0`), 400);
  assertError(await s.api('GET', `/organizations/${org.id}/groups?from=not-a-checkpoint`), 400);
  await mc.organizations.delete(empty.id!);
});

test('roles of an organization group: assigned, listed and removed, idempotently; bad input writes nothing', async () => {
  const gid = await scimGroup(acme, 'Support');
  const [r1, r2] = [await role('org-support-1'), await role('org-support-2')];
  await mc.organizations.groups.roles.create(org.id, gid, { roles: [r1, r2] });
  await mc.organizations.groups.roles.create(org.id, gid, { roles: [r1] });
  assert.deepEqual(await orgGroupRoleIds(gid), [r1, r2].sort());
  const page = await s.api('GET', `${groupRoles(gid)}?take=1`);
  assert.equal(page.status, 200);
  assert.deepEqual(Object.keys(page.body).sort(), ['next', 'roles']);
  const rest = await s.api('GET', `${groupRoles(gid)}?take=1&from=${page.body.next}`);
  assert.deepEqual(Object.keys(rest.body), ['roles'], 'the last page has no next');
  assert.deepEqual([...page.body.roles, ...rest.body.roles].sort((x: any, y: any) => x.name.localeCompare(y.name)),
    [{ id: r1, name: 'org-support-1', description: '' }, { id: r2, name: 'org-support-2', description: '' }]);
  assert.deepEqual((await s.api('GET', `/groups/${gid}/roles`)).body.roles, [], 'not a tenant-level role of the group');
  // From the role's side (early access): the organization's groups given it there.
  const group = (await s.api('GET', `/groups/${gid}`)).body;
  assert.deepEqual(await collect(await mc.organizations.roles.groups.list(org.id, r2)), [group]);
  assert.deepEqual((await s.api('GET', `/organizations/${org.id}/roles/${r2}/groups?take=1`)).body, { groups: [group] });

  // Bad input: nothing is written.
  assertError(await s.api('POST', groupRoles(gid), { body: { roles: ['rol_doesnotexist12345'] } }), 404, undefined, 'inexistent_role');
  assertError(await s.api('POST', groupRoles(gid), { body: { roles: [] } }), 400);
  assertError(await s.api('POST', groupRoles(gid), { body: {} }), 400);
  assertError(await s.api('POST', groupRoles(gid), { body: { roles: [r1], extra: true } }), 400);
  assertError(await s.api('DELETE', groupRoles(gid), { body: { roles: [] } }), 400);
  assertError(await s.api('DELETE', groupRoles(gid)), 400);
  assert.deepEqual(await orgGroupRoleIds(gid), [r1, r2].sort());

  // Unknown organization, unknown group, and a group of a connection the organization does not have.
  const elsewhere = await scimGroup(other, 'Support elsewhere');
  assertError(await s.api('POST', `/organizations/org_doesnotexist1/groups/${gid}/roles`, { body: { roles: [r1] } }), 404, undefined, 'inexistent_organization');
  assertError(await s.api('GET', groupRoles('grp_doesnotexist1234567')), 404, undefined, 'inexistent_group');
  assertError(await s.api('POST', groupRoles(elsewhere), { body: { roles: [r1] } }), 404, /organization/, 'inexistent_group');
  assertError(await s.api('GET', groupRoles(elsewhere)), 404, undefined, 'inexistent_group');
  assert.deepEqual(await linkRows('group_id', elsewhere), []);

  await mc.organizations.groups.roles.delete(org.id, gid, { roles: [r2, 'rol_neverassigned1234'] });
  assert.deepEqual(await orgGroupRoleIds(gid), [r1]);
  assert.deepEqual((await s.api('GET', `/organizations/${org.id}/roles/${r2}/groups`)).body, { groups: [] });
});

test("a member holds the roles of the organization's groups they are in: effective roles, sources, and their cascades", async () => {
  const [ann, ben] = [await scimUser(acme, '00uann'), await scimUser(acme, '00uben')];
  const gid = await scimGroup(acme, 'Finance', [ann]);
  const [direct, viaGroup, both, tenantLevel] = [await role('fin-direct'), await role('fin-group'), await role('fin-both'), await role('fin-tenant')];
  await mc.organizations.members.create(org.id, { members: [ann, ben] });
  await mc.organizations.members.roles.assign(org.id, ann, { roles: [direct, both] });
  await mc.organizations.groups.roles.create(org.id, gid, { roles: [viaGroup, both] });
  await mc.groups.roles.create(gid, { roles: [tenantLevel] });

  const effective = async (user: string) => (await collect(await mc.organizations.members.effectiveRoles.list(org.id, user)))
    .map((r) => [r.name, r.sources]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
  assert.deepEqual(await effective(ann), [['fin-both', ['direct', 'groups']], ['fin-direct', ['direct']], ['fin-group', ['groups']]]);
  assert.deepEqual(await effective(ben), [], 'not in the group');
  const sources = await collect(await mc.organizations.members.effectiveRoles.sources.groups.list(org.id, ann, { role_id: viaGroup }));
  assert.deepEqual(sources, [(await s.api('GET', `/groups/${gid}`)).body]);
  assert.deepEqual(await collect(await mc.organizations.members.effectiveRoles.sources.groups.list(org.id, ann, { role_id: direct })), []);
  assertError(await s.api('GET', `/organizations/${org.id}/members/${encodeURIComponent(ann)}/effective-roles/sources/groups?role_id=rol_doesnotexist12345`), 404, undefined, 'inexistent_role');

  // Another organization with the same connection: the roles were given in this one only.
  const sibling = await mc.organizations.create({ name: 'acme-sibling', enabled_connections: [{ connection_id: acme.id, assign_membership_on_login: false }] });
  await mc.organizations.members.create(sibling.id!, { members: [ann] });
  assert.deepEqual(await collect(await mc.organizations.members.effectiveRoles.list(sibling.id!, ann)), []);
  assert.ok((await orgGroupIds(sibling.id!)).includes(gid), 'the group is an organization group of both');

  // Disabling the connection for the organization suspends its groups' roles; enabling it again restores them.
  const link = `/organizations/${org.id}/connections/${acme.id}`;
  assert.equal((await s.api('PATCH', link, { body: { is_enabled: false } })).status, 200);
  assert.deepEqual(await effective(ann), [['fin-both', ['direct']], ['fin-direct', ['direct']]]);
  assert.deepEqual(await collect(await mc.organizations.groups.list(org.id)), []);
  assert.equal((await s.api('PATCH', link, { body: { is_enabled: true } })).status, 200);
  assert.deepEqual((await effective(ann)).map((r) => r[0]), ['fin-both', 'fin-direct', 'fin-group']);

  // Leaving the group, or the organization, ends them.
  await scimRequest(s, acme, 'PATCH', `/Groups/${gid}`, { body: { schemas: [SCIM_SCHEMAS.patchOp], Operations: [{ op: 'remove', path: `members[value eq "${ann}"]` }] } });
  assert.deepEqual((await effective(ann)).map((r) => r[0]), ['fin-both', 'fin-direct']);
  await scimRequest(s, acme, 'PATCH', `/Groups/${gid}`, { body: { schemas: [SCIM_SCHEMAS.patchOp], Operations: [{ op: 'add', path: 'members', value: [{ value: ann }] }] } });

  // Deleting the role takes its links; deleting the group takes the rest.
  await mc.roles.delete(viaGroup);
  assert.deepEqual(await linkRows('role_id', viaGroup), []);
  assert.deepEqual(await orgGroupRoleIds(gid), [both]);
  assert.deepEqual(await effective(ann), [['fin-both', ['direct', 'groups']], ['fin-direct', ['direct']]]);
  assert.equal((await s.api('DELETE', `/groups/${gid}`)).status, 204);
  assert.deepEqual(await linkRows('group_id', gid), []);
  assert.deepEqual(await effective(ann), [['fin-both', ['direct']], ['fin-direct', ['direct']]]);
  await mc.organizations.delete(sibling.id!);
});

test('deleting an organization takes the roles given to groups in it', async () => {
  const doomed = await mc.organizations.create({ name: 'doomed', enabled_connections: [{ connection_id: acme.id, assign_membership_on_login: false }] });
  const gid = await scimGroup(acme, 'Doomed');
  const r = await role('doomed-role');
  await mc.organizations.groups.roles.create(doomed.id!, gid, { roles: [r] });
  assert.equal((await linkRows('org_id', doomed.id!)).length, 1);
  await mc.organizations.delete(doomed.id!);
  assert.deepEqual(await linkRows('org_id', doomed.id!), []);
  assert.deepEqual(await collect(await mc.groups.roles.list(gid)), [], 'the group itself keeps no role');
});

test("an organization's access token carries a role's permissions held only through an organization group, until it is removed", async () => {
  const kim = await scimUser(acme, '00ukim');
  const gid = await scimGroup(acme, 'Writers', [kim]);
  const writer = await role('org-group-writer');
  await mc.roles.permissions.add(writer, { permissions: [{ resource_server_identifier: API, permission_name: 'write:x' }] });

  // Kim logs in to the organization through Okta; the connection's auto-membership makes Kim a member.
  okta.user = { sub: '00ukim', claims: { email: '00ukim@acme.example', email_verified: true, name: 'Kim' } };
  const start = `${s.baseUrl}/authorize?${new URLSearchParams({
    client_id: app.client_id, response_type: 'code', redirect_uri: CALLBACK, scope: 'openid offline_access read:x write:x',
    audience: API, organization: org.id, connection: 'acme-okta', state: 'st',
  })}`;
  const back = await throughIdp(s, okta, new Jar(), start, CALLBACK);
  assert.ok(back.searchParams.get('code'), back.toString());
  const token = async (body: Record<string, string>) => {
    const r = await fetch(`${s.baseUrl}/oauth/token`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: app.client_id, client_secret: app.client_secret, ...body }),
    });
    const j = await r.json() as any;
    assert.equal(r.status, 200, JSON.stringify(j));
    return { refresh: j.refresh_token as string, at: decodeJwt(j.access_token) as any };
  };
  const first = await token({ grant_type: 'authorization_code', code: back.searchParams.get('code')!, redirect_uri: CALLBACK });
  assert.equal(first.at.sub, kim);
  assert.equal(first.at.org_id, org.id);
  assert.deepEqual(first.at.permissions, [], 'no role yet');
  assert.ok(first.refresh, 'a refresh token');

  await mc.organizations.groups.roles.create(org.id, gid, { roles: [writer] });
  const granted = await token({ grant_type: 'refresh_token', refresh_token: first.refresh });
  assert.equal(granted.at.org_id, org.id);
  assert.deepEqual(granted.at.permissions, ['write:x']);
  assert.deepEqual(await effectivePermissions(env(), kim, API), [], 'outside the organization Kim holds nothing');

  await mc.organizations.groups.roles.delete(org.id, gid, { roles: [writer] });
  const revoked = await token({ grant_type: 'refresh_token', refresh_token: granted.refresh ?? first.refresh });
  assert.equal(revoked.at.org_id, org.id);
  assert.deepEqual(revoked.at.permissions, []);
});
