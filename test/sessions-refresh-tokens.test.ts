import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ManagementClient } from 'auth0';
import { startServer, type TestServer } from './helpers/server.ts';
import { managementClient } from './helpers/sdk.ts';

// The sessions and refresh-tokens Management API over real engine payloads,
// made through oidc-provider's own models (the same rows a login writes).

let s: TestServer;
let mc: ManagementClient;
let userId: string;
let otherUser: string;
let clientId: string;
const API = 'https://sessions-api.example.com/';

before(async () => {
  s = await startServer();
  mc = managementClient(s);
  userId = (await s.api('POST', '/users', { body: { connection: 'Username-Password-Authentication', email: 'sess@example.com', password: 'Sess-Passw0rd!' } })).body.user_id;
  otherUser = (await s.api('POST', '/users', { body: { connection: 'Username-Password-Authentication', email: 'other@example.com', password: 'Sess-Passw0rd!' } })).body.user_id;
  clientId = (await s.api('POST', '/clients', { body: { name: 'rt app', app_type: 'regular_web', refresh_token: { rotation_type: 'rotating', expiration_type: 'expiring' } } })).body.client_id;
});
after(async () => { await s?.close(); });

const engine = () => s.runtime.engine.provider as any;
const now = () => Math.floor(Date.now() / 1000);

async function makeSession(accountId: string, ttl = 3600) {
  const session = new (engine().Session)({ accountId, loginTs: now() - 60, amr: ['pwd'], authorizations: { [clientId]: { sid: 'sid-x', grantId: 'grant-x' } } });
  await session.save(ttl);
  return session as { jti: string; uid: string };
}
async function makeRefreshToken(accountId: string, sessionUid?: string) {
  const rt = new (engine().RefreshToken)({ accountId, clientId, grantId: `grant-${Math.random()}`, scope: 'openid offline_access read:x', resource: API, sessionUid, expiresIn: 3600 });
  const value: string = await rt.save();
  return { value, jti: rt.jti as string };
}

describe('sessions', () => {
  test('GET /sessions/{id} by the session uid, never exposing the cookie value', async () => {
    const session = await makeSession(userId);
    const got: any = await mc.sessions.get(session.uid);
    assert.equal(got.id, session.uid);
    assert.equal(got.user_id, userId);
    assert.deepEqual(got.clients, [{ client_id: clientId }]);
    assert.deepEqual(got.authentication.methods.map((m: any) => m.name), ['pwd']);
    for (const k of ['created_at', 'updated_at', 'authenticated_at', 'last_interacted_at', 'expires_at', 'idle_expires_at']) {
      assert.ok(!Number.isNaN(Date.parse(got[k])), `${k}: ${got[k]}`);
    }
    assert.ok(Date.parse(got.idle_expires_at) > Date.now());
    assert.ok(!JSON.stringify(got).includes(session.jti), 'the cookie value (jti) is not shown');
    const byJti = await s.api('GET', `/sessions/${session.jti}`);
    assert.equal(byJti.status, 404);
    assert.equal(byJti.body.statusCode, 404);
  });

  test('DELETE /sessions/{id} ends it for the engine', async () => {
    const session = await makeSession(userId);
    assert.ok(await engine().Session.find(session.jti));
    await mc.sessions.delete(session.uid);
    assert.equal(await engine().Session.find(session.jti), undefined);
    assert.equal((await s.api('GET', `/sessions/${session.uid}`)).status, 404);
    assert.equal((await s.api('DELETE', `/sessions/${session.uid}`)).status, 202);
  });

  test('an expired session is not shown', async () => {
    const session = await makeSession(userId, 1);
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal((await s.api('GET', `/sessions/${session.uid}`)).status, 404);
  });

  test('GET /users/{id}/sessions pages by checkpoint; DELETE ends them all and only the user\'s', async () => {
    const mine = [await makeSession(userId), await makeSession(userId), await makeSession(userId)];
    const theirs = await makeSession(otherUser);
    const all = (await s.api('GET', `/users/${encodeURIComponent(userId)}/sessions`)).body;
    assert.ok(Array.isArray(all.sessions));
    for (const m of mine) assert.ok(all.sessions.some((x: any) => x.id === m.uid));
    assert.ok(!all.sessions.some((x: any) => x.id === theirs.uid));
    assert.ok(all.sessions.every((x: any) => x.user_id === userId));

    const seen: string[] = [];
    let from: string | undefined;
    for (let i = 0; i < 10; i++) {
      const page = (await s.api('GET', `/users/${encodeURIComponent(userId)}/sessions?take=2${from ? `&from=${from}` : ''}`)).body;
      assert.ok(page.sessions.length <= 2);
      seen.push(...page.sessions.map((x: any) => x.id));
      if (!page.next) break;
      from = page.next;
    }
    assert.deepEqual(seen, all.sessions.map((x: any) => x.id));

    const sdkPage = await mc.users.sessions.list(userId, { take: 2 } as any);
    assert.equal(sdkPage.data.length, 2);

    assert.equal((await s.api('DELETE', `/users/${encodeURIComponent(userId)}/sessions`)).status, 202);
    assert.deepEqual((await s.api('GET', `/users/${encodeURIComponent(userId)}/sessions`)).body.sessions, []);
    for (const m of mine) assert.equal(await engine().Session.find(m.jti), undefined);
    assert.ok(await engine().Session.find(theirs.jti), 'another user\'s session survives');
  });

  test('unknown user is 404; bad take is 400', async () => {
    assert.equal((await s.api('GET', '/users/auth0%7Cnobody/sessions')).status, 404);
    assert.equal((await s.api('DELETE', '/users/auth0%7Cnobody/sessions')).status, 404);
    assert.equal((await s.api('GET', `/users/${encodeURIComponent(userId)}/sessions?take=1000`)).status, 400);
  });

  test('scopes are enforced', async () => {
    const t = await s.token('read:users');
    assert.equal((await s.api('GET', `/users/${encodeURIComponent(userId)}/sessions`, { token: t })).status, 403);
    assert.equal((await s.api('DELETE', '/sessions/x', { token: t })).status, 403);
  });
});

describe('refresh tokens', () => {
  test('GET /refresh-tokens/{id}: Auth0 shape, id is not the token', async () => {
    const session = await makeSession(userId);
    const rt = await makeRefreshToken(userId, session.uid);
    const list = (await s.api('GET', `/users/${encodeURIComponent(userId)}/refresh-tokens`)).body;
    assert.equal(list.tokens.length, 1);
    const id = list.tokens[0].id;
    assert.match(id, /^rt_[\w-]{27}$/, "30 characters, Auth0's limit (POST /refresh-tokens/revoke takes no longer ids)");
    assert.ok(!JSON.stringify(list).includes(rt.value), 'the token value is never shown');
    const got: any = await mc.refreshTokens.get(id);
    assert.equal(got.id, id);
    assert.equal(got.user_id, userId);
    assert.equal(got.client_id, clientId);
    assert.equal(got.session_id, session.uid);
    assert.equal(got.rotating, true);
    assert.deepEqual(got.resource_servers, [{ audience: API, scopes: 'openid offline_access read:x' }]);
    for (const k of ['created_at', 'expires_at', 'idle_expires_at']) assert.ok(!Number.isNaN(Date.parse(got[k])), k);
    assert.equal((await s.api('GET', `/refresh-tokens/${encodeURIComponent(rt.value)}`)).status, 404);
  });

  test('DELETE /refresh-tokens/{id} revokes it for the engine', async () => {
    const rt = await makeRefreshToken(userId);
    assert.ok(await engine().RefreshToken.find(rt.value));
    const id = (await s.api('GET', `/users/${encodeURIComponent(userId)}/refresh-tokens`)).body.tokens.find((t: any) => !t.session_id).id;
    await mc.refreshTokens.delete(id);
    assert.equal(await engine().RefreshToken.find(rt.value), undefined);
    assert.equal((await s.api('GET', `/refresh-tokens/${id}`)).status, 404);
  });

  test('a consumed (rotated) token is not listed', async () => {
    const rt = await makeRefreshToken(userId);
    const before = (await s.api('GET', `/users/${encodeURIComponent(userId)}/refresh-tokens`)).body.tokens.length;
    const found = await engine().RefreshToken.find(rt.value);
    await found.consume();
    assert.equal((await s.api('GET', `/users/${encodeURIComponent(userId)}/refresh-tokens`)).body.tokens.length, before - 1);
  });

  test('GET/DELETE /users/{id}/refresh-tokens: paging, and only that user\'s tokens go', async () => {
    const mine = [await makeRefreshToken(userId), await makeRefreshToken(userId), await makeRefreshToken(userId)];
    const theirs = await makeRefreshToken(otherUser);
    const first = (await s.api('GET', `/users/${encodeURIComponent(userId)}/refresh-tokens?take=2`)).body;
    assert.equal(first.tokens.length, 2);
    assert.ok(first.next);
    const second = (await s.api('GET', `/users/${encodeURIComponent(userId)}/refresh-tokens?take=2&from=${first.next}`)).body;
    assert.ok(second.tokens.length >= 1);
    assert.ok(!second.tokens.some((t: any) => first.tokens.some((f: any) => f.id === t.id)));

    await mc.users.refreshToken.delete(userId);
    for (const m of mine) assert.equal(await engine().RefreshToken.find(m.value), undefined);
    assert.ok(await engine().RefreshToken.find(theirs.value));
    assert.deepEqual((await s.api('GET', `/users/${encodeURIComponent(userId)}/refresh-tokens`)).body.tokens, []);
    assert.equal((await s.api('GET', '/users/auth0%7Cnobody/refresh-tokens')).status, 404);
  });
});
