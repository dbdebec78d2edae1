import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { ManagementClient } from 'auth0';
import { startServer, type TestServer } from './helpers/server.ts';
import { managementClient } from './helpers/sdk.ts';

let s: TestServer;
let mc: ManagementClient;
let app: { client_id: string; client_secret: string };
let userId: string;
const A = 'https://authz.example.com/';
const B = 'https://enforced-plain.example.com/';
const C = 'https://open.example.com/';
const D = 'https://rfc9068.example.com/';
const scopes = [{ value: 'read:a' }, { value: 'write:a' }, { value: 'del:a' }];

before(async () => {
  s = await startServer();
  mc = managementClient(s);
  await mc.resourceServers.create({ identifier: A, scopes, enforce_policies: true, token_dialect: 'access_token_authz' });
  await mc.resourceServers.create({ identifier: B, scopes, enforce_policies: true, token_dialect: 'access_token' });
  await mc.resourceServers.create({ identifier: C, scopes, enforce_policies: false, token_dialect: 'access_token' });
  await mc.resourceServers.create({ identifier: D, scopes, enforce_policies: true, token_dialect: 'rfc9068_profile_authz' });
  userId = (await mc.users.create({ connection: 'Username-Password-Authentication', email: 'tok@example.com', password: 'T0ken-Passw0rd!' })).user_id!;
  const role = await mc.roles.create({ name: 'reader' });
  for (const api of [A, B, D]) await mc.roles.permissions.add(role.id!, { permissions: [{ resource_server_identifier: api, permission_name: 'read:a' }] });
  await mc.users.roles.assign(userId, { roles: [role.id!] });
  await mc.users.permissions.create(userId, { permissions: [{ resource_server_identifier: A, permission_name: 'write:a' }] });
  const c = await mc.clients.create({
    name: 'rbac-app', app_type: 'regular_web', token_endpoint_auth_method: 'client_secret_post',
    grant_types: ['client_credentials', 'http://auth0.com/oauth/grant-type/password-realm', 'password'],
  });
  app = { client_id: c.client_id!, client_secret: c.client_secret! };
  const conn = (await s.api('GET', '/connections')).body.find((x: any) => x.name === 'Username-Password-Authentication');
  await s.api('PATCH', `/connections/${conn.id}/clients`, { body: [{ client_id: app.client_id, status: true }] });
  for (const api of [A, C, D]) await mc.clientGrants.create({ client_id: app.client_id, audience: api, scope: ['read:a', 'del:a'] });
});
after(async () => { await s?.close(); });

async function token(body: Record<string, string>) {
  const r = await fetch(`${s.baseUrl}/oauth/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: app.client_id, client_secret: app.client_secret, ...body }),
  });
  const j = await r.json() as any;
  assert.equal(r.status, 200, JSON.stringify(j));
  return { body: j, claims: decodeJwt(j.access_token) as any, header: decodeProtectedHeader(j.access_token) };
}
const userToken = (audience: string, scope = 'openid profile read:a write:a del:a') => token({
  grant_type: 'http://auth0.com/oauth/grant-type/password-realm', realm: 'Username-Password-Authentication',
  username: 'tok@example.com', password: 'T0ken-Passw0rd!', audience, scope,
});

test('client credentials on an access_token_authz API carry permissions = granted scopes', async () => {
  const { claims } = await token({ grant_type: 'client_credentials', audience: A });
  assert.deepEqual(claims.scope.split(' ').sort(), ['del:a', 'read:a']);
  assert.deepEqual([...claims.permissions].sort(), ['del:a', 'read:a']);
  assert.equal(claims.gty, 'client-credentials');
});

test('client credentials on an rfc9068_profile_authz API carry permissions; access_token dialect does not', async () => {
  const d = await token({ grant_type: 'client_credentials', audience: D });
  assert.deepEqual([...d.claims.permissions].sort(), ['del:a', 'read:a']);
  const c = await token({ grant_type: 'client_credentials', audience: C });
  assert.equal(c.claims.permissions, undefined);
  assert.deepEqual(c.claims.scope.split(' ').sort(), ['del:a', 'read:a']);
});

test('user token, enforce_policies + access_token_authz: scope limited to held permissions, OIDC scopes kept, permissions claim', async () => {
  const res = await userToken(A);
  const scope = res.claims.scope.split(' ');
  assert.ok(scope.includes('openid') && scope.includes('profile'));
  assert.deepEqual(scope.filter((x: string) => x.includes(':')).sort(), ['read:a', 'write:a']);
  assert.deepEqual(res.claims.permissions, ['read:a', 'write:a']);
  assert.equal(res.claims.sub, userId);
});

test('user token, enforce_policies + access_token dialect: scope limited, no permissions claim', async () => {
  const res = await userToken(B);
  assert.deepEqual(res.claims.scope.split(' ').filter((x: string) => x.includes(':')), ['read:a']);
  assert.equal(res.claims.permissions, undefined);
});

test('user token without enforce_policies keeps every requested API scope', async () => {
  const res = await userToken(C);
  assert.deepEqual(res.claims.scope.split(' ').filter((x: string) => x.includes(':')).sort(), ['del:a', 'read:a', 'write:a']);
  assert.equal(res.claims.permissions, undefined);
});

test('user token, rfc9068_profile_authz: permissions claim and at+jwt header; a user with nothing gets no API scopes', async () => {
  const res = await userToken(D, 'openid read:a del:a');
  assert.deepEqual(res.claims.permissions, ['read:a']);
  assert.deepEqual(res.claims.scope.split(' ').sort(), ['openid', 'read:a']);
  assert.equal(res.header.typ, 'at+jwt');
  // Revoking the role takes effect on the next token.
  const roles = (await s.api('GET', `/users/${encodeURIComponent(userId)}/roles`)).body;
  await mc.users.roles.delete(userId, { roles: roles.map((r: any) => r.id) });
  const after = await userToken(D, 'openid read:a del:a');
  assert.deepEqual(after.claims.permissions, []);
  assert.deepEqual(after.claims.scope.split(' '), ['openid']);
  await mc.users.roles.assign(userId, { roles: roles.map((r: any) => r.id) });
});

test('grantableApiScopes: what the login layer may put in a Grant', async () => {
  const { grantableApiScopes } = await import('../src/tenant/rbac.ts');
  const env = s.runtime.env;
  const api = (id: string) => env.store.resourceServers.findBy('identifier', id).then((d) => d!);
  assert.deepEqual(await grantableApiScopes(env, await api(A), userId, ['read:a', 'write:a', 'del:a']), ['read:a', 'write:a']);
  assert.deepEqual(await grantableApiScopes(env, await api(C), userId, ['read:a', 'del:a']), ['read:a', 'del:a']);
});
