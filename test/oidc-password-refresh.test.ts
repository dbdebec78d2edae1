import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { AuthClient } from '@auth0/auth0-auth-js';
import { decodeJwt } from 'jose';
import { startServer, type TestServer } from './helpers/server.ts';
import { createApp, createUser } from './helpers/login-flow.ts';

let s: TestServer;
let rotating: { client_id: string; client_secret?: string };
let plain: { client_id: string; client_secret?: string };
let noPassword: { client_id: string; client_secret?: string };
const REALM = 'http://auth0.com/oauth/grant-type/password-realm';

async function token(body: Record<string, string>) {
  const r = await fetch(`${s.baseUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body) });
  return { status: r.status, body: await r.json() as any };
}

before(async () => {
  s = await startServer();
  const grants = ['password', REALM, 'refresh_token', 'authorization_code'];
  rotating = await createApp(s, { name: 'Rotating', app_type: 'regular_web', grant_types: grants, refresh_token: { rotation_type: 'rotating', expiration_type: 'expiring', leeway: 0, infinite_token_lifetime: false, token_lifetime: 3600, infinite_idle_token_lifetime: false, idle_token_lifetime: 1800 } });
  plain = await createApp(s, { name: 'Plain', app_type: 'regular_web', grant_types: grants });
  noPassword = await createApp(s, { name: 'No password', app_type: 'regular_web', grant_types: ['authorization_code'] });
  await createUser(s, 'bob@example.com', 'Bob-pw-123!');
  await createUser(s, 'blocked@example.com', 'Blocked-pw-123!', { blocked: true });
  await s.api('POST', '/resource-servers', { body: { name: 'Inventory', identifier: 'https://inventory.example', scopes: [{ value: 'read:stock', description: 'r' }], allow_offline_access: true } });
  await s.api('POST', '/resource-servers', { body: { name: 'Online', identifier: 'https://online.example', scopes: [{ value: 'x', description: 'x' }], allow_offline_access: false } });
});
after(async () => { await s?.close(); });

test('auth0-auth-js: password-realm, refresh (new id_token), revoke', async () => {
  const auth = new AuthClient({ domain: s.domain, clientId: plain.client_id, clientSecret: plain.client_secret! });
  const t: any = await auth.getTokenByPassword({ username: 'bob@example.com', password: 'Bob-pw-123!', realm: 'Username-Password-Authentication', scope: 'openid profile email offline_access', audience: 'https://inventory.example' } as any);
  assert.ok(t.idToken && t.refreshToken);
  const at = decodeJwt(t.accessToken);
  assert.deepEqual(at.aud, ['https://inventory.example', `${s.baseUrl}/userinfo`]);
  assert.equal(t.claims?.email, 'bob@example.com');
  const r = await auth.getTokenByRefreshToken({ refreshToken: t.refreshToken! });
  assert.ok(r.idToken, 'refresh returns an id_token');
  assert.equal(decodeJwt(r.idToken!).sub, t.claims?.sub);
  await auth.revokeToken({ token: t.refreshToken! } as any);
  const after = await token({ grant_type: 'refresh_token', refresh_token: t.refreshToken!, client_id: plain.client_id, client_secret: plain.client_secret! });
  assert.equal(after.status, 403);
  assert.equal(after.body.error, 'invalid_grant');
});

test('wrong password and unknown user get the same answer; blocked users cannot log in', async () => {
  const base = { grant_type: REALM, client_id: plain.client_id, client_secret: plain.client_secret!, realm: 'Username-Password-Authentication', scope: 'openid' };
  const wrong = await token({ ...base, username: 'bob@example.com', password: 'nope' });
  const unknown = await token({ ...base, username: 'nobody@example.com', password: 'nope' });
  assert.equal(wrong.status, 403);
  assert.deepEqual(wrong.body, { error: 'invalid_grant', error_description: 'Wrong email or password.' });
  assert.deepEqual(unknown.body, wrong.body);
  const blocked = await token({ ...base, username: 'blocked@example.com', password: 'Blocked-pw-123!' });
  assert.equal(blocked.status, 401);
  assert.equal(blocked.body.error, 'unauthorized');
  assert.equal(blocked.body.access_token, undefined);
});

test('the password grants need to be enabled on the application', async () => {
  const r = await token({ grant_type: REALM, client_id: noPassword.client_id, client_secret: noPassword.client_secret!, realm: 'Username-Password-Authentication', username: 'bob@example.com', password: 'Bob-pw-123!' });
  assert.equal(r.status, 403);
  assert.deepEqual(r.body, { error: 'unauthorized_client', error_description: `Grant type '${REALM}' not allowed for the client.` });
});

test('no refresh token for an API without offline access', async () => {
  const r = await token({ grant_type: REALM, client_id: plain.client_id, client_secret: plain.client_secret!, realm: 'Username-Password-Authentication', username: 'bob@example.com', password: 'Bob-pw-123!', scope: 'openid offline_access', audience: 'https://online.example' });
  assert.equal(r.status, 200);
  assert.equal(r.body.refresh_token, undefined);
});

async function rotatingLogin() {
  const r = await token({ grant_type: REALM, client_id: rotating.client_id, client_secret: rotating.client_secret!, realm: 'Username-Password-Authentication', username: 'bob@example.com', password: 'Bob-pw-123!', scope: 'openid offline_access' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}
const refresh = (rt: string) => token({ grant_type: 'refresh_token', refresh_token: rt, client_id: rotating.client_id, client_secret: rotating.client_secret! });

test('rotation: reusing a rotated refresh token revokes the whole family', async () => {
  const first = await rotatingLogin();
  const second = await refresh(first.refresh_token);
  assert.equal(second.status, 200);
  assert.ok(second.body.id_token);
  assert.notEqual(second.body.refresh_token, first.refresh_token);
  const reuse = await refresh(first.refresh_token);
  assert.equal(reuse.status, 403);
  assert.equal(reuse.body.error, 'invalid_grant');
  const family = await refresh(second.body.refresh_token);
  assert.equal(family.status, 403, 'the newer token of the family is revoked too');
});

test('rotation: two concurrent refreshes with one token, exactly one wins', async () => {
  const first = await rotatingLogin();
  const results = await Promise.all([refresh(first.refresh_token), refresh(first.refresh_token)]);
  const wins = results.filter((r) => r.status === 200);
  assert.equal(wins.length, 1, JSON.stringify(results.map((r) => r.status)));
  assert.equal(results.find((r) => r.status !== 200)!.body.error, 'invalid_grant');
});

test('rotation leeway: the previous token works again within the leeway', async () => {
  await s.api('PATCH', `/clients/${rotating.client_id}`, { body: { refresh_token: { rotation_type: 'rotating', expiration_type: 'expiring', leeway: 30 } } });
  s.runtime.engine.clients.clear();
  const first = await rotatingLogin();
  const a = await refresh(first.refresh_token);
  const b = await refresh(first.refresh_token);
  assert.equal(a.status, 200);
  assert.equal(b.status, 200, JSON.stringify(b.body));
  await s.api('PATCH', `/clients/${rotating.client_id}`, { body: { refresh_token: { leeway: 0 } } });
  s.runtime.engine.clients.clear();
});

test('non-rotating: the same refresh token keeps working', async () => {
  const r = await token({ grant_type: REALM, client_id: plain.client_id, client_secret: plain.client_secret!, realm: 'Username-Password-Authentication', username: 'bob@example.com', password: 'Bob-pw-123!', scope: 'openid offline_access' });
  const rt = r.body.refresh_token;
  for (let i = 0; i < 3; i++) {
    const x = await token({ grant_type: 'refresh_token', refresh_token: rt, client_id: plain.client_id, client_secret: plain.client_secret! });
    assert.equal(x.status, 200);
    assert.equal(x.body.refresh_token ?? rt, rt);
  }
});
