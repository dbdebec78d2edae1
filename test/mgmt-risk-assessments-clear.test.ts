import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ManagementClient } from 'auth0';
import { startServer, type TestServer } from './helpers/server.ts';
import { managementClient } from './helpers/sdk.ts';
import { assertError } from './helpers/assert.ts';

// POST /users/{id}/risk-assessments/clear. Postern remembers no device, so a
// clear has nothing to forget: what is tested is that Auth0's checks hold and
// that the user is left as it was.

let s: TestServer;
let mc: ManagementClient;
let userId: string;
const DB = 'Username-Password-Authentication';
before(async () => {
  s = await startServer();
  mc = managementClient(s);
  const u = await s.api('POST', '/users', { body: { connection: DB, email: 'risky@example.com', password: 'Risk-pw-12345!' } });
  assert.equal(u.status, 201, JSON.stringify(u.body));
  userId = u.body.user_id;
});
after(async () => { await s?.close(); });

const path = (id: string) => `/users/${encodeURIComponent(id)}/risk-assessments/clear`;

test('clearing the new-device assessor of a user in its connection answers 204 and leaves the user unchanged', async () => {
  const before = await s.api('GET', `/users/${encodeURIComponent(userId)}`);
  await mc.users.riskAssessments.clear(userId, { connection: DB, assessors: ['new-device'] });
  const r = await s.api('POST', path(userId), { body: { connection: DB, assessors: ['new-device'] } });
  assert.equal(r.status, 204);
  assert.equal(r.body, undefined);
  assert.deepEqual((await s.api('GET', `/users/${encodeURIComponent(userId)}`)).body, before.body);
});

test('bad bodies are 400s: an unknown assessor, no assessors, a missing or malformed connection', async () => {
  assertError(await s.api('POST', path(userId), { body: { connection: DB, assessors: ['impossible-travel'] } }), 400);
  assertError(await s.api('POST', path(userId), { body: { connection: DB, assessors: [] } }), 400);
  assertError(await s.api('POST', path(userId), { body: { assessors: ['new-device'] } }), 400, /connection/);
  assertError(await s.api('POST', path(userId), { body: { connection: 'not a name!', assessors: ['new-device'] } }), 400);
  assertError(await s.api('POST', path(userId), { body: { connection: DB, assessors: ['new-device'], extra: true } }), 400);
});

test('an unknown connection is a 400; an unknown user, or one not in the connection, a 404', async () => {
  assertError(await s.api('POST', path(userId), { body: { connection: 'no-such-connection', assessors: ['new-device'] } }), 400, undefined, 'inexistent_connection');
  assertError(await s.api('POST', path('auth0|nobody'), { body: { connection: DB, assessors: ['new-device'] } }), 404, undefined, 'inexistent_user');
  const other = await s.api('POST', '/connections', { body: { name: 'other-db', strategy: 'auth0' } });
  assert.equal(other.status, 201, JSON.stringify(other.body));
  assertError(await s.api('POST', path(userId), { body: { connection: 'other-db', assessors: ['new-device'] } }), 404, undefined, 'inexistent_user');
});

test('the operation needs update:users', async () => {
  const token = await s.token('read:users');
  assertError(await s.api('POST', path(userId), { token, body: { connection: DB, assessors: ['new-device'] } }), 403, undefined, 'insufficient_scope');
});
