import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ManagementClient } from 'auth0';
import { startServer, type TestServer } from './helpers/server.ts';
import { managementClient } from './helpers/sdk.ts';
import { createApp, createUser, scriptedLogin } from './helpers/login-flow.ts';
import { assertError } from './helpers/assert.ts';

// The tenant log and the statistics derived from it, read through the
// official SDK after real logins, token exchanges and Management API writes.

let s: TestServer;
let mc: ManagementClient;
let app: { client_id: string; client_secret?: string };
let bob: { user_id: string };
const REALM = 'http://auth0.com/oauth/grant-type/password-realm';
const CONN = 'Username-Password-Authentication';

async function token(body: Record<string, string>) {
  const r = await fetch(`${s.baseUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'logs-test/1.0' }, body: new URLSearchParams(body) });
  return { status: r.status, body: await r.json() as any };
}
// One token for every read, so the reads themselves add no client-credentials events between them.
let reader: string;
const get = (path: string) => s.api('GET', path, { token: reader });
const logs = async (query = '') => (await get(`/logs${query}`)).body as any[];
const ofType = (all: any[], type: string) => all.filter((l) => l.type === type);

before(async () => {
  s = await startServer();
  mc = managementClient(s);
  reader = await s.token();
  app = await createApp(s, { name: 'Logged App', app_type: 'regular_web', grant_types: ['authorization_code', 'refresh_token', REALM], callbacks: ['https://app.example.com/cb'] });
  bob = await createUser(s, 'bob@example.com', 'Bob-pw-123!');
  await createUser(s, 'blocked@example.com', 'Blocked-pw-123!', { blocked: true });
  const base = { grant_type: REALM, client_id: app.client_id, client_secret: app.client_secret!, realm: CONN, scope: 'openid' };
  assert.equal((await token({ ...base, username: 'bob@example.com', password: 'Bob-pw-123!' })).status, 200);
  assert.equal((await token({ ...base, username: 'bob@example.com', password: 'wrong' })).status, 403);
  assert.equal((await token({ ...base, username: 'nobody@example.com', password: 'wrong' })).status, 403);
  assert.equal((await token({ ...base, username: 'blocked@example.com', password: 'Blocked-pw-123!' })).status, 401);
});
after(async () => { await s?.close(); });

test('password logins are logged as Auth0 logs them: s, fp, fu and f for a blocked user, with who, where and how', async () => {
  const all = await logs('?per_page=100');
  const [ok] = ofType(all, 's');
  assert.ok(ok, 'a successful login event');
  assert.equal(ok.user_id, bob.user_id);
  assert.equal(ok.user_name, 'bob@example.com');
  assert.equal(ok.client_id, app.client_id);
  assert.equal(ok.client_name, 'Logged App');
  assert.equal(ok.connection, CONN);
  assert.equal(ok.strategy, 'auth0');
  assert.equal(ok.user_agent, 'logs-test/1.0');
  assert.match(ok.ip, /127\.0\.0\.1/);
  assert.match(ok.log_id, /^900\d{33}$/);
  assert.ok(Math.abs(Date.parse(ok.date) - Date.now()) < 60_000);
  assert.equal(ofType(all, 'fp')[0]?.user_id, bob.user_id);
  assert.equal(ofType(all, 'fu')[0]?.user_name, 'nobody@example.com');
  assert.equal(ofType(all, 'fu')[0]?.user_id, undefined);
  assert.equal(ofType(all, 'f')[0]?.description, 'user is blocked');
  // The token exchanges around them: one success and three failures of the password grant.
  assert.equal(ofType(all, 'sepft').length, 1);
  assert.equal(ofType(all, 'sepft')[0].user_id, bob.user_id);
  assert.equal(ofType(all, 'fepft').length, 3);
  assert.equal(ofType(all, 'fepft')[0].description.length > 0, true);
  for (const e of all) assert.doesNotMatch(JSON.stringify(e), /Bob-pw-123!|Blocked-pw-123!|client_secret/, 'no password or secret in the log');
});

test('a Universal Login sign-in, a logout, client credentials and Management API writes are logged', async () => {
  const u = new URL(`${s.baseUrl}/authorize`);
  u.search = new URLSearchParams({ client_id: app.client_id, response_type: 'code', redirect_uri: 'https://app.example.com/cb', scope: 'openid', state: 'st' }).toString();
  const login = await scriptedLogin(s, u.toString(), 'bob@example.com', 'Bob-pw-123!');
  assert.match(login.url, /^https:\/\/app\.example\.com\/cb\?code=/);
  const out = await fetch(`${s.baseUrl}/v2/logout?client_id=${app.client_id}`, { redirect: 'manual', headers: { cookie: login.jar.header() } });
  assert.ok(out.status < 400);
  const role: any = await mc.roles.create({ name: 'logged-role' });
  const failed = await s.api('POST', '/roles', { body: { name: 'logged-role' } });
  assert.equal(failed.status, 409);

  const all = await logs('?per_page=100');
  const logins = ofType(all, 's');
  assert.equal(logins.length, 2, 'the password grant and the login page');
  const slo = ofType(all, 'slo')[0];
  assert.equal(slo?.user_id, bob.user_id);
  assert.equal(slo?.client_id, app.client_id);
  // The SDK's own token request is a client-credentials exchange for the Management API.
  const cc = ofType(all, 'seccft').find((e) => e.client_id === s.clientId);
  assert.equal(cc?.audience, s.audience);
  const sapi = ofType(all, 'sapi').find((e) => e.details?.request?.path === '/api/v2/roles' && e.details.request.method === 'post');
  assert.ok(sapi, 'the role creation');
  assert.equal(sapi.client_id, s.clientId);
  assert.equal(sapi.details.response.statusCode, 200);
  const fapi = ofType(all, 'fapi').find((e) => e.details?.request?.path === '/api/v2/roles');
  assert.equal(fapi?.details.response.statusCode, 409);
  for (const e of ofType(all, 'sapi')) assert.equal(e.details.request.body, undefined, 'request bodies are not logged');
  assert.ok(role.id);
});

test('GET /logs pages newest first, with totals, sort and fields, through the SDK', async () => {
  const page = await mc.logs.list({ page: 0, per_page: 3, include_totals: true });
  const first = page.data;
  assert.equal(first.length, 3);
  const ids = first.map((l: any) => l.log_id);
  assert.deepEqual([...ids].sort().reverse(), ids, 'newest first');
  const withTotals = await get('/logs?per_page=2&page=1&include_totals=true');
  assert.equal(withTotals.body.start, 2);
  assert.equal(withTotals.body.limit, 2);
  assert.equal(withTotals.body.length, 2);
  assert.ok(withTotals.body.total >= 10);
  assert.equal(withTotals.body.logs[0].log_id, (await logs('?per_page=3'))[2].log_id);
  const asc = await logs('?sort=date:1&per_page=5');
  assert.deepEqual(asc.map((l) => l.log_id), asc.map((l) => l.log_id).sort());
  const projected = await logs('?fields=type,log_id&include_fields=true&per_page=2');
  assert.deepEqual(Object.keys(projected[0]).sort(), ['log_id', 'type']);
  assertError(await get('/logs?sort=name:1'), 400);
  assertError(await get('/logs?per_page=100&page=10'), 400, undefined, 'invalid_paging');
});

test('checkpoint paging: the newest `take` without `from`, then everything after a log_id, oldest first', async () => {
  const all = await logs('?sort=date:1&per_page=100');
  assert.ok(all.length >= 10);
  const newest = await logs('?take=2');
  assert.deepEqual(newest.map((l) => l.log_id), all.slice(-2).reverse().map((l) => l.log_id));
  const after = await logs(`?from=${all[3].log_id}&take=3`);
  assert.deepEqual(after.map((l) => l.log_id), all.slice(4, 7).map((l) => l.log_id));
  assertError(await get('/logs?take=101'), 400);
});

test('search with the Lucene syntax over types, users, dates and event fields', async () => {
  const byType = await logs(`?q=${encodeURIComponent('type:fp OR type:fu')}`);
  assert.deepEqual(new Set(byType.map((l) => l.type)), new Set(['fp', 'fu']));
  const byUser = await logs(`?q=${encodeURIComponent(`user_id:"${bob.user_id}" AND type:s`)}`);
  assert.equal(byUser.length, 2);
  // The SDK sends the query as `search`.
  const viaSdk = (await mc.logs.list({ search: 'user_name:"nobody@example.com"', per_page: 10 })).data;
  assert.deepEqual(viaSdk.map((l: any) => l.type), ['fu']);
  const today = new Date().toISOString().slice(0, 10);
  assert.ok((await logs(`?q=${encodeURIComponent(`date:[${today} TO *]`)}&per_page=100`)).length >= 10);
  assert.equal((await logs(`?q=${encodeURIComponent('date:[2000-01-01 TO 2000-12-31]')}`)).length, 0);
  const nested = await logs(`?q=${encodeURIComponent('details.response.statusCode:409')}`);
  assert.deepEqual(nested.map((l) => l.type), ['fapi']);
  assertError(await get(`/logs?q=${encodeURIComponent('type:(s')}`), 400, undefined, 'invalid_query_string');
});

test('one event by id, and a user\'s own events', async () => {
  const [latest] = await logs('?per_page=1');
  const one: any = await mc.logs.get(latest.log_id);
  assert.deepEqual(one, latest);
  assertError(await get('/logs/90020200101000000000000000000000000000'), 404);
  const mine = (await mc.users.logs.list(bob.user_id, { per_page: 50 })).data;
  assert.ok(mine.length >= 4);
  assert.ok(mine.every((l: any) => l.user_id === bob.user_id));
  assertError(await get('/users/auth0%7Cnobody/logs'), 404);
});

test('stats: active users (logged in within 30 days) and daily logins and signups', async () => {
  assert.equal(await mc.stats.getActiveUsersCount(), 1);
  const day = new Date().toISOString().slice(0, 10).replace(/-/g, '');
  const daily = await mc.stats.getDaily({ from: day, to: day }) as any[];
  assert.equal(daily.length, 1);
  assert.equal(daily[0].date, `${new Date().toISOString().slice(0, 10)}T00:00:00.000Z`);
  assert.equal(daily[0].logins, 2);
  assert.equal(daily[0].signups, 0);
  assert.deepEqual(await (await get('/stats/daily?from=20000101&to=20000102')).body, []);
  assertError(await get('/stats/daily?from=2000-01-01'), 400);
});

test('reading logs needs read:logs or read:logs_users', async () => {
  const t = await s.token('read:users');
  assertError(await s.api('GET', '/logs', { token: t }), 403, undefined, 'insufficient_scope');
  const ok = await s.api('GET', '/logs?per_page=1', { token: await s.token('read:logs_users') });
  assert.equal(ok.status, 200);
});
