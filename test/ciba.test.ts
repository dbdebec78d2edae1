import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { AuthClient } from '@auth0/auth0-auth-js';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { startServer, type TestServer } from './helpers/server.ts';
import { createApp, createUser } from './helpers/login-flow.ts';
import { getPage, outbox, postForm, waitForMail } from './helpers/outbox.ts';

// Client-Initiated Backchannel Authentication as Auth0 runs it with email
// notifications: a confidential application (made with the Management API)
// starts a request through @auth0/auth0-auth-js, the user gets a mail whose
// link shows the binding message with Accept and Decline, and the
// application's poll of /oauth/token gets the tokens or access_denied.

const GRANT = 'urn:openid:params:grant-type:ciba';
const API = 'https://agent-api.example/';
const PW = 'Ciba-pw-123!';

let s: TestServer;
let agent: { client_id: string; client_secret?: string; [k: string]: any };
let aliceId: string;
let bobId: string;

before(async () => {
  s = await startServer();
  agent = await createApp(s, {
    name: 'Travel Agent', app_type: 'regular_web', grant_types: [GRANT, 'refresh_token'],
    async_approval_notification_channels: ['email'],
  });
  const rs = await s.api('POST', '/resource-servers', {
    body: { name: 'Agent API', identifier: API, scopes: [{ value: 'book:flights' }, { value: 'read:trips' }], allow_offline_access: true },
  });
  assert.equal(rs.status, 201, JSON.stringify(rs.body));
  aliceId = (await createUser(s, 'alice@example.com', PW, { name: 'Alice Liddell', email_verified: true })).user_id;
  bobId = (await createUser(s, 'bob@example.com', PW, { email_verified: false })).user_id;
});
after(async () => { await s?.close(); });

const auth = (app = agent) => new AuthClient({ domain: s.domain, clientId: app.client_id, clientSecret: app.client_secret! });
const hint = (sub: string, iss = s.issuer) => JSON.stringify({ format: 'iss_sub', iss, sub });

/** A raw /bc-authorize call, as node-auth0 v6 makes it (form body, secret in it). */
async function bcAuthorize(fields: Record<string, string>, app = agent) {
  const r = await fetch(`${s.baseUrl}/bc-authorize`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: app.client_id, client_secret: app.client_secret!, ...fields }),
  });
  return { status: r.status, body: await r.json() as any };
}

async function poll(authReqId: string, app = agent) {
  const r = await fetch(`${s.baseUrl}/oauth/token`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: GRANT, auth_req_id: authReqId, client_id: app.client_id, client_secret: app.client_secret }),
  });
  return { status: r.status, body: await r.json() as any };
}

function assertAuth0Error(r: { status: number; body: any }, status: number, error: string, description?: string | RegExp) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.deepEqual(Object.keys(r.body).sort(), ['error', 'error_description'], JSON.stringify(r.body));
  assert.equal(r.body.error, error);
  if (typeof description === 'string') assert.equal(r.body.error_description, description);
  else if (description) assert.match(r.body.error_description, description);
}

/** The approval mail to `to` sent after `after` mails, and the page its link opens. */
async function approvalPage(to: string, after: number) {
  const mail = await waitForMail(s.dataDir, to, { after, subject: /needs your approval/ });
  const link = /https:\/\/\S+\/u\/ciba\?ticket=[^\s"<]+/.exec(mail.text)?.[0];
  assert.ok(link, mail.text);
  const pageUrl = new URL(link);
  return { mail, page: await getPage(`${s.baseUrl}${pageUrl.pathname}${pageUrl.search}`) };
}

const logsOf = async (type: string) => (await s.api('GET', `/logs?q=type:${type}&per_page=100`)).body as any[];

test('discovery advertises the backchannel authentication endpoint and the grant', async () => {
  const meta = await (await fetch(`${s.baseUrl}/.well-known/openid-configuration`)).json() as any;
  assert.equal(meta.backchannel_authentication_endpoint, `${s.issuer}bc-authorize`);
  assert.deepEqual(meta.backchannel_token_delivery_modes_supported, ['poll']);
  assert.ok(meta.grant_types_supported.includes(GRANT));
  assert.deepEqual(agent.async_approval_notification_channels, ['email']);
  assert.deepEqual(agent.grant_types, [GRANT, 'refresh_token']);
});

test('auth0-auth-js: the request waits, the user accepts through the mailed link, and the poll gets ID, access and refresh tokens', async () => {
  const seen = outbox(s.dataDir).length;
  const started = await auth().initiateBackchannelAuthentication({
    bindingMessage: 'Book LHR-JFK 12:45', loginHint: { sub: aliceId },
    authorizationParams: { scope: 'openid profile email offline_access book:flights', audience: API },
  } as any);
  assert.equal(typeof started.authReqId, 'string');
  assert.equal(started.expiresIn, 300);
  assert.equal(started.interval, 5);

  // Before the user acts: pending, then told to slow down when polled again at once.
  await assert.rejects(auth().backchannelAuthenticationGrant({ authReqId: started.authReqId }),
    (e: any) => e.cause?.error === 'authorization_pending' || /pending/.test(e.message));
  assertAuth0Error(await poll(started.authReqId), 429, 'slow_down', 'You are polling faster than the specified interval of 5 seconds.');

  const { mail, page } = await approvalPage('alice@example.com', seen);
  assert.match(mail.html, /Book LHR-JFK 12:45/);
  assert.equal(page.status, 200, page.html);
  assert.match(page.html, /Travel Agent/);
  assert.match(page.html, /<strong id="binding-message">Book LHR-JFK 12:45<\/strong>/);
  assert.match(page.html, /book:flights/);

  // A form without the page's CSRF cookie is refused and decides nothing.
  const forged = await postForm(`${s.baseUrl}/u/ciba`, '', { ...page.fields, action: 'accept' });
  assert.equal(forged.status, 403);
  await new Promise((r) => setTimeout(r, 4100));
  assertAuth0Error(await poll(started.authReqId), 403, 'authorization_pending', 'The end-user authorization is pending');

  const accepted = await postForm(`${s.baseUrl}/u/ciba`, page.cookie, { ...page.fields, action: 'accept' });
  assert.equal(accepted.status, 200);
  assert.match(accepted.html, /You approved the request/);

  await new Promise((r) => setTimeout(r, 4100));
  const tokens = await auth().backchannelAuthenticationGrant({ authReqId: started.authReqId });
  assert.ok(tokens.idToken && tokens.accessToken && tokens.refreshToken);
  const jwks = createRemoteJWKSet(new URL(`${s.baseUrl}/.well-known/jwks.json`));
  const { payload: at } = await jwtVerify(tokens.accessToken, jwks, { issuer: s.issuer });
  assert.equal(at.sub, aliceId);
  assert.deepEqual(at.aud, [API, `${s.issuer}userinfo`]);
  assert.equal(at.azp, agent.client_id);
  assert.deepEqual(String(at.scope).split(' ').sort(), ['book:flights', 'email', 'offline_access', 'openid', 'profile']);
  const id = decodeJwt(tokens.idToken!);
  assert.equal(id.sub, aliceId);
  assert.equal(id.aud, agent.client_id);
  assert.equal(id.email, 'alice@example.com');

  // The refresh token works as any other.
  const refreshed = await auth().getTokenByRefreshToken({ refreshToken: tokens.refreshToken! });
  assert.equal(decodeJwt(refreshed.accessToken).sub, aliceId);

  // The request is spent: its page is gone, and a second exchange fails and, as a replayed code does, revokes what it gave.
  assert.equal((await getPage(`${s.baseUrl}/u/ciba?ticket=${encodeURIComponent(page.fields.ticket)}`)).status, 404);
  await new Promise((r) => setTimeout(r, 100));
  const again = await poll(started.authReqId);
  assert.equal(again.status, 403, JSON.stringify(again.body));
  assert.equal(again.body.error, 'invalid_grant');
  await assert.rejects(auth().getTokenByRefreshToken({ refreshToken: tokens.refreshToken! }), (e: any) => e.cause?.error === 'invalid_grant');

  assert.ok((await logsOf('ciba_start_succeeded')).some((l) => l.client_id === agent.client_id && l.user_id === aliceId));
  assert.ok((await logsOf('ciba_exchange_succeeded')).some((l) => l.client_id === agent.client_id && l.user_id === aliceId));
});

test('the user declines: the poll gets access_denied, and the request is then spent', async () => {
  const seen = outbox(s.dataDir).length;
  const started = await bcAuthorize({ scope: 'openid', binding_message: 'Pay 42 EUR', login_hint: hint(aliceId), requested_expiry: '120' });
  assert.equal(started.status, 200, JSON.stringify(started.body));
  assert.deepEqual(Object.keys(started.body).sort(), ['auth_req_id', 'expires_in', 'interval']);
  assert.equal(started.body.expires_in, 120);
  const { page } = await approvalPage('alice@example.com', seen);
  const declined = await postForm(`${s.baseUrl}/u/ciba`, page.cookie, { ...page.fields, action: 'deny' });
  assert.equal(declined.status, 200);
  assert.match(declined.html, /You declined the request/);
  assertAuth0Error(await poll(started.body.auth_req_id), 403, 'access_denied', 'The end-user denied the authorization request');
  await new Promise((r) => setTimeout(r, 100));
  const again = await poll(started.body.auth_req_id);
  assert.equal(again.body.error, 'invalid_grant', JSON.stringify(again.body));
});

test('an expired request answers expired_token once, then invalid_grant; its link is gone', async () => {
  const seen = outbox(s.dataDir).length;
  const started = await bcAuthorize({ scope: 'openid', binding_message: 'Short one', login_hint: hint(aliceId), request_expiry: '1' });
  assert.equal(started.status, 200, JSON.stringify(started.body));
  assert.equal(started.body.expires_in, 1);
  const { page } = await approvalPage('alice@example.com', seen);
  await new Promise((r) => setTimeout(r, 2100));
  assert.equal((await getPage(`${s.baseUrl}/u/ciba?ticket=${encodeURIComponent(page.fields.ticket)}`)).status, 404);
  assertAuth0Error(await poll(started.body.auth_req_id), 403, 'expired_token', 'The auth_req_id has expired.');
  assertAuth0Error(await poll(started.body.auth_req_id), 403, 'invalid_grant', 'Invalid or expired auth_req_id.');
});

test('bad requests get Auth0 error bodies and 4xx, and send no mail', async () => {
  const seen = outbox(s.dataDir).length;
  const base = { scope: 'openid', binding_message: 'Hello', login_hint: hint(aliceId) };
  assertAuth0Error(await bcAuthorize({ ...base, binding_message: '' }), 400, 'invalid_request', 'Missing required parameter: binding_message');
  assertAuth0Error(await bcAuthorize({ ...base, binding_message: '<script>' }), 400, 'invalid_binding_message');
  assertAuth0Error(await bcAuthorize({ ...base, binding_message: 'x'.repeat(65) }), 400, 'invalid_binding_message');
  assertAuth0Error(await bcAuthorize({ ...base, login_hint: 'alice' }), 400, 'invalid_request', 'login_hint must be a JSON object');
  assertAuth0Error(await bcAuthorize({ ...base, login_hint: JSON.stringify({ format: 'email', email: 'alice@example.com' }) }), 400, 'invalid_request', 'login_hint format must be iss_sub');
  assertAuth0Error(await bcAuthorize({ ...base, login_hint: hint(aliceId, 'https://other.example/') }), 400, 'invalid_request', /login_hint iss must be/);
  assertAuth0Error(await bcAuthorize({ ...base, login_hint: hint('auth0|nobody') }), 400, 'unknown_user_id');
  assertAuth0Error(await bcAuthorize({ ...base, login_hint: hint(bobId) }), 400, 'invalid_request', 'The user has no verified email address to notify');
  assertAuth0Error(await bcAuthorize({ ...base, requested_expiry: '0' }), 400, 'invalid_request', /requested_expiry/);
  assertAuth0Error(await bcAuthorize({ ...base, requested_expiry: 'soon' }), 400, 'invalid_request', /requested_expiry/);
  assertAuth0Error(await bcAuthorize({ ...base, scope: 'profile' }), 400, 'invalid_request', /openid/);
  assertAuth0Error(await bcAuthorize({ ...base, audience: 'https://unknown-api.example/' }), 400, 'access_denied', 'Service not found: https://unknown-api.example/');
  assertAuth0Error(await bcAuthorize({ ...base, client_secret: 'wrong' }), 401, 'access_denied', 'Unauthorized');
  const rar = await bcAuthorize({ ...base, authorization_details: JSON.stringify([{ type: 'payment_initiation', amount: 42 }]) });
  assertAuth0Error(rar, 400, 'invalid_request', 'authorization_details is not supported');
  const garbled = await fetch(`${s.baseUrl}/bc-authorize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"client_id":' });
  assert.equal(garbled.status, 400);
  assert.equal((await garbled.json() as any).error, 'invalid_request');
  assertAuth0Error(await poll('no-such-request'), 403, 'invalid_grant');
  // A garbled or foreign ticket opens nothing.
  assert.equal((await getPage(`${s.baseUrl}/u/ciba?ticket=nonsense`)).status, 404);
  assert.equal(outbox(s.dataDir).length, seen);
  assert.ok((await logsOf('ciba_start_failed')).some((l) => l.client_id === agent.client_id));
});

test('only first-party confidential applications that list the grant and can notify by email may start a request', async () => {
  const base = { scope: 'openid', binding_message: 'Hello', login_hint: hint(aliceId) };
  const without = await createApp(s, { name: 'No CIBA', app_type: 'regular_web', grant_types: ['authorization_code'], async_approval_notification_channels: ['email'] });
  assertAuth0Error(await bcAuthorize(base, without), 403, 'unauthorized_client', `Grant type '${GRANT}' not allowed for the client.`);
  const thirdParty = await createApp(s, { name: 'Third party', app_type: 'regular_web', is_first_party: false, grant_types: [GRANT], async_approval_notification_channels: ['email'] });
  assertAuth0Error(await bcAuthorize(base, thirdParty), 403, 'unauthorized_client');
  const pushOnly = await createApp(s, { name: 'Push only', app_type: 'regular_web', grant_types: [GRANT] });
  assertAuth0Error(await bcAuthorize(base, pushOnly), 400, 'invalid_request', /Guardian push/);
  // Another application cannot collect a request's tokens.
  const started = await bcAuthorize(base);
  assert.equal(started.status, 200);
  const other = await createApp(s, { name: 'Other agent', app_type: 'regular_web', grant_types: [GRANT], async_approval_notification_channels: ['email'] });
  const stolen = await poll(started.body.auth_req_id, other);
  assert.equal(stolen.status, 403, JSON.stringify(stolen.body));
  assert.equal(stolen.body.error, 'invalid_grant');
});
