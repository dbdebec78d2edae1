import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ManagementClient } from 'auth0';
import { startServer, type TestServer } from './helpers/server.ts';
import { collect as all, managementClient } from './helpers/sdk.ts';
import { assertError } from './helpers/assert.ts';

// Session and refresh-token metadata and revocation (PATCH /sessions/{id},
// POST /sessions/{id}/revoke, GET /refresh-tokens, POST /refresh-tokens/revoke,
// PATCH /refresh-tokens/{id}, POST /users/{id}/revoke-access), user grants
// (/grants) and DELETE /connections/{id}/users, through the official SDK, over
// the engine's own records (the rows a login writes).

let s: TestServer;
let mc: ManagementClient;
let userId: string;
let otherUser: string;
let app: { client_id: string; client_secret: string };
let partner: string;
const API = 'https://revoke-api.example.com/';
const PW = 'Revoke-Passw0rd!';

before(async () => {
  s = await startServer();
  mc = managementClient(s);
  userId = (await mc.users.create({ connection: 'Username-Password-Authentication', email: 'rev@example.com', password: PW })).user_id!;
  otherUser = (await mc.users.create({ connection: 'Username-Password-Authentication', email: 'rev-other@example.com', password: PW })).user_id!;
  app = (await s.api('POST', '/clients', { body: { name: 'rev app', app_type: 'regular_web', grant_types: ['authorization_code', 'refresh_token'] } })).body;
  partner = (await s.api('POST', '/clients', { body: { name: 'partner', app_type: 'regular_web', is_first_party: false } })).body.client_id;
  await s.api('POST', '/resource-servers', { body: { name: 'Revoke API', identifier: API, scopes: [{ value: 'read:x' }], allow_offline_access: true } });
});
after(async () => { await s?.close(); });

const engine = () => s.runtime.engine.provider as any;
const now = () => Math.floor(Date.now() / 1000);

async function makeSession(accountId: string) {
  const session = new (engine().Session)({ accountId, loginTs: now() - 60, amr: ['pwd'], authorizations: { [app.client_id]: { sid: 'sid-x', grantId: 'grant-x' } } });
  await session.save(3600);
  return session as { jti: string; uid: string };
}
async function makeRefreshToken(accountId: string, opts: { sessionUid?: string; clientId?: string; resource?: string } = {}) {
  const grant = new (engine().Grant)({ accountId, clientId: opts.clientId ?? app.client_id });
  grant.addOIDCScope('openid offline_access');
  grant.addResourceScope(opts.resource ?? API, 'read:x');
  const grantId = await grant.save();
  const rt = new (engine().RefreshToken)({ accountId, clientId: opts.clientId ?? app.client_id, grantId, scope: 'openid offline_access', resource: opts.resource ?? API, sessionUid: opts.sessionUid, expiresIn: 3600, gty: 'authorization_code' });
  const value: string = await rt.save();
  const id = (await s.runtime.env.store.findPayload('RefreshToken', 'id', rt.jti))!.uid!;
  return { value, id };
}
const refresh = async (token: string) => (await fetch(`${s.baseUrl}/oauth/token`, {
  method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token, client_id: app.client_id, client_secret: app.client_secret }),
})).status;

test('session metadata: PATCH sets and replaces it, reads show it, null clears it; values must be short strings', async () => {
  const session = await makeSession(userId);
  const up: any = await mc.sessions.update(session.uid, { session_metadata: { device: 'laptop', risk: 'low' } });
  assert.deepEqual(up.session_metadata, { device: 'laptop', risk: 'low' });
  assert.equal(up.id, session.uid);
  assert.deepEqual(((await mc.sessions.get(session.uid)) as any).session_metadata, { device: 'laptop', risk: 'low' });
  await mc.sessions.update(session.uid, { session_metadata: { device: 'phone' } });
  assert.deepEqual(((await mc.sessions.get(session.uid)) as any).session_metadata, { device: 'phone' });
  const listed = (await s.api('GET', `/users/${userId}/sessions`)).body.sessions.find((x: any) => x.id === session.uid);
  assert.deepEqual(listed.session_metadata, { device: 'phone' });
  await mc.sessions.update(session.uid, { session_metadata: null });
  assert.equal(((await mc.sessions.get(session.uid)) as any).session_metadata, undefined);

  assertError(await s.api('PATCH', `/sessions/${session.uid}`, { body: { session_metadata: { n: 1 } } }), 400, /values must be strings/, 'invalid_body');
  assertError(await s.api('PATCH', `/sessions/${session.uid}`, { body: { session_metadata: { long: 'x'.repeat(256) } } }), 400, /at most 255/, 'invalid_body');
  const many = Object.fromEntries(Array.from({ length: 26 }, (_, i) => [`k${i}`, 'v']));
  assert.equal((await s.api('PATCH', `/sessions/${session.uid}`, { body: { session_metadata: many } })).status, 400);
  assert.equal((await s.api('PATCH', `/sessions/${session.uid}`, { body: {} })).status, 400);
  assertError(await s.api('PATCH', '/sessions/nope', { body: { session_metadata: { a: 'b' } } }), 404, 'The session does not exist', 'inexistent_session');
});

test('POST /sessions/{id}/revoke ends the session and the refresh tokens issued in it, not the others', async () => {
  const session = await makeSession(userId);
  const inSession = await makeRefreshToken(userId, { sessionUid: session.uid });
  const elsewhere = await makeRefreshToken(userId);
  assert.equal(await refresh(inSession.value), 200, 'the token works before');
  const fresh = await makeRefreshToken(userId, { sessionUid: session.uid });
  await mc.sessions.revoke(session.uid);
  assert.equal(await engine().Session.find(session.jti), undefined);
  assert.equal(await refresh(fresh.value), 403, 'the session\'s refresh token no longer works');
  assert.equal(await refresh(elsewhere.value), 200, 'a token of no session still works');
  assertError(await s.api('POST', '/sessions/unknown/revoke'), 404, 'The session does not exist', 'inexistent_session');
});

test('refresh tokens: GET /refresh-tokens by user and client, metadata, revoke by ids / user / client / audience', async () => {
  const a = await makeRefreshToken(otherUser);
  const b = await makeRefreshToken(otherUser, { resource: 'https://other-aud.example/' });
  const c = await makeRefreshToken(otherUser, { clientId: partner });
  const listed: any[] = await all(await mc.refreshTokens.list({ user_id: otherUser }));
  assert.deepEqual(listed.map((t) => t.id).sort(), [a.id, b.id, c.id].sort());
  assert.deepEqual((await all(await mc.refreshTokens.list({ user_id: otherUser, client_id: partner }))).map((t: any) => t.id), [c.id]);
  const page = await s.api('GET', `/refresh-tokens?user_id=${encodeURIComponent(otherUser)}&take=2`);
  assert.equal(page.body.refresh_tokens.length, 2);
  assert.ok(page.body.next, 'checkpoint paging gives a next cursor');
  assertError(await s.api('GET', '/refresh-tokens?user_id=auth0%7Cnobody'), 404, 'The user does not exist.', 'inexistent_user');
  assert.equal((await s.api('GET', '/refresh-tokens')).status, 400, 'user_id is required');

  const up: any = await mc.refreshTokens.update(a.id, { refresh_token_metadata: { purpose: 'sync' } });
  assert.deepEqual(up.refresh_token_metadata, { purpose: 'sync' });
  assert.deepEqual(((await mc.refreshTokens.get(a.id)) as any).refresh_token_metadata, { purpose: 'sync' });
  assertError(await s.api('PATCH', '/refresh-tokens/nope', { body: { refresh_token_metadata: {} } }), 404, 'The refresh token does not exist', 'inexistent_refresh_token');

  await mc.refreshTokens.revoke({ user_id: otherUser, audience: 'https://other-aud.example/' });
  assert.deepEqual((await all(await mc.refreshTokens.list({ user_id: otherUser }))).map((t: any) => t.id).sort(), [a.id, c.id].sort());
  await mc.refreshTokens.revoke({ user_id: otherUser, client_id: partner });
  assert.deepEqual((await all(await mc.refreshTokens.list({ user_id: otherUser }))).map((t: any) => t.id), [a.id]);
  assert.equal(await refresh(a.value), 200);
  await mc.refreshTokens.revoke({ ids: [a.id] });
  assert.equal(await refresh(a.value), 403);
  assert.equal(await s.runtime.env.store.findPayload('RefreshTokenMetadata', 'id', a.id), undefined, 'its metadata goes with it');
  assertError(await s.api('POST', '/refresh-tokens/revoke', { body: {} }), 400, /give ids or user_id/, 'invalid_body');
});

test('POST /users/{id}/revoke-access: every session and refresh token, one session, or sessions only', async () => {
  const u = (await mc.users.create({ connection: 'Username-Password-Authentication', email: 'ra@example.com', password: PW })).user_id!;
  const s1 = await makeSession(u);
  const s2 = await makeSession(u);
  const t1 = await makeRefreshToken(u, { sessionUid: s1.uid });
  const loose = await makeRefreshToken(u);
  await mc.users.revokeAccess(u, { session_id: s1.uid });
  assert.equal(await engine().Session.find(s1.jti), undefined);
  assert.ok(await engine().Session.find(s2.jti), 'the other session stays');
  assert.equal(await refresh(t1.value), 403);
  assert.equal(await refresh(loose.value), 200);

  await mc.users.revokeAccess(u, { preserve_refresh_tokens: true });
  assert.equal(await engine().Session.find(s2.jti), undefined);
  assert.equal(await refresh(loose.value), 200, 'preserved');

  await mc.users.revokeAccess(u);
  assert.equal(await refresh(loose.value), 403);
  assertError(await s.api('POST', '/users/auth0%7Cnobody/revoke-access', { body: {} }), 404, 'The user does not exist.', 'inexistent_user');
});

test('user grants: third-party applications only, filtered and paged; deleting one ends its refresh tokens', async () => {
  const u = (await mc.users.create({ connection: 'Username-Password-Authentication', email: 'grants@example.com', password: PW })).user_id!;
  const consented = await makeRefreshToken(u, { clientId: partner });
  await makeRefreshToken(u); // a first-party application: no user grant
  const grants: any[] = await all(await mc.userGrants.list({ user_id: u }));
  assert.equal(grants.length, 1);
  assert.deepEqual({ ...grants[0], id: 0 }, { id: 0, clientID: partner, user_id: u, audience: API, scope: ['openid', 'offline_access', 'read:x'] });
  assert.deepEqual(await all(await mc.userGrants.list({ user_id: u, audience: 'https://nope.example/' })), []);
  const paged = await s.api('GET', `/grants?user_id=${encodeURIComponent(u)}&include_totals=true&per_page=1`);
  assert.deepEqual({ ...paged.body, grants: paged.body.grants.length }, { start: 0, limit: 1, length: 1, total: 1, grants: 1 });

  await mc.userGrants.delete(grants[0].id);
  assert.deepEqual(await all(await mc.userGrants.list({ user_id: u })), []);
  assert.equal(await engine().Grant.find(grants[0].id), undefined);

  await makeRefreshToken(u, { clientId: partner });
  await makeRefreshToken(u, { clientId: partner, resource: 'https://other-aud.example/' });
  assert.equal((await all(await mc.userGrants.list({ user_id: u }))).length, 2);
  assert.equal((await s.api('DELETE', `/grants?user_id=${encodeURIComponent(u)}`)).status, 204);
  assert.deepEqual(await all(await mc.userGrants.list({ user_id: u })), []);
  assert.equal((await s.api('DELETE', '/grants')).status, 400, 'user_id is required');
});

test('DELETE /connections/{id}/users?email= deletes that database user only', async () => {
  const conn = (await s.api('GET', '/connections?name=Username-Password-Authentication')).body[0];
  const u = (await mc.users.create({ connection: conn.name, email: 'bye@example.com', password: PW })).user_id!;
  await mc.connections.users.deleteByEmail(conn.id, { email: 'BYE@example.com' });
  assertError(await s.api('GET', `/users/${encodeURIComponent(u)}`), 404, 'The user does not exist.', 'inexistent_user');
  assert.ok(await mc.users.get(userId), 'other users stay');
  assert.equal((await s.api('DELETE', `/connections/${conn.id}/users?email=nobody%40example.com`)).status, 204);
  assert.equal((await s.api('DELETE', `/connections/${conn.id}/users`)).status, 400, 'email is required');
  assert.equal((await s.api('DELETE', '/connections/con_0000000000000000/users?email=a%40b.c')).status, 404);
});
