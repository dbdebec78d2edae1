import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ManagementClient } from 'auth0';
import { startServer, type TestServer } from './helpers/server.ts';
import { managementClient } from './helpers/sdk.ts';
import { assertError } from './helpers/assert.ts';

// Connections and users: the SDK for what it covers, fetch for the query
// shapes and the negative cases.

let s: TestServer;
let mc: ManagementClient;
before(async () => {
  s = await startServer();
  mc = managementClient(s);
});
after(async () => { await s?.close(); });

const PW = 'Corr3ct-Horse-Battery';
const enc = encodeURIComponent;

// --- connections ---------------------------------------------------------------

test('the default database connection exists with the auth0 strategy', async () => {
  const r = await s.api('GET', '/connections?name=Username-Password-Authentication');
  assert.equal(r.status, 200);
  assert.equal(r.body.length, 1);
  assert.equal(r.body[0].strategy, 'auth0');
  assert.match(r.body[0].id, /^con_/);
});

test('database connection with password policy options; enabling clients via PATCH and /clients', async () => {
  const app: any = await mc.clients.create({ name: 'conn app', app_type: 'regular_web' });
  const app2: any = await mc.clients.create({ name: 'conn app 2', app_type: 'spa' });
  const conn: any = await mc.connections.create({
    name: 'strict-db', strategy: 'auth0',
    options: {
      passwordPolicy: 'excellent', password_complexity_options: { min_length: 12 },
      password_history: { enable: true, size: 3 }, password_dictionary: { enable: true, dictionary: ['hunter2hunter2'] },
      password_no_personal_info: { enable: true },
    },
  } as any);
  assert.equal(conn.name, 'strict-db');
  assert.equal(conn.strategy, 'auth0');
  assert.equal(conn.options.passwordPolicy, 'excellent');
  assert.equal(conn.options.password_complexity_options.min_length, 12);
  assert.deepEqual(conn.options.password_history, { enable: true, size: 3 });
  assert.deepEqual(conn.enabled_clients ?? [], []);

  const patched: any = await mc.connections.update(conn.id, { enabled_clients: [app.client_id] } as any);
  assert.deepEqual(patched.enabled_clients, [app.client_id]);
  assert.equal(patched.options.passwordPolicy, 'excellent', 'options survive a PATCH that does not send them');

  const clients = await s.api('GET', `/connections/${conn.id}/clients`);
  assert.equal(clients.status, 200);
  assert.deepEqual(clients.body.clients, [{ client_id: app.client_id }]);

  const en = await s.api('PATCH', `/connections/${conn.id}/clients`, { body: [{ client_id: app2.client_id, status: true }, { client_id: app.client_id, status: false }] });
  assert.equal(en.status, 204, JSON.stringify(en.body));
  const after = await s.api('GET', `/connections/${conn.id}/clients`);
  assert.deepEqual(after.body.clients, [{ client_id: app2.client_id }]);
  assert.deepEqual((await s.api('GET', `/connections/${conn.id}`)).body.enabled_clients, [app2.client_id]);

  assertError(await s.api('PATCH', `/connections/${conn.id}/clients`, { body: { client_id: app.client_id } }), 400, /^Payload validation error/);
  assertError(await s.api('PATCH', `/connections/${conn.id}/clients`, { body: [{ client_id: 'nope', status: true }] }), 404);
  assertError(await s.api('GET', '/connections/con_doesnotexist/clients'), 404);

  // The policy applies to users of the connection.
  const weak = await s.api('POST', '/users', { body: { connection: 'strict-db', email: 'weak@example.com', password: 'Short1!' } });
  assertError(weak, 400, /PasswordStrengthError/, 'invalid_password');
  const dict = await s.api('POST', '/users', { body: { connection: 'strict-db', email: 'dict@example.com', password: 'hunter2hunter2' } });
  assert.equal(dict.status, 400);
  const ok = await s.api('POST', '/users', { body: { connection: 'strict-db', email: 'strong@example.com', password: 'Sup3r-Str0ng-Passw0rd' } });
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
});

test('connections: strategy and name filters, paging shapes, 409, 404, validation', async () => {
  await mc.connections.create({ name: 'other-db', strategy: 'auth0' });
  const byStrategy = await s.api('GET', '/connections?strategy=auth0');
  assert.ok(byStrategy.body.length >= 2 && byStrategy.body.every((c: any) => c.strategy === 'auth0'));
  const none = await s.api('GET', '/connections?strategy=google-oauth2');
  assert.deepEqual(none.body, []);
  const byName = await s.api('GET', '/connections?name=other-db');
  assert.deepEqual(byName.body.map((c: any) => c.name), ['other-db']);
  const fields = await s.api('GET', '/connections?name=other-db&fields=name,strategy');
  assert.deepEqual(fields.body, [{ name: 'other-db', strategy: 'auth0' }]);
  const totals = await s.api('GET', '/connections?include_totals=true&per_page=1');
  assert.equal(totals.body.connections.length, 1);
  assert.ok(totals.body.total >= 2);
  const cp = await s.api('GET', '/connections?take=1');
  assert.equal(cp.body.connections.length, 1);
  assert.equal(typeof cp.body.next, 'string');

  assertError(await s.api('POST', '/connections', { body: { name: 'other-db', strategy: 'auth0' } }), 409);
  assertError(await s.api('POST', '/connections', { body: { name: 'x' } }), 400, /Missing required property: strategy/);
  assertError(await s.api('POST', '/connections', { body: { name: 'bad name!', strategy: 'auth0' } }), 400, /^Payload validation error/);
  assertError(await s.api('GET', '/connections/con_nope'), 404, undefined, 'inexistent_connection');

  const doomed: any = await mc.connections.create({ name: 'doomed-db', strategy: 'auth0' });
  const del = await s.api('DELETE', `/connections/${doomed.id}`);
  assert.ok(del.status === 202 || del.status === 204, String(del.status));
  assertError(await s.api('GET', `/connections/${doomed.id}`), 404);
});

// --- users -----------------------------------------------------------------------

test('deleting a connection deletes its users and the organizations\' links to it; a new one of the same name starts empty', async () => {
  const token = await s.token();
  const conn = (await s.api('POST', '/connections', { token, body: { name: 'doomed-db', strategy: 'auth0' } })).body;
  const user = (await s.api('POST', '/users', { token, body: { connection: 'doomed-db', email: 'doomed@example.com', password: 'Doomed-pw-123!' } })).body;
  const keeper = (await s.api('POST', '/users', { token, body: { connection: 'Username-Password-Authentication', email: 'doomed@example.com', password: 'Doomed-pw-123!' } })).body;
  const org = (await s.api('POST', '/organizations', { token, body: { name: 'doomed-org' } })).body;
  assert.equal((await s.api('POST', `/organizations/${org.id}/enabled_connections`, { token, body: { connection_id: conn.id, assign_membership_on_login: false } })).status, 201);
  assert.equal((await s.api('POST', `/organizations/${org.id}/members`, { token, body: { members: [user.user_id] } })).status, 204);

  assert.equal((await s.api('DELETE', `/connections/${conn.id}`, { token })).status, 202);
  assert.equal((await s.api('GET', `/users/${encodeURIComponent(user.user_id)}`, { token })).status, 404);
  assert.equal((await s.api('GET', `/users/${encodeURIComponent(keeper.user_id)}`, { token })).status, 200, 'users of other connections stay');
  assert.deepEqual((await s.api('GET', `/organizations/${org.id}/enabled_connections`, { token })).body, []);
  assert.deepEqual((await s.api('GET', `/organizations/${org.id}/members`, { token })).body, []);

  const again = (await s.api('POST', '/connections', { token, body: { name: 'doomed-db', strategy: 'auth0' } })).body;
  const app = (await s.api('POST', '/clients', { token, body: { name: 'doomed-app', grant_types: ['http://auth0.com/oauth/grant-type/password-realm'] } })).body;
  await s.api('PATCH', `/connections/${again.id}`, { token, body: { enabled_clients: [app.client_id] } });
  const login = await fetch(`${s.baseUrl}/oauth/token`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'http://auth0.com/oauth/grant-type/password-realm', realm: 'doomed-db', username: 'doomed@example.com', password: 'Doomed-pw-123!', client_id: app.client_id, client_secret: app.client_secret }),
  });
  assert.equal(login.status, 403, 'the deleted user cannot sign in through the new connection');
  assert.equal((await login.json() as any).error, 'invalid_grant');
});

test('create a user: bcrypt cost 10, Auth0 shape, percent-encoded id', async () => {
  const u: any = await mc.users.create({
    connection: 'Username-Password-Authentication', email: 'Alice@Example.com', password: PW,
    given_name: 'Alice', user_metadata: { theme: 'dark' }, app_metadata: { plan: 'pro' },
  });
  assert.match(u.user_id, /^auth0\|[0-9a-f]{24}$/);
  assert.equal(u.email, 'Alice@Example.com');
  assert.equal(u.email_verified, false);
  assert.deepEqual(u.identities, [{ connection: 'Username-Password-Authentication', user_id: u.user_id.slice(6), provider: 'auth0', isSocial: false }]);
  assert.deepEqual(u.user_metadata, { theme: 'dark' });
  assert.deepEqual(u.app_metadata, { plan: 'pro' });
  assert.equal(u.password, undefined);
  assert.ok(!JSON.stringify(u).includes('$2b$'));

  const row = await s.runtime.env.store.getUser(u.user_id);
  assert.ok(row?.password_hash?.startsWith('$2b$10$'), row?.password_hash ?? 'no hash');

  const raw = await s.api('GET', `/users/${enc(u.user_id)}`);
  assert.equal(raw.status, 200);
  assert.equal(raw.body.user_id, u.user_id);
  const projected = await s.api('GET', `/users/${enc(u.user_id)}?fields=user_id,email&include_fields=true`);
  assert.deepEqual(projected.body, { user_id: u.user_id, email: 'Alice@Example.com' });
  const excluded = await s.api('GET', `/users/${enc(u.user_id)}?fields=identities,app_metadata&include_fields=false`);
  assert.ok(!('identities' in excluded.body) && !('app_metadata' in excluded.body) && excluded.body.user_id === u.user_id);

  const got: any = await mc.users.get(u.user_id);
  assert.equal(got.given_name, 'Alice');
});

test('create user: conflicts and validation', async () => {
  await mc.users.create({ connection: 'Username-Password-Authentication', email: 'dup@example.com', password: PW });
  assertError(await s.api('POST', '/users', { body: { connection: 'Username-Password-Authentication', email: 'DUP@example.com', password: PW } }), 409, 'The user already exists.');
  assertError(await s.api('POST', '/users', { body: { connection: 'No-Such-Connection', email: 'x@example.com', password: PW } }), 400, /connection does not exist/);
  assertError(await s.api('POST', '/users', { body: { email: 'x@example.com', password: PW } }), 400, /Missing required property: connection/);
  assertError(await s.api('POST', '/users', { body: { connection: 'Username-Password-Authentication', email: 'not-an-email', password: PW } }), 400, /^Payload validation error/);
  assertError(await s.api('POST', '/users', { body: { connection: 'Username-Password-Authentication', email: 'y@example.com', password: PW, user_metadata: 'str' } }), 400, /^Payload validation error/);
  assertError(await s.api('POST', '/users', { body: { connection: 'Username-Password-Authentication', email: 'y@example.com' } }), 400, /password/);
  assertError(await s.api('POST', '/users', { body: { connection: 'Username-Password-Authentication', email: 'weak@example.com', password: 'abc' } }), 400, /PasswordStrengthError/);
  assertError(await s.api('POST', '/users', { body: '{"connection":' }), 400, 'Invalid request payload JSON format');
});

test('PATCH a user: Auth0 metadata merge, profile fields, password', async () => {
  const u: any = await mc.users.create({
    connection: 'Username-Password-Authentication', email: 'meta@example.com', password: PW,
    user_metadata: { keep: 1, drop: 2, addresses: { home: 'h', work: 'w' } },
  });
  // Root keys merge; null removes; nested objects are replaced whole (Auth0 documents root-level merge).
  const a: any = await mc.users.update(u.user_id, { user_metadata: { drop: null, added: true, addresses: { home: 'h2' } } as any });
  assert.deepEqual(a.user_metadata, { keep: 1, added: true, addresses: { home: 'h2' } });
  const b: any = await mc.users.update(u.user_id, { app_metadata: { roles: ['a'] } });
  assert.deepEqual(b.app_metadata, { roles: ['a'] });
  assert.deepEqual(b.user_metadata, a.user_metadata, 'untouched metadata stays');
  const c: any = await mc.users.update(u.user_id, { user_metadata: {} });
  assert.equal(c.user_metadata, undefined, '{} clears');
  const stored = await s.api('GET', `/users/${enc(u.user_id)}`);
  assert.equal(stored.body.user_metadata, undefined);
  assert.deepEqual(stored.body.app_metadata, { roles: ['a'] });

  const d: any = await mc.users.update(u.user_id, { name: 'Meta Person', blocked: true, email_verified: true });
  assert.equal(d.name, 'Meta Person');
  assert.equal(d.blocked, true);
  assert.equal(d.email_verified, true);

  const before = (await s.runtime.env.store.getUser(u.user_id))!.password_hash;
  await mc.users.update(u.user_id, { password: 'An0ther-Good-Passw0rd' });
  const afterHash = (await s.runtime.env.store.getUser(u.user_id))!.password_hash!;
  assert.notEqual(afterHash, before);
  assert.ok(afterHash.startsWith('$2b$10$'));

  assertError(await s.api('PATCH', `/users/${enc(u.user_id)}`, { body: { user_metadata: 'x' } }), 400, /^Payload validation error/);
  // The spec leaves the update body open: unknown fields are accepted and ignored.
  const extra = await s.api('PATCH', `/users/${enc(u.user_id)}`, { body: { bogus_field: 1 } });
  assert.equal(extra.status, 200);
  assert.equal(extra.body.bogus_field, undefined);
  assertError(await s.api('PATCH', `/users/${enc(u.user_id)}`, { body: { email: 'not-an-email' } }), 400, /^Payload validation error/);
  assertError(await s.api('PATCH', `/users/${enc(u.user_id)}`, { body: { blocked: 'yes' } }), 400, /^Payload validation error/);
  assertError(await s.api('PATCH', `/users/${enc(u.user_id)}`, { body: { password: 'x' } }), 400, /PasswordStrengthError/);
  assertError(await s.api('PATCH', `/users/${enc('auth0|000000000000000000000000')}`, { body: { name: 'x' } }), 404, undefined, 'inexistent_user');
  await mc.users.create({ connection: 'Username-Password-Authentication', email: 'taken@example.com', password: PW });
  assertError(await s.api('PATCH', `/users/${enc(u.user_id)}`, { body: { email: 'taken@example.com' } }), 409);
});

test('concurrent PATCHes keep every change: user metadata, organization metadata, client fields', async () => {
  const u = await s.api('POST', '/users', { body: { connection: 'Username-Password-Authentication', email: 'racer@example.com', password: 'Racer-pw-123!' } });
  const id = encodeURIComponent(u.body.user_id);
  const token = await s.token();
  const patched = await Promise.all(Array.from({ length: 10 }, (_, i) => s.api('PATCH', `/users/${id}`, { token, body: { app_metadata: { [`a${i}`]: i }, user_metadata: { [`u${i}`]: i } } })));
  assert.deepEqual(patched.map((r) => r.status), Array(10).fill(200));
  const user = (await s.api('GET', `/users/${id}`, { token })).body;
  assert.equal(Object.keys(user.app_metadata).length, 10, JSON.stringify(user.app_metadata));
  assert.equal(Object.keys(user.user_metadata).length, 10, JSON.stringify(user.user_metadata));

  const org = (await s.api('POST', '/organizations', { token, body: { name: 'racers' } })).body;
  await Promise.all(Array.from({ length: 10 }, (_, i) => s.api('PATCH', `/organizations/${org.id}`, { token, body: { metadata: { [`k${i}`]: String(i) } } })));
  assert.equal(Object.keys((await s.api('GET', `/organizations/${org.id}`, { token })).body.metadata).length, 10);

  // Different fields of one application, changed at once, all stay changed; so does a secret rotated meanwhile.
  const app = (await s.api('POST', '/clients', { token, body: { name: 'racer' } })).body;
  const [, , rotated] = await Promise.all([
    s.api('PATCH', `/clients/${app.client_id}`, { token, body: { callbacks: ['https://racer.example/cb'] } }),
    s.api('PATCH', `/clients/${app.client_id}`, { token, body: { description: 'changed' } }),
    s.api('POST', `/clients/${app.client_id}/rotate-secret`, { token }),
    s.api('PATCH', `/clients/${app.client_id}`, { token, body: { logo_uri: 'https://racer.example/logo.png' } }),
  ]);
  const after = (await s.api('GET', `/clients/${app.client_id}`, { token })).body;
  assert.deepEqual(after.callbacks, ['https://racer.example/cb']);
  assert.equal(after.description, 'changed');
  assert.equal(after.logo_uri, 'https://racer.example/logo.png');
  assert.equal(after.client_secret, rotated.body.client_secret);
});

test('users-by-email, delete', async () => {
  const u: any = await mc.users.create({ connection: 'Username-Password-Authentication', email: 'ByMail@Example.com', password: PW });
  const found: any = await mc.users.listUsersByEmail({ email: 'bymail@example.com' });
  assert.deepEqual(found.map((x: any) => x.user_id), [u.user_id]);
  const fields = await s.api('GET', `/users-by-email?email=${enc('BYMAIL@example.com')}&fields=user_id`);
  assert.deepEqual(fields.body, [{ user_id: u.user_id }]);
  assert.deepEqual((await s.api('GET', '/users-by-email?email=nobody@example.com')).body, []);
  assertError(await s.api('GET', '/users-by-email'), 400, /email/, 'invalid_query_string');

  const del = await s.api('DELETE', `/users/${enc(u.user_id)}`, { body: {} });
  assert.equal(del.status, 204);
  assertError(await s.api('GET', `/users/${enc(u.user_id)}`), 404, 'The user does not exist.', 'inexistent_user');
  assert.equal(await s.runtime.env.store.getUser(u.user_id), undefined);
});

test('GET /users: search v3, created_at range with 9 fractional digits and sort, connection filter', async () => {
  await mc.connections.create({ name: 'search-db', strategy: 'auth0' });
  const made: any[] = [];
  for (const [i, name] of ['Ann', 'Bob', 'Cat', 'Dan'].entries()) {
    made.push(await mc.users.create({ connection: 'search-db', email: `${name.toLowerCase()}@search.example.com`, password: PW, name, app_metadata: { tier: i % 2 ? 'gold' : 'free' } }));
    await sleep(15);
  }
  const q = (query: string, extra = '') => s.api('GET', `/users?search_engine=v3&q=${enc(query)}${extra}`);

  const second = made[1].created_at as string; // e.g. 2026-01-01T00:00:00.123Z
  const nanos = second.replace(/\.(\d{3})Z$/, '.$1999999Z');
  assert.match(nanos, /\.\d{9}Z$/);
  const upTo = await q(`identities.connection:"search-db" AND created_at:[* TO ${nanos}]`, '&sort=created_at:1');
  assert.equal(upTo.status, 200, JSON.stringify(upTo.body));
  assert.deepEqual(upTo.body.map((u: any) => u.name), ['Ann', 'Bob']);
  const exclusive = await q(`identities.connection:"search-db" AND created_at:{* TO ${second.replace(/Z$/, '000000Z')}}`, '&sort=created_at:1');
  assert.deepEqual(exclusive.body.map((u: any) => u.name), ['Ann']);
  const desc = await q('identities.connection:"search-db"', '&sort=created_at:-1');
  assert.deepEqual(desc.body.map((u: any) => u.name), ['Dan', 'Cat', 'Bob', 'Ann']);

  const gold = await q('app_metadata.tier:"gold"', '&sort=name:1');
  assert.deepEqual(gold.body.map((u: any) => u.name), ['Bob', 'Dan']);
  const prefix = await q('email:cat*');
  assert.deepEqual(prefix.body.map((u: any) => u.name), ['Cat']);

  const byConn = await s.api('GET', '/users?connection=search-db&sort=name:1');
  assert.deepEqual(byConn.body.map((u: any) => u.name), ['Ann', 'Bob', 'Cat', 'Dan']);
  const byConnQ = await s.api('GET', `/users?connection=search-db&q=${enc('name:Cat')}`);
  assert.deepEqual(byConnQ.body.map((u: any) => u.name), ['Cat']);
  assert.deepEqual((await s.api('GET', '/users?connection=no-such-conn')).body, []);

  const totals = await s.api('GET', '/users?connection=search-db&per_page=3&page=1&include_totals=true&sort=name:1');
  assert.equal(totals.body.start, 3);
  assert.equal(totals.body.limit, 3);
  assert.equal(totals.body.total, 4);
  assert.deepEqual(totals.body.users.map((u: any) => u.name), ['Dan']);
  const fields = await s.api('GET', '/users?connection=search-db&fields=name&sort=name:1&per_page=2');
  assert.deepEqual(fields.body, [{ name: 'Ann' }, { name: 'Bob' }]);

  const sdk = await mc.users.list({ q: 'identities.connection:"search-db"', search_engine: 'v3', sort: 'name:-1', per_page: 2, page: 0, include_totals: true });
  assert.deepEqual(sdk.data.map((u: any) => u.name), ['Dan', 'Cat']);
});

test('GET /users include_totals: exact below the 1000-result window, capped at it above', async () => {
  const store = s.runtime.env.store;
  const row = (conn: string, i: number) => ({
    user_id: `auth0|${conn}-${i}`, connection: conn, provider: 'auth0', email: `${conn}-${i}@totals.test`, email_norm: `${conn}-${i}@totals.test`,
    email_verified: 0, username: null, phone_number: null, name: null, nickname: null, given_name: null, family_name: null, picture: null,
    blocked: 0, created_at: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(), updated_at: '2025-06-01T00:00:00.000Z',
    last_login: null, last_ip: null, logins_count: 0, app_metadata: '{}', user_metadata: '{}', identities: '[]', data: '{}', password_hash: null,
  });
  const rows = [...Array.from({ length: 999 }, (_, i) => row('totals-a', i)), ...Array.from({ length: 1001 }, (_, i) => row('totals-b', i))]
    .map((r) => ({ ...r, tenant_id: store.tenantId }));
  for (let i = 0; i < rows.length; i += 200) await store.db.insertInto('users').values(rows.slice(i, i + 200)).execute();
  const total = async (conn: string) => (await s.api('GET', `/users?connection=${conn}&per_page=1&include_totals=true`)).body.total;
  assert.equal(await total('totals-a'), 999);
  assert.equal(await total('totals-b'), 1000);
  const q = await s.api('GET', `/users?q=${enc('email:totals-a-99*')}&per_page=5&include_totals=true`);
  assert.equal(q.body.total, 10); // totals-a-99 and totals-a-990 … 998
  assert.equal(q.body.users.length, 5);
});

test('GET /users: bad paging and queries are 400, never 5xx', async () => {
  assertError(await s.api('GET', '/users?per_page=101'), 400, /per_page/, 'invalid_query_string');
  const win = await s.api('GET', '/users?per_page=100&page=10');
  assertError(win, 400, /only page through the first 1000 records/);
  assert.equal((await s.api('GET', '/users?per_page=100&page=9')).status, 200, 'the last page inside the window is fine');
  assertError(await s.api('GET', '/users?per_page=50&page=20'), 400, /1000/);
  assertError(await s.api('GET', '/users?page=abc'), 400, undefined, 'invalid_query_string');
  assertError(await s.api('GET', `/users?q=${enc('email:(unclosed')}`), 400, /Invalid query/);
  assertError(await s.api('GET', `/users?q=${enc('no_such_field:1')}`), 400, /unknown field/);
  const inj = await s.api('GET', `/users?q=${enc("name:\"x'; DROP TABLE users;--\"")}`);
  assert.equal(inj.status, 200, 'user text is only ever a bound parameter');
  assert.deepEqual(inj.body, []);
  assertError(await s.api('GET', `/users?q=${enc('email:a*')}`), 400, /Invalid query/);
  assertError(await s.api('GET', '/users?sort=password_hash:1'), 400);
  assertError(await s.api('GET', '/users?search_engine=v1'), 400);
  const cp = await s.api('GET', '/users?take=2');
  assert.equal(cp.status, 200);
  assert.ok(Array.isArray(cp.body.users));
  assert.ok(Object.keys(cp.body).every((k) => k === 'users' || k === 'next'));
  assert.equal((await s.api('GET', '/users?per_page=1')).status, 200, 'users table intact');
});
