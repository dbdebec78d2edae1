import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { UserRow } from '../src/store/schema.ts';
import { addMembers, addRolePermissions, assignRoles } from '../src/store/rbac-store.ts';
import { startServer, type TestServer } from './helpers/server.ts';
import { managementClient } from './helpers/sdk.ts';

// A request-by-request replay of baton-auth0 (v0.0.13) against Postern, as
// ../shared/integrations/baton-auth0.md records it: one form-encoded token
// request, the users sync through created_at range windows past the 1000-result
// cap, organizations, roles, org members (page paging), role users (checkpoint
// paging), resource servers and role permissions, then grant/revoke twice each.

const USERS = 2150;
const ORGS = 105;
const API = 'https://baton.example.com/api';
const DOCUMENTED_SCOPES = ['read:users', 'read:grants', 'read:organizations', 'read:organization_members', 'read:roles', 'read:role_members',
  'read:resource_servers', 'update:users', 'create:role_members', 'create:organization_members'];

let s: TestServer;
let base: string;
let creds: { id: string; secret: string };
const userIds: string[] = [];
const roleIds: string[] = [];
const orgIds: string[] = [];

// --- Go's encodings, as the connector puts them on the wire -------------------
/** url.QueryEscape: unreserved characters stay, space is '+', everything else %XX. */
const goQueryEscape = (v: string) => Array.from(Buffer.from(v, 'utf8')).map((b) => {
  const c = String.fromCharCode(b);
  if (/[A-Za-z0-9\-_.~]/.test(c)) return c;
  if (c === ' ') return '+';
  return `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
}).join('');
/** url.Values.Encode(): keys sorted. */
const goValues = (v: Record<string, string | number>) => Object.keys(v).sort().map((k) => `${goQueryEscape(k)}=${goQueryEscape(String(v[k]))}`).join('&');
/** time.Format(RFC3339Nano) of a UTC instant: 0–9 fractional digits, trailing zeros dropped. */
function rfc3339Nano(ms: number, extraNanos = 0): string {
  const iso = new Date(ms).toISOString(); // ....sssZ
  const frac = (iso.slice(20, 23) + String(extraNanos).padStart(6, '0')).replace(/0+$/, '');
  return `${iso.slice(0, 19)}${frac ? `.${frac}` : ''}Z`;
}
/** Path segments go in raw; url.URL.String() escapes `|` and friends. */
const goPath = (id: string) => id.replace(/[^A-Za-z0-9\-_.~!$&'()*+,;=:@]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

// --- the connector's HTTP client (baton-sdk uhttp) ------------------------------
let token: string;
let requests = 0;
async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any; headers: Headers }> {
  requests++;
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json', 'user-agent': ' baton-sdk/v0.25.0' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : `${JSON.stringify(body)}\n` });
  // ratelimit.ExtractRateLimitData fails the request when these do not start with an integer.
  for (const h of ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset']) {
    assert.match(r.headers.get(h) ?? '', /^\d+/, `${h} on ${method} ${path}`);
  }
  const text = await r.text();
  let json: any;
  if (method === 'GET' && r.status === 200) {
    assert.match(r.headers.get('content-type') ?? '', /^application.*json/, `content type of ${path}`);
    json = JSON.parse(text);
  }
  return { status: r.status, json, headers: r.headers };
}
async function get(path: string) {
  const r = await call('GET', path);
  assert.equal(r.status, 200, `GET ${path}`);
  return r.json;
}

function seedUser(i: number, t0: number): Omit<UserRow, 'tenant_id'> {
  const bare = `b${String(i).padStart(5, '0')}${(i * 7919).toString(16)}`;
  // Irregular gaps, so window boundaries fall at arbitrary instants.
  const created = new Date(t0 + i * 60_000 + (i % 7) * 1234).toISOString();
  return {
    user_id: `auth0|${bare}`, connection: 'Username-Password-Authentication', provider: 'auth0',
    email: `${bare}@example.com`, email_norm: `${bare}@example.com`, email_verified: i % 2, username: null, phone_number: null,
    name: `User ${i} Number`, nickname: bare, given_name: null, family_name: null, picture: `https://example.com/${bare}.png`, blocked: i % 50 === 0 ? 1 : 0,
    created_at: created, updated_at: created, last_login: i % 3 ? created : null, last_ip: null, logins_count: i % 3 ? 1 : 0,
    app_metadata: '{}', user_metadata: '{}',
    identities: JSON.stringify([{ connection: 'Username-Password-Authentication', user_id: bare, provider: 'auth0', isSocial: false }]),
    data: '{}', password_hash: null,
  };
}

before(async () => {
  s = await startServer();
  base = s.baseUrl;
  const store = s.runtime.env.store;
  const t0 = Date.now() - USERS * 61_000;
  const rows = Array.from({ length: USERS }, (_, i) => seedUser(i, t0));
  for (let i = 0; i < rows.length; i += 100) {
    await store.db.insertInto('users').values(rows.slice(i, i + 100).map((r) => ({ ...r, tenant_id: store.tenantId }))).execute();
  }
  userIds.push(...rows.map((r) => r.user_id));

  const mc = managementClient(s);
  await mc.resourceServers.create({ identifier: API, name: 'Baton API', scopes: [{ value: 'read:x' }, { value: 'write:x' }, { value: 'admin:x' }] });
  const sizes = [250, 100, 0, 7, 1];
  for (let r = 0; r < sizes.length; r++) {
    const role = await mc.roles.create({ name: `role-${r}`, description: `Role ${r}` });
    roleIds.push(role.id!);
    await assignRoles(store, userIds.slice(r * 300, r * 300 + sizes[r]).map((u) => ({ user_id: u, role_id: role.id! })));
    await addRolePermissions(store, role.id!, ['read:x', 'write:x', 'admin:x'].slice(0, r % 4).map((p) => ({ resource_server_identifier: API, permission_name: p })));
  }
  for (let o = 0; o < ORGS; o++) {
    const org = await mc.organizations.create({ name: `org-${String(o).padStart(3, '0')}`, display_name: `Org ${o}` });
    orgIds.push(org.id!);
    await addMembers(store, org.id!, o === 0 ? userIds.slice(1000, 1230) : userIds.slice(o * 3, o * 3 + (o % 4)));
  }

  // The connector's own M2M application with the scopes its docs ask for.
  const app = await mc.clients.create({ name: 'baton-auth0', app_type: 'non_interactive', grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_post' });
  await mc.clientGrants.create({ client_id: app.client_id!, audience: s.audience, scope: DOCUMENTED_SCOPES });
  creds = { id: app.client_id!, secret: app.client_secret! };
});
after(async () => { await s?.close(); });

async function fetchToken() {
  // client.New: form body from url.Values (sorted keys), client_secret_post, no Accept header.
  const audience = `${base}/api/v2/`;
  const r = await fetch(`${base}/oauth/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: goValues({ audience, client_id: creds.id, client_secret: creds.secret, grant_type: 'client_credentials' }),
  });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^application.*json/);
  const j = await r.json() as any;
  assert.ok(j.access_token);
  assert.ok(j.expires_in >= 86400, 'the token is never refreshed, so it must outlast a sync');
  token = j.access_token;
}

test('baton-auth0 full sync reaches every user, org, role, membership and permission exactly as stored', async () => {
  assert.equal(`${base}/api/v2/`, s.audience, 'the audience the connector derives from its base URL is the Management API');
  await fetchToken();

  // 2.1 users, through created_at windows (GetNextUsersToken).
  const seen = new Map<string, any>();
  let since = '*';
  let page = 0;
  const perPage = 100;
  let windows = 1;
  let newest = '';
  let nanos = 1;
  for (;;) {
    const until = rfc3339Nano(Date.now(), (nanos = (nanos * 7919) % 1_000_000));
    const q = goValues({ include_totals: 'true', page, per_page: perPage, q: `created_at:[${since} TO ${until}]`, sort: 'created_at:1' });
    const res = await get(`/api/v2/users?${q}`);
    assert.equal(typeof res.total, 'number', 'total must be present');
    const order = res.users.map((u: any) => u.created_at);
    assert.deepEqual(order, [...order].sort(), 'sort=created_at:1 is ascending');
    for (const u of res.users) {
      for (const f of ['created_at', 'updated_at', 'last_login']) {
        if (f in u) assert.ok(u[f] === null || !Number.isNaN(Date.parse(u[f])), `${f} must be RFC3339 or absent`);
      }
      seen.set(u.user_id, u);
      if (u.created_at > newest) newest = u.created_at;
    }
    const total = Math.min(res.total, 1000);
    if ((page + 1) * perPage >= 1000) {
      const next = rfc3339Nano(Date.parse(newest));
      if (next === since) break;
      since = next;
      page = 0;
      windows++;
      continue;
    }
    if ((page + 1) * perPage >= total) break;
    page++;
  }
  assert.ok(windows >= 3, `the sync crossed ${windows} created_at windows`);
  assert.deepEqual([...seen.keys()].sort(), [...userIds].sort());
  const sample = seen.get(userIds[50])!;
  assert.equal(sample.blocked, true);
  assert.equal(sample.email, `${userIds[50].slice(6)}@example.com`);
  assert.equal(sample.identities[0].provider, 'auth0');

  // 2.3 organizations, 2.2 roles: page paging while (page+1)*per_page < total.
  async function pages(path: string, key: string) {
    const out: any[] = [];
    for (let p = 0; ; p++) {
      const res = await get(`${path}?${goValues({ include_totals: 'true', page: p, per_page: 100 })}`);
      out.push(...res[key]);
      if ((p + 1) * 100 >= res.total) return out;
    }
  }
  const orgs = await pages('/api/v2/organizations', 'organizations');
  assert.deepEqual(orgs.map((o) => o.id).sort(), [...orgIds].sort());
  assert.equal(orgs.find((o) => o.id === orgIds[7]).display_name, 'Org 7');
  const roles = await pages('/api/v2/roles', 'roles');
  assert.deepEqual(roles.map((r) => [r.id, r.name, r.description]).sort(), roleIds.map((id, i) => [id, `role-${i}`, `Role ${i}`]).sort());

  // 2.4 org members, per org.
  const db = s.runtime.env.store.db;
  const storedMembers = await db.selectFrom('organization_members').select(['org_id', 'user_id']).execute();
  const members: string[] = [];
  for (const org of orgs) {
    for (const m of await pages(`/api/v2/organizations/${goPath(org.id)}/members`, 'members')) members.push(`${org.id} ${m.user_id}`);
  }
  assert.equal(members.length, storedMembers.length);
  assert.deepEqual(members.sort(), storedMembers.map((m) => `${m.org_id} ${m.user_id}`).sort());

  // 2.6 resource servers (twice), each one, and role permissions (bare array, no params); then 2.5 role users by checkpoint.
  for (let i = 0; i < 2; i++) {
    const rs = await pages('/api/v2/resource-servers', 'resource_servers');
    assert.ok(rs.some((r) => r.is_system && r.identifier === s.audience && r.scopes.length > 0));
    assert.ok(rs.some((r) => r.identifier === API));
    if (i === 1) for (const r of rs) assert.ok(Array.isArray((await get(`/api/v2/resource-servers/${goPath(r.id)}`)).scopes));
  }
  const storedPerms = await db.selectFrom('role_permissions').select(['role_id', 'permission_name', 'resource_server_identifier']).execute();
  const storedRoleUsers = await db.selectFrom('user_roles').select(['role_id', 'user_id']).execute();
  const perms: string[] = [];
  const roleUsers: string[] = [];
  let checkpointPages = 0;
  for (const role of roles) {
    const list = await get(`/api/v2/roles/${goPath(role.id)}/permissions`);
    assert.ok(Array.isArray(list), 'role permissions must be a bare array');
    for (const p of list) {
      assert.equal(p.resource_server_name, 'Baton API');
      perms.push(`${role.id} ${p.resource_server_identifier} ${p.permission_name}`);
    }
    let from: string | undefined;
    for (;;) {
      const res = await get(`/api/v2/roles/${goPath(role.id)}/users?${goValues(from ? { from, take: 100 } : { take: 100 })}`);
      checkpointPages++;
      assert.ok(Array.isArray(res.users), 'checkpoint shape {users, next} even on the first page');
      for (const u of res.users) roleUsers.push(`${role.id} ${u.user_id}`);
      if (!res.next || res.users.length === 0) break;
      from = res.next;
    }
  }
  assert.deepEqual(perms.sort(), storedPerms.map((p) => `${p.role_id} ${p.resource_server_identifier} ${p.permission_name}`).sort());
  assert.equal(new Set(roleUsers).size, roleUsers.length, 'no role user is listed twice');
  assert.deepEqual(roleUsers.sort(), storedRoleUsers.map((r) => `${r.role_id} ${r.user_id}`).sort());
  assert.ok(checkpointPages >= 3 + 1 + 1 + 1 + 1, 'the 250-member role took three checkpoint pages');

  // Pre-v0.0.12 connectors read role users with page paging; that still works.
  const legacy = await pages(`/api/v2/roles/${goPath(roleIds[0])}/users`, 'users');
  assert.equal(legacy.length, 250);
});

test('baton-auth0 grant and revoke, twice each, all 204; org revoke with the documented scopes is refused as Auth0 refuses it', async () => {
  await fetchToken();
  const user = userIds[2000];
  const role = roleIds[2];
  const org = orgIds[1];
  const roleHolders = async () => (await s.runtime.env.store.db.selectFrom('user_roles').select('user_id').where('role_id', '=', role).execute()).map((r) => r.user_id);
  const orgMembers = async () => (await s.runtime.env.store.db.selectFrom('organization_members').select('user_id').where('org_id', '=', org).execute()).map((r) => r.user_id);

  for (let i = 0; i < 2; i++) {
    const r = await call('POST', `/api/v2/users/${goPath(user)}/roles`, { roles: [role] });
    assert.equal(r.status, 204, `grant role #${i + 1}`);
  }
  assert.deepEqual(await roleHolders(), [user]);
  for (let i = 0; i < 2; i++) {
    const r = await call('DELETE', `/api/v2/users/${goPath(user)}/roles`, { roles: [role] });
    assert.equal(r.status, 204, `revoke role #${i + 1}`);
  }
  assert.deepEqual(await roleHolders(), []);

  for (let i = 0; i < 2; i++) {
    const r = await call('POST', `/api/v2/organizations/${goPath(org)}/members`, { members: [user] });
    assert.equal(r.status, 204, `grant membership #${i + 1}`);
  }
  assert.ok((await orgMembers()).includes(user));

  // docs/connector.mdx does not list delete:organization_members; Auth0 requires it, and so does Postern.
  const refused = await call('DELETE', `/api/v2/organizations/${goPath(org)}/members`, { members: [user] });
  assert.equal(refused.status, 403);
  assert.ok((await orgMembers()).includes(user), 'a refused revoke changes nothing');

  // With the scope Auth0 really requires, the revoke is idempotent.
  const mc = managementClient(s);
  const grant = (await mc.clientGrants.list({ client_id: creds.id })).data[0];
  await mc.clientGrants.update(grant.id!, { scope: [...DOCUMENTED_SCOPES, 'delete:organization_members'] });
  await fetchToken();
  for (let i = 0; i < 2; i++) {
    const r = await call('DELETE', `/api/v2/organizations/${goPath(org)}/members`, { members: [user] });
    assert.equal(r.status, 204, `revoke membership #${i + 1}`);
  }
  assert.ok(!(await orgMembers()).includes(user));
});
