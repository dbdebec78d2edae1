import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ManagementClient } from 'auth0';
import { decodeJwt } from 'jose';
import { startServer, type TestServer } from './helpers/server.ts';
import { managementClient } from './helpers/sdk.ts';
import { assertError } from './helpers/assert.ts';
import { createApp } from './helpers/login-flow.ts';

// Account linking through the official SDK (users.identities.link / delete):
// the secondary identity joins the primary's identities and stops being a user,
// yet its own credentials still log in, as the primary. Also the Management API
// tokens a user gets for itself: only `current_user` scopes, on itself only.

let s: TestServer;
let mc: ManagementClient;
let app: { client_id: string; client_secret?: string };
let otherDb: { id: string; name: string };
const REALM = 'http://auth0.com/oauth/grant-type/password-realm';
const DB = 'Username-Password-Authentication';
const PW = 'Link-Passw0rd!!';
let n = 0;
const email = (p: string) => `${p}-${++n}@example.com`;

async function token(body: Record<string, string>) {
  const r = await fetch(`${s.baseUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, body: await r.json() as any };
}
const login = (realm: string, username: string, extra: Record<string, string> = {}) =>
  token({ grant_type: REALM, client_id: app.client_id, client_secret: app.client_secret!, realm, username, password: PW, scope: 'openid profile email', ...extra });

async function user(connection: string, prefix: string) {
  const u = await mc.users.create({ connection, email: email(prefix), password: PW, name: prefix });
  return { id: u.user_id!, bare: u.user_id!.replace(/^auth0\|/, ''), email: u.email! };
}

before(async () => {
  s = await startServer();
  mc = managementClient(s);
  app = await createApp(s, { name: 'Linker', app_type: 'regular_web', grant_types: ['password', REALM, 'authorization_code'] });
  const c = await s.api('POST', '/connections', { body: { name: 'Linked-DB', strategy: 'auth0', enabled_clients: [app.client_id] } });
  assert.equal(c.status, 201, JSON.stringify(c.body));
  otherDb = c.body;
});
after(async () => { await s?.close(); });

test('link: the secondary joins the primary\'s identities with its profile and is no longer a user; its password logs in as the primary', async () => {
  const a = await user(DB, 'primary');
  const b = await user('Linked-DB', 'secondary');
  const role = await mc.roles.create({ name: `r-${n}` });
  await mc.users.roles.assign(b.id, { roles: [role.id!] });

  const identities: any[] = await mc.users.identities.link(a.id, { provider: 'auth0', user_id: b.bare });
  assert.deepEqual(identities.map((i) => [i.provider, i.user_id, i.connection]), [['auth0', a.bare, DB], ['auth0', b.bare, 'Linked-DB']]);
  assert.equal(identities[1].profileData.email, b.email);
  assert.equal(identities[1].profileData.name, 'secondary');
  assert.equal(identities[1].profileData.email_verified, false);
  assert.equal(identities[0].profileData, undefined, 'the main identity carries no profileData');

  const primary = await mc.users.get(a.id);
  assert.deepEqual(primary.identities, identities);
  assertError(await s.api('GET', `/users/${encodeURIComponent(b.id)}`), 404, 'The user does not exist.', 'inexistent_user');
  assert.deepEqual((await s.api('GET', `/users-by-email?email=${encodeURIComponent(b.email)}`)).body, []);
  const listed = (await s.api('GET', '/users?per_page=100')).body.map((u: any) => u.user_id);
  assert.ok(listed.includes(a.id) && !listed.includes(b.id));
  const found = await s.api('GET', `/users?q=${encodeURIComponent(`identities.user_id:"${b.bare}"`)}`);
  assert.deepEqual(found.body.map((u: any) => u.user_id), [a.id], 'search by the linked id finds the primary');
  assert.equal(s.runtime.env.store.tenantId && (await s.runtime.env.store.getUser(b.id, { linked: true }))?.linked_to, a.id);
  const roles = await s.runtime.env.store.db.selectFrom('user_roles').select('role_id').where('user_id', '=', b.id).execute();
  assert.deepEqual(roles, [], 'the secondary\'s role assignments went with it');

  // The secondary's own credentials, in its own connection, sign in the primary.
  const t = await login('Linked-DB', b.email);
  assert.equal(t.status, 200, JSON.stringify(t.body));
  assert.equal(decodeJwt(t.body.id_token).sub, a.id);
  assert.equal(decodeJwt(t.body.id_token).email, a.email);
  assert.equal((await mc.users.get(a.id)).logins_count, 1, 'the login counts for the primary');
  const wrong = await token({ grant_type: REALM, client_id: app.client_id, client_secret: app.client_secret!, realm: 'Linked-DB', username: b.email, password: 'nope' });
  assert.equal(wrong.status, 403);
  // The connection still holds the identity: the address cannot sign up there again.
  const again = await s.api('POST', '/users', { body: { connection: 'Linked-DB', email: b.email, password: PW } });
  assert.equal(again.status, 409);
  // A blocked primary blocks every identity's login.
  await mc.users.update(a.id, { blocked: true });
  assert.equal((await login('Linked-DB', b.email)).status, 401);
});

test('unlink: the identity leaves the primary and is a user again, logging in as itself', async () => {
  const a = await user(DB, 'keeper');
  const b = await user('Linked-DB', 'leaver');
  await mc.users.identities.link(a.id, { provider: 'auth0', user_id: b.id, connection_id: otherDb.id });
  const left: any[] = await mc.users.identities.delete(a.id, 'auth0', b.bare);
  assert.deepEqual(left.map((i) => i.user_id), [a.bare]);
  assert.deepEqual((await mc.users.get(a.id)).identities!.map((i: any) => i.user_id), [a.bare]);
  const back = await mc.users.get(b.id);
  assert.equal(back.email, b.email);
  assert.deepEqual(back.identities!.map((i: any) => [i.provider, i.user_id, i.connection]), [['auth0', b.bare, 'Linked-DB']]);
  const t = await login('Linked-DB', b.email);
  assert.equal(decodeJwt(t.body.id_token).sub, b.id);
});

test('link_with: an ID token of this tenant names the secondary', async () => {
  const a = await user(DB, 'holder');
  const c = await user('Linked-DB', 'tokened');
  const t = await login('Linked-DB', c.email);
  const identities: any[] = await mc.users.identities.link(a.id, { link_with: t.body.id_token });
  assert.deepEqual(identities.map((i) => i.user_id), [a.bare, c.bare]);

  const forged = t.body.id_token.slice(0, -4) + (t.body.id_token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
  assertError(await s.api('POST', `/users/${a.id}/identities`, { body: { link_with: forged } }), 400, 'The link_with token is not a valid ID token of this tenant.', 'invalid_body');
  assertError(await s.api('POST', `/users/${a.id}/identities`, { body: { link_with: t.body.id_token, provider: 'auth0' } }), 400, /cannot be sent with provider/, 'invalid_body');
});

test('deleting the primary deletes the identities linked into it; deleting a connection unlinks its identities', async () => {
  const a = await user(DB, 'doomed');
  const b = await user('Linked-DB', 'doomed-linked');
  await mc.users.identities.link(a.id, { provider: 'auth0', user_id: b.bare });
  await mc.users.delete(a.id);
  assert.equal(await s.runtime.env.store.getUser(b.id, { linked: true }), undefined);
  assert.equal((await s.api('POST', '/users', { body: { connection: 'Linked-DB', email: b.email, password: PW } })).status, 201, 'the address is free again');

  const conn = (await s.api('POST', '/connections', { body: { name: `Gone-${n}`, strategy: 'auth0' } })).body;
  const p = await user(DB, 'survivor');
  const g = await user(conn.name, 'gone');
  await mc.users.identities.link(p.id, { provider: 'auth0', user_id: g.bare });
  assert.equal((await s.api('DELETE', `/connections/${conn.id}`)).status, 202);
  const after = await mc.users.get(p.id);
  assert.deepEqual(after.identities!.map((i: any) => i.user_id), [p.bare], 'the primary survives without the deleted identity');
});

test('bad links: self, unknown, already linked, chains, wrong connection, main identity; unknown primary is 404', async () => {
  const a = await user(DB, 'x');
  const b = await user('Linked-DB', 'y');
  const c = await user(DB, 'z');
  const link = (id: string, body: unknown) => s.api('POST', `/users/${encodeURIComponent(id)}/identities`, { body });
  assertError(await link(a.id, { provider: 'auth0', user_id: a.bare }), 400, 'Main identity and the new one are the same.', 'invalid_body');
  assertError(await link(a.id, { provider: 'auth0', user_id: 'nobody' }), 400, 'The secondary account does not exist.', 'inexistent_user');
  assertError(await link(a.id, { provider: 'auth0', user_id: b.bare, connection_id: 'con_0000000000000000' }), 400, /does not belong to the connection/, 'invalid_body');
  assertError(await link('auth0|nobody', { provider: 'auth0', user_id: b.bare }), 404, 'The user does not exist.', 'inexistent_user');
  assert.equal((await s.api('POST', '/users/x/identities', { body: {} })).status, 400, 'an empty body is refused by the schema');

  assert.equal((await link(a.id, { provider: 'auth0', user_id: b.bare })).status, 201);
  assertError(await link(c.id, { provider: 'auth0', user_id: b.bare }), 400, 'The secondary account is already linked to a user.', 'invalid_body');
  assertError(await link(c.id, { provider: 'auth0', user_id: a.bare }), 400, /has linked accounts of its own/, 'invalid_body');
  assertError(await link(b.id, { provider: 'auth0', user_id: c.bare }), 404, 'The user does not exist.', 'inexistent_user');
  assertError(await s.api('DELETE', `/users/${a.id}/identities/auth0/${a.bare}`), 400, 'Main identity cannot be removed.', 'invalid_body');
  assertError(await s.api('DELETE', `/users/${a.id}/identities/auth0/${c.bare}`), 400, 'The identity is not linked to this user.', 'invalid_body');
  assert.deepEqual((await mc.users.get(c.id)).identities!.length, 1, 'failed links change nothing');
});

test('concurrent links of one secondary into two users: exactly one lands', async () => {
  const p1 = await user(DB, 'p1');
  const p2 = await user(DB, 'p2');
  const sec = await user('Linked-DB', 'contested');
  const results = await Promise.all([p1, p2, p1, p2].map((p) => s.api('POST', `/users/${p.id}/identities`, { body: { provider: 'auth0', user_id: sec.bare } })));
  assert.deepEqual(results.map((r) => r.status).sort(), [201, 400, 400, 400]);
  const holders = [await mc.users.get(p1.id), await mc.users.get(p2.id)].filter((u) => u.identities!.length === 2);
  assert.equal(holders.length, 1);
  assert.equal((await s.runtime.env.store.getUser(sec.id, { linked: true }))?.linked_to, holders[0].user_id);
});

test('a user\'s own Management API token holds only current_user scopes, and reaches only that user', async () => {
  const me = await user(DB, 'self');
  const other = await user(DB, 'other');
  const t = await login(DB, me.email, { audience: s.audience, scope: 'openid read:users delete:users read:current_user update:current_user_metadata update:current_user_identities' });
  assert.equal(t.status, 200, JSON.stringify(t.body));
  assert.deepEqual(String(t.body.scope).split(' ').sort(), ['openid', 'read:current_user', 'update:current_user_identities', 'update:current_user_metadata']);
  const mine = t.body.access_token;
  assert.equal((await s.api('GET', `/users/${me.id}`, { token: mine })).status, 200);
  assertError(await s.api('GET', `/users/${other.id}`, { token: mine }), 403, 'Insufficient scope, expected any of: read:users,read:user_idp_tokens', 'insufficient_scope');
  assertError(await s.api('GET', '/users', { token: mine }), 403, /Insufficient scope/, 'insufficient_scope');
  assert.equal((await s.api('PATCH', `/users/${me.id}`, { token: mine, body: { user_metadata: { theme: 'dark' } } })).body.user_metadata.theme, 'dark');
  assertError(await s.api('PATCH', `/users/${me.id}`, { token: mine, body: { app_metadata: { admin: true } } }), 403, /Insufficient scope/, 'insufficient_scope');
  assert.equal((await mc.users.get(me.id)).app_metadata, undefined);
  assertError(await s.api('DELETE', `/users/${other.id}`, { token: mine }), 403, /Insufficient scope/, 'insufficient_scope');
  assert.equal((await mc.users.get(other.id)).user_id, other.id);
});
