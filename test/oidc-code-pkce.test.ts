import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { startServer, type TestServer } from './helpers/server.ts';
import { createApp, createUser, scriptedLogin } from './helpers/login-flow.ts';

let s: TestServer;
let spa: { client_id: string };
let web: { client_id: string; client_secret?: string };
const CB = 'http://localhost:3000/callback';

before(async () => {
  s = await startServer();
  spa = await createApp(s, { name: 'SPA', app_type: 'spa', callbacks: [CB], web_origins: ['http://localhost:3000'] });
  web = await createApp(s, { name: 'Web', app_type: 'regular_web', callbacks: [CB] });
  await createUser(s, 'alice@example.com', 'Alice-pw-123!', { name: 'Alice Liddell', email_verified: true });
  await s.api('POST', '/resource-servers', { body: { name: 'Orders', identifier: 'https://orders.example', scopes: [{ value: 'read:orders', description: 'r' }], allow_offline_access: true } });
});
after(async () => { await s?.close(); });

test('openid-client runs code + PKCE for a public client through the login page', async () => {
  const config = await client.discovery(new URL(s.baseUrl), spa.client_id, undefined, client.None());
  assert.equal(config.serverMetadata().issuer, `${s.baseUrl}/`);
  const verifier = client.randomPKCECodeVerifier();
  const nonce = client.randomNonce();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: CB, scope: 'openid profile email offline_access', code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256', nonce, state, auth0Client: 'eyJuYW1lIjoidGVzdCJ9', unknown_extra: 'x',
  });
  const { url: callback } = await scriptedLogin(s, url.href, 'alice@example.com', 'Alice-pw-123!');
  assert.ok(callback.startsWith(CB), callback);
  const tokens = await client.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: state });
  const claims = tokens.claims()!;
  assert.equal(claims.iss, `${s.baseUrl}/`);
  assert.match(claims.sub, /^auth0\|/);
  assert.equal(claims.aud, spa.client_id);
  assert.equal(claims.nonce, nonce);
  assert.equal(claims.email, 'alice@example.com');
  assert.equal(claims.email_verified, true);
  assert.equal(claims.name, 'Alice Liddell');
  assert.equal(claims.nickname, 'alice');
  assert.equal(typeof claims.picture, 'string');
  assert.equal(typeof claims.updated_at, 'string');
  assert.equal(typeof claims.sid, 'string');
  assert.equal(decodeProtectedHeader(tokens.id_token!).alg, 'RS256');
  assert.ok(tokens.refresh_token, 'offline_access gives a refresh token');
  // No audience: the access token is good at /userinfo.
  const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  assert.equal(info.email, 'alice@example.com');
  // A refresh returns a new id_token.
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
  assert.ok(refreshed.id_token);
  assert.equal(decodeJwt(refreshed.id_token!).sub, claims.sub);
  const user = await s.api('GET', `/users/${encodeURIComponent(claims.sub)}`);
  assert.equal(user.body.logins_count, 1);
  assert.ok(user.body.last_login);
});

test('a confidential client with an audience gets a JWT access token whose aud includes /userinfo; max_age gives auth_time', async () => {
  const config = await client.discovery(new URL(s.baseUrl), web.client_id, web.client_secret);
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, { redirect_uri: CB, scope: 'openid email read:orders', audience: 'https://orders.example', nonce, max_age: '0' });
  const { url: callback } = await scriptedLogin(s, url.href, 'alice@example.com', 'Alice-pw-123!');
  assert.ok(callback.startsWith(CB), callback);
  const tokens = await client.authorizationCodeGrant(config, new URL(callback), { expectedNonce: nonce, maxAge: 0 } as any);
  const at = decodeJwt(tokens.access_token);
  assert.deepEqual(at.aud, ['https://orders.example', `${s.baseUrl}/userinfo`]);
  assert.equal(at.azp, web.client_id);
  assert.match(String(at.sub), /^auth0\|/);
  assert.deepEqual(String(at.scope).split(' ').sort(), ['email', 'openid', 'read:orders']);
  // The response's scope is the token's, OIDC scopes included, as Auth0 answers.
  assert.equal(tokens.scope, at.scope);
  assert.equal(typeof tokens.claims()!.auth_time, 'number');
  const info = await fetch(`${s.baseUrl}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.equal(info.status, 200);
  assert.equal((await info.json() as any).email, 'alice@example.com');
});
