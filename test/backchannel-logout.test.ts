import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { startServer, type TestServer } from './helpers/server.ts';
import { Jar, createApp, createUser, go, scriptedLogin } from './helpers/login-flow.ts';
import { startReceiver } from './helpers/https-receiver.ts';

// OIDC Back-Channel Logout with Auth0's client settings: `oidc_logout.backchannel_logout_urls`
// and the initiators each application selected. /v2/logout is `rp-logout`.
// (Okta's Global Token Revocation, `idp-logout`, is in okta-federation.test.ts.)

let s: TestServer;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let a: { client_id: string; client_secret?: string };
let b: { client_id: string; client_secret?: string };
let userId: string;
const CB = 'https://app.example.com/callback';
const PW = 'Hal-pw-123!';

before(async () => {
  s = await startServer();
  receiver = await startReceiver();
  a = await createApp(s, { name: 'A', app_type: 'regular_web', callbacks: [CB], oidc_logout: { backchannel_logout_urls: [`${receiver.url}/a`] } });
  b = await createApp(s, {
    name: 'B', app_type: 'regular_web', callbacks: [CB],
    oidc_logout: { backchannel_logout_urls: [`${receiver.url}/b`], backchannel_logout_initiators: { mode: 'custom', selected_initiators: ['idp-logout'] } },
  });
  userId = (await createUser(s, 'hal@example.com', PW)).user_id;
});
after(async () => { await receiver?.close(); await s?.close(); });

const authorize = (client: { client_id: string }, extra: Record<string, string> = {}) =>
  `${s.baseUrl}/authorize?${new URLSearchParams({ client_id: client.client_id, redirect_uri: CB, response_type: 'code', scope: 'openid', state: 'x', ...extra })}`;

async function idToken(client: { client_id: string; client_secret?: string }, callback: string) {
  const r = await fetch(`${s.baseUrl}/oauth/token`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'authorization_code', client_id: client.client_id, client_secret: client.client_secret, code: new URL(callback).searchParams.get('code'), redirect_uri: CB }),
  });
  const body = await r.json() as any;
  assert.equal(r.status, 200, JSON.stringify(body));
  return decodeJwt(body.id_token);
}

/** One browser session that both applications took part in. */
async function sessionWithBoth() {
  const jar = new Jar();
  const first = await scriptedLogin(s, authorize(a), 'hal@example.com', PW, jar);
  const idA = await idToken(a, first.url);
  const silent = await go(jar, authorize(b, { prompt: 'none' }));
  await idToken(b, silent.headers.get('location')!);
  return { jar, sid: idA.sid as string };
}

test('/v2/logout sends a signed logout token to the applications that selected rp-logout, and only to them', async () => {
  const { jar, sid } = await sessionWithBoth();
  receiver.received.length = 0;
  const r = await go(jar, `${s.baseUrl}/v2/logout?client_id=${a.client_id}`);
  assert.equal(r.status, 200);
  assert.deepEqual(receiver.received.map((x) => x.path), ['/a'], 'B selected idp-logout only');
  const token = receiver.received[0].form.get('logout_token')!;
  const { payload, protectedHeader } = await jwtVerify(token, createRemoteJWKSet(new URL(`${s.baseUrl}/.well-known/jwks.json`)), { issuer: s.issuer, audience: a.client_id });
  assert.equal(protectedHeader.typ, 'logout+jwt');
  assert.equal(payload.sub, userId);
  assert.equal(payload.sid, sid, 'the sid the application saw in its ID token');
  assert.deepEqual(payload.events, { 'http://schemas.openid.net/event/backchannel-logout': {} });
  assert.equal(payload.nonce, undefined);
  assert.ok(payload.jti);
});

test('mode "all" selects every initiator; an application without a URL gets nothing', async () => {
  assert.equal((await s.api('PATCH', `/clients/${b.client_id}`, { body: { oidc_logout: { backchannel_logout_urls: [`${receiver.url}/b`], backchannel_logout_initiators: { mode: 'all' } } } })).status, 200);
  const { jar } = await sessionWithBoth();
  receiver.received.length = 0;
  await go(jar, `${s.baseUrl}/v2/logout`);
  assert.deepEqual(receiver.received.map((x) => x.path).sort(), ['/a', '/b']);

  assert.equal((await s.api('PATCH', `/clients/${a.client_id}`, { body: { oidc_logout: { backchannel_logout_urls: [] } } })).status, 200);
  const again = await sessionWithBoth();
  receiver.received.length = 0;
  await go(again.jar, `${s.baseUrl}/v2/logout`);
  assert.deepEqual(receiver.received.map((x) => x.path), ['/b']);
});
