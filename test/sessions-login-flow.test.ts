import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from './helpers/server.ts';
import { Jar, createApp, createUser, go, scriptedLogin } from './helpers/login-flow.ts';

// The sessions and refresh-tokens Management API against what a real login
// leaves behind: deleting through the API ends the SSO session and revokes
// the refresh token for the protocol endpoints.

let s: TestServer;
let web: { client_id: string; client_secret?: string };
let userId: string;
const CB = 'https://app.example.com/callback';

before(async () => {
  s = await startServer();
  web = await createApp(s, { name: 'Web', app_type: 'regular_web', callbacks: [CB] });
  userId = (await createUser(s, 'dana@example.com', 'Dana-pw-123!')).user_id;
});
after(async () => { await s?.close(); });

const authorize = (params: Record<string, string>) => `${s.baseUrl}/authorize?${new URLSearchParams({ response_type: 'code', client_id: web.client_id, redirect_uri: CB, scope: 'openid offline_access', ...params })}`;
const token = (body: Record<string, string>) => fetch(`${s.baseUrl}/oauth/token`, {
  method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ client_id: web.client_id, client_secret: web.client_secret!, ...body }),
}).then(async (r) => ({ status: r.status, body: await r.json() as any }));
const user = encodeURIComponent;

test('a login shows up as a session and a refresh token; deleting them ends both for the engine', async () => {
  const { url, jar } = await scriptedLogin(s, authorize({ state: 'a' }), 'dana@example.com', 'Dana-pw-123!');
  const code = new URL(url).searchParams.get('code');
  assert.ok(code, url);
  const tokens = await token({ grant_type: 'authorization_code', code: code!, redirect_uri: CB });
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
  assert.ok(tokens.body.refresh_token);

  const sessions = (await s.api('GET', `/users/${user(userId)}/sessions`)).body.sessions;
  assert.equal(sessions.length, 1);
  assert.equal(sessions[0].user_id, userId);
  assert.deepEqual(sessions[0].clients, [{ client_id: web.client_id }]);
  const list = (await s.api('GET', `/users/${user(userId)}/refresh-tokens`)).body.tokens;
  assert.equal(list.length, 1);
  assert.equal(list[0].client_id, web.client_id);
  assert.equal(list[0].session_id, sessions[0].id);
  assert.ok(!JSON.stringify(list).includes(tokens.body.refresh_token));

  // Silent auth works while the session lives, and not after it is deleted.
  const silent = await go(jar, authorize({ prompt: 'none', state: 'b' }));
  assert.ok(new URL(silent.headers.get('location')!, s.baseUrl).searchParams.get('code'), 'prompt=none succeeds with the session');
  assert.equal((await s.api('DELETE', `/sessions/${sessions[0].id}`)).status, 202);
  const after = await go(jar, authorize({ prompt: 'none', state: 'c' }));
  assert.equal(new URL(after.headers.get('location')!, s.baseUrl).searchParams.get('error'), 'login_required');

  // The refresh token keeps working until it is deleted.
  const current = (await s.api('GET', `/users/${user(userId)}/refresh-tokens`)).body.tokens;
  assert.equal((await s.api('DELETE', `/refresh-tokens/${current[0].id}`)).status, 202);
  const refreshed = await token({ grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token });
  assert.equal(refreshed.status, 403);
  assert.equal(refreshed.body.error, 'invalid_grant');
});

test('DELETE /users/{id}/refresh-tokens revokes every token of the user', async () => {
  const tokens: string[] = [];
  for (const state of ['x', 'y']) {
    const { url } = await scriptedLogin(s, authorize({ state }), 'dana@example.com', 'Dana-pw-123!', new Jar());
    tokens.push((await token({ grant_type: 'authorization_code', code: new URL(url).searchParams.get('code')!, redirect_uri: CB })).body.refresh_token);
  }
  assert.equal((await s.api('GET', `/users/${user(userId)}/refresh-tokens`)).body.tokens.length, 2);
  assert.equal((await s.api('DELETE', `/users/${user(userId)}/refresh-tokens`)).status, 202);
  for (const rt of tokens) assert.equal((await token({ grant_type: 'refresh_token', refresh_token: rt })).body.error, 'invalid_grant');
});
