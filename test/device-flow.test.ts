import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { calculateJwkThumbprint, createRemoteJWKSet, decodeJwt, exportJWK, jwtVerify } from 'jose';
import { Secret, TOTP } from 'otpauth';
import { startServer, type TestServer } from './helpers/server.ts';
import { Jar, createApp, createUser, follow, formFields, go } from './helpers/login-flow.ts';
import { managementClient } from './helpers/sdk.ts';

// The Device Authorization Flow as Auth0 runs it: a native application (made
// with the Management API) asks /oauth/device/code for a code through
// openid-client and polls /oauth/token; a person enters the code at /activate,
// confirms it, logs in at Universal Login, and the device gets its tokens.
// The person's side is driven here as a browser without JavaScript would:
// GETs and form POSTs with a cookie jar.

const GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const API = 'https://tv-api.example/';
const PW = 'Device-pw-123!';
const USER_CODE = /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/;

let s: TestServer;
let tv: { client_id: string; [k: string]: any };
let config: client.Configuration;
let aliceId: string;

before(async () => {
  s = await startServer();
  tv = await createApp(s, { name: 'Living Room TV', app_type: 'native', grant_types: [GRANT, 'refresh_token'] });
  const rs = await s.api('POST', '/resource-servers', { body: { name: 'TV API', identifier: API, scopes: [{ value: 'read:shows' }, { value: 'write:shows' }], allow_offline_access: true } });
  assert.equal(rs.status, 201, JSON.stringify(rs.body));
  aliceId = (await createUser(s, 'alice@example.com', PW, { name: 'Alice Liddell', email_verified: true })).user_id;
  config = await client.discovery(new URL(s.baseUrl), tv.client_id, undefined, client.None());
});
after(async () => { await s?.close(); });

/** A poll of the token endpoint as a device without an SDK makes it. */
async function poll(deviceCode: unknown, clientId: unknown = tv.client_id) {
  const r = await fetch(`${s.baseUrl}/oauth/token`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: GRANT, device_code: deviceCode, client_id: clientId }),
  });
  return { status: r.status, body: await r.json() as any };
}

const post = (jar: Jar, path: string, fields: Record<string, string>) =>
  go(jar, `${s.baseUrl}${path}`, { method: 'POST', body: new URLSearchParams(fields), headers: { 'content-type': 'application/x-www-form-urlencoded' } });

/** The /activate form (prefilled when the URL names the code), then the code posted: the confirmation page, or the form again. */
async function enterCode(jar: Jar, userCode: string, url = `${s.baseUrl}/activate`) {
  const form = await go(jar, url);
  assert.equal(form.status, 200);
  const html = await form.text();
  const posted = await post(jar, '/activate', { xsrf: formFields(html).xsrf, user_code: userCode });
  return { form: html, status: posted.status, html: await posted.text() };
}

/** Confirms (or cancels) on the confirmation page; returns where the browser lands, after the login when one is asked. */
async function decide(jar: Jar, confirmation: string, choice: 'confirm' | 'abort') {
  const fields = formFields(confirmation);
  const r = await post(jar, '/activate', { xsrf: fields.xsrf, user_code: fields.user_code, [choice]: 'yes' });
  if (r.status !== 303) return { res: r, url: `${s.baseUrl}/activate` };
  return follow(jar, new URL(r.headers.get('location')!, s.baseUrl).href, s.baseUrl);
}

/** The login page a confirmation led to, filled in; returns the page the engine ends on. */
async function logIn(jar: Jar, loginPage: Response) {
  const fields = formFields(await loginPage.text());
  const r = await post(jar, '/u/login', { ...fields, username: 'alice@example.com', password: PW });
  assert.equal(r.status, 303, await r.clone().text());
  return follow(jar, new URL(r.headers.get('location')!, s.baseUrl).href, s.baseUrl);
}

/** The whole person's side: code, confirmation, login. */
async function approve(userCode: string, jar = new Jar()) {
  const entered = await enterCode(jar, userCode);
  assert.equal(entered.status, 200, entered.html);
  const login = await decide(jar, entered.html, 'confirm');
  assert.match(login.url, /\/u\/login\?state=/);
  const done = await logIn(jar, login.res);
  return { jar, res: done.res, url: done.url, html: await done.res.text() };
}

const logsOf = async (type: string) => (await s.api('GET', `/logs?q=type:${type}&per_page=100`)).body as any[];

function assertAuth0Error(r: { status: number; body: any }, status: number, error: string, description?: string | RegExp) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.deepEqual(Object.keys(r.body).sort(), ['error', 'error_description'], JSON.stringify(r.body));
  assert.equal(r.body.error, error);
  assert.equal(typeof r.body.error_description, 'string');
  if (typeof description === 'string') assert.equal(r.body.error_description, description);
  else if (description) assert.match(r.body.error_description, description);
}

test('the Management API makes a native application with the device code grant, and discovery advertises the endpoint', async () => {
  assert.equal(tv.app_type, 'native');
  assert.deepEqual(tv.grant_types, [GRANT, 'refresh_token']);
  assert.equal(tv.token_endpoint_auth_method, 'none');
  const meta = config.serverMetadata();
  assert.equal(meta.device_authorization_endpoint, `${s.baseUrl}/oauth/device/code`);
  assert.ok(meta.grant_types_supported?.includes(GRANT));
});

test('openid-client: code, pending, slow_down, the person approves at /activate, then ID, access and refresh tokens with Auth0 claims', async () => {
  assert.equal((await s.api('PATCH', '/branding', { body: { logo_url: 'https://tv.example/logo.png', colors: { primary: '#0a7c59' } } })).status, 200);
  try {
    const da = await client.initiateDeviceAuthorization(config, { scope: 'openid profile email offline_access read:shows', audience: API });
    assert.match(da.user_code, USER_CODE);
    assert.equal(da.verification_uri, `${s.baseUrl}/activate`);
    assert.equal(da.verification_uri_complete, `${s.baseUrl}/activate?user_code=${da.user_code}`);
    assert.equal(da.expires_in, 900);
    assert.equal(da.interval, 5);
    assert.equal(typeof da.device_code, 'string');

    // Before the person acts: pending, and a poll right after the last one is told to slow down.
    assertAuth0Error(await poll(da.device_code), 403, 'authorization_pending', 'User has yet to authorize device code.');
    assertAuth0Error(await poll(da.device_code), 429, 'slow_down', 'You are polling faster than the specified interval of 5 seconds.');

    // The complete URI shows the form with the code filled in, branded; the person submits it and confirms.
    const jar = new Jar();
    const entered = await enterCode(jar, da.user_code, da.verification_uri_complete!);
    assert.match(entered.form, /<h1>Device Activation<\/h1>/);
    assert.match(entered.form, new RegExp(`name="user_code"[^>]*value="${da.user_code}"`));
    assert.match(entered.form, /<img src="https:&#47;&#47;tv\.example&#47;logo\.png"/);
    assert.match(entered.form, /button\{background:#0a7c59;/);
    assert.equal(entered.status, 200);
    assert.match(entered.html, /<h1>Device Confirmation<\/h1>/);
    assert.match(entered.html, /Living Room TV/);
    assert.match(entered.html, new RegExp(`<code[^>]*>${da.user_code}</code>`));
    const login = await decide(jar, entered.html, 'confirm');
    assert.match(login.url, /\/u\/login\?state=/);
    assert.match(await login.res.clone().text(), /Living Room TV/);
    const done = await logIn(jar, login.res);
    assert.match(done.url, /\/activate\//);
    assert.equal(done.res.status, 200);
    const success = await done.res.text();
    assert.match(success, /<h1>Congratulations, you&#39;re all set!<\/h1>/);
    assert.match(success, /Your device is now connected\./);

    const tokens = await client.pollDeviceAuthorizationGrant(config, da);
    const id = tokens.claims()!;
    assert.equal(id.iss, `${s.baseUrl}/`);
    assert.equal(id.sub, aliceId);
    assert.equal(id.aud, tv.client_id);
    assert.equal(id.email, 'alice@example.com');
    assert.equal(id.name, 'Alice Liddell');
    assert.equal(typeof id.sid, 'string');

    const { payload: at, protectedHeader } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(`${s.baseUrl}/.well-known/jwks.json`)), {
      issuer: `${s.baseUrl}/`, audience: API,
    });
    assert.equal(protectedHeader.alg, 'RS256');
    assert.equal(protectedHeader.typ, 'JWT');
    assert.equal(at.sub, aliceId);
    assert.equal(at.azp, tv.client_id);
    assert.deepEqual(at.aud, [API, `${s.baseUrl}/userinfo`]);
    assert.deepEqual(String(at.scope).split(' ').sort(), ['email', 'offline_access', 'openid', 'profile', 'read:shows']);
    assert.equal(at.client_id, undefined);
    assert.equal(tokens.scope, at.scope);
    assert.equal(tokens.token_type, 'bearer');
    assert.ok(tokens.refresh_token, 'offline_access on an API that allows it gives a refresh token');

    const info = await client.fetchUserInfo(config, tokens.access_token, aliceId);
    assert.equal(info.email, 'alice@example.com');
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    assert.equal(decodeJwt(refreshed.access_token).sub, aliceId);
    assert.equal(decodeJwt(refreshed.id_token!).sub, aliceId);

    // The tenant log: the exchange (sede, named by user), never the polls that were only pending.
    const sede = (await logsOf('sede')).find((l) => l.client_id === tv.client_id);
    assert.ok(sede, 'sede recorded');
    assert.equal(sede.user_id, aliceId);
    assert.equal(sede.client_name, 'Living Room TV');
    assert.equal((await logsOf('fede')).filter((l) => l.client_id === tv.client_id && /pending|polling/i.test(l.description)).length, 0);
    assert.ok((await logsOf('s')).some((l) => l.user_id === aliceId && l.client_id === tv.client_id), 'the login is recorded');

    // The device code is spent.
    assertAuth0Error(await poll(da.device_code), 403, 'invalid_grant');
  } finally {
    await s.api('PATCH', '/branding', { body: { logo_url: null, colors: null } });
  }
});

test('a browser with a session only confirms; codes may be typed in lower case and without the dash', async () => {
  const first = await client.initiateDeviceAuthorization(config, { scope: 'openid' });
  const { jar } = await approve(first.user_code);
  const second = await client.initiateDeviceAuthorization(config, { scope: 'openid email', audience: API });
  const entered = await enterCode(jar, second.user_code.replace('-', '').toLowerCase());
  assert.equal(entered.status, 200);
  assert.match(entered.html, new RegExp(`<code[^>]*>${second.user_code}</code>`), 'the page shows the code as the device does');
  const done = await decide(jar, entered.html, 'confirm');
  assert.equal(done.res.status, 200);
  assert.match(await done.res.text(), /Congratulations/);
  const r = await poll(second.device_code);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(decodeJwt(r.body.id_token).sub, aliceId);
  assert.equal(r.body.refresh_token, undefined, 'no offline_access, no refresh token');
  assert.equal(decodeJwt(r.body.access_token).aud?.[0], API);
  // Without an audience the access token is the engine's opaque one for /userinfo.
  const r1 = await poll(first.device_code);
  assert.equal(r1.status, 200);
  assert.equal((await fetch(`${s.baseUrl}/userinfo`, { headers: { authorization: `Bearer ${r1.body.access_token}` } })).status, 200);
});

test('the person cancels on the confirmation page: the device gets access_denied, once', async () => {
  const da = await client.initiateDeviceAuthorization(config, { scope: 'openid' });
  const jar = new Jar();
  const entered = await enterCode(jar, da.user_code);
  const cancelled = await decide(jar, entered.html, 'abort');
  assert.equal(cancelled.res.status, 200);
  const html = await cancelled.res.text();
  assert.match(html, /<h1>Activation Denied<\/h1>/);
  assert.match(html, /You cancelled the request/);
  assertAuth0Error(await poll(da.device_code), 403, 'access_denied', 'User cancelled the confirmation prompt or consent page.');
  // openid-client stops polling on it.
  await assert.rejects(client.pollDeviceAuthorizationGrant(config, { ...da, interval: 0 } as any), (e: any) => e.error === 'invalid_grant' || e.error === 'access_denied');
  // The code cannot be entered again.
  const again = await enterCode(new Jar(), da.user_code);
  assert.equal(again.status, 400);
  assert.match(again.html, /already been used/);
  assert.ok((await logsOf('fdecc')).some((l) => l.client_id === tv.client_id && l.client_name === 'Living Room TV'), 'fdecc recorded');
});

test('a wrong, empty or forged code on /activate shows the form again with the error, never a 500', async () => {
  const jar = new Jar();
  const wrong = await enterCode(jar, 'BCDF-GHJK');
  assert.equal(wrong.status, 400);
  assert.match(wrong.html, /role="alert"[^>]*>The code you entered is invalid/);
  assert.match(wrong.html, /name="user_code"[^>]*value="BCDF-GHJK"/);
  assert.ok(formFields(wrong.html).xsrf, 'a fresh form to try again');
  const empty = await enterCode(jar, '');
  assert.equal(empty.status, 400);
  assert.match(empty.html, /Please enter the code displayed on your device/);
  // The engine's own CSRF check: the form's token must match the browser's session.
  const page = await go(jar, `${s.baseUrl}/activate`);
  const xsrf = formFields(await page.text()).xsrf;
  const forged = await post(jar, '/activate', { xsrf: `${xsrf}x`, user_code: 'BCDF-GHJK' });
  assert.equal(forged.status, 400);
  assert.match(await forged.text(), /Something went wrong/);
  // A browser without the engine's session (none, or an expired one) starts again, its code kept.
  const noSession = await post(new Jar(), '/activate', { xsrf, user_code: 'BCDF-GHJK' });
  assert.equal(noSession.status, 303);
  assert.equal(noSession.headers.get('location'), '/activate?user_code=BCDF-GHJK');
  // An unknown interaction to resume, and odd inputs.
  assert.ok((await go(jar, `${s.baseUrl}/activate/not-an-interaction`)).status < 500);
  assert.equal((await go(jar, `${s.baseUrl}/activate?user_code=${'A'.repeat(5000)}`)).status, 200);
  const dup = await go(jar, `${s.baseUrl}/activate?user_code=A&user_code=B`);
  assert.ok(dup.status < 500, String(dup.status));
  const json = await go(jar, `${s.baseUrl}/activate`, { method: 'POST', body: '{"user_code":{"x":1}}', headers: { 'content-type': 'application/json' } });
  assert.ok(json.status < 500, String(json.status));
  assert.ok((await logsOf('fdeac')).some((l) => /invalid/.test(l.description)), 'fdeac recorded');
});

test('applications that are not native and public, or do not list the grant, get unauthorized_client', async () => {
  const web = await createApp(s, { name: 'Web', app_type: 'regular_web', grant_types: [GRANT, 'authorization_code'], callbacks: ['https://web.example/cb'] });
  const r = await fetch(`${s.baseUrl}/oauth/device/code`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: web.client_id, client_secret: web.client_secret!, scope: 'openid' }),
  });
  assertAuth0Error({ status: r.status, body: await r.json() }, 403, 'unauthorized_client', `Grant type '${GRANT}' not allowed for the client.`);
  // A wrong secret is refused before anything about the grant is said.
  const bad = await fetch(`${s.baseUrl}/oauth/device/code`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_id: web.client_id, client_secret: 'nope' }),
  });
  assertAuth0Error({ status: bad.status, body: await bad.json() }, 401, 'access_denied', 'Unauthorized');

  const nativeNoGrant = await createApp(s, { name: 'No grant', app_type: 'native' });
  const other = await client.discovery(new URL(s.baseUrl), nativeNoGrant.client_id, undefined, client.None());
  await assert.rejects(client.initiateDeviceAuthorization(other, { scope: 'openid' }), (e: any) => {
    assert.equal(e.error, 'unauthorized_client');
    assert.equal(e.status, 403);
    return true;
  });
  // The token endpoint refuses the grant to it too.
  assertAuth0Error(await poll('whatever', nativeNoGrant.client_id), 403, 'unauthorized_client');
  assert.ok((await logsOf('fdeaz')).some((l) => l.client_id === nativeNoGrant.client_id), 'fdeaz recorded');

  // Becoming native with the grant is all it takes.
  const patched = await s.api('PATCH', `/clients/${nativeNoGrant.client_id}`, { body: { grant_types: [GRANT] } });
  assert.equal(patched.status, 200);
  const da = await fetch(`${s.baseUrl}/oauth/device/code`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_id: nativeNoGrant.client_id }) });
  assert.equal(da.status, 200);
  assert.deepEqual(Object.keys(await da.json() as any).sort(), ['device_code', 'expires_in', 'interval', 'user_code', 'verification_uri', 'verification_uri_complete']);
});

test('an expired code: the page says so, and the device gets expired_token once, then invalid_grant', async () => {
  const da = await client.initiateDeviceAuthorization(config, { scope: 'openid' });
  const store = s.runtime.env.store;
  const row = (await store.findPayload('DeviceCode', 'id', da.device_code))!;
  const past = Math.floor(Date.now() / 1000) - 1;
  await store.upsertPayload({ ...row, payload: JSON.stringify({ ...JSON.parse(row.payload), exp: past }), expires_at: past });
  const entered = await enterCode(new Jar(), da.user_code);
  assert.equal(entered.status, 400);
  assert.match(entered.html, /has expired/);
  assertAuth0Error(await poll(da.device_code), 403, 'expired_token');
  assertAuth0Error(await poll(da.device_code), 403, 'invalid_grant');
  await assert.rejects(client.pollDeviceAuthorizationGrant(config, { ...da, interval: 0 } as any), (e: any) => e.error === 'invalid_grant');
});

test('bad input gets {error, error_description} with a 4xx, never a 500', async () => {
  const device = (body: string, type = 'application/x-www-form-urlencoded') =>
    fetch(`${s.baseUrl}/oauth/device/code`, { method: 'POST', headers: { 'content-type': type }, body }).then(async (r) => ({ status: r.status, body: await r.json() as any }));
  assertAuth0Error(await device(''), 400, 'invalid_request', 'Missing required parameter: client_id');
  assertAuth0Error(await device('scope=openid'), 400, 'invalid_request', 'Missing required parameter: client_id');
  assertAuth0Error(await device('{"client_id":', 'application/json'), 400, 'invalid_request');
  assertAuth0Error(await device('[1,2]', 'application/json'), 400, 'invalid_request');
  assertAuth0Error(await device(JSON.stringify({ client_id: 'no-such-client' }), 'application/json'), 401, 'access_denied');
  assertAuth0Error(await device(JSON.stringify({ client_id: { a: 1 } }), 'application/json'), 401, 'access_denied');
  assertAuth0Error(await device(new URLSearchParams({ client_id: tv.client_id, audience: 'https://nowhere.example/' }).toString()), 403, 'access_denied', /nowhere/);
  assertAuth0Error(await device(new URLSearchParams({ client_id: tv.client_id, scope: 'openid\u0001' }).toString()), 400, 'invalid_scope');

  assertAuth0Error(await poll(undefined), 400, 'invalid_request');
  assertAuth0Error(await poll('no-such-code'), 403, 'invalid_grant');
  assertAuth0Error(await poll({ not: 'a string' }), 403, 'invalid_grant');
  assertAuth0Error(await poll('no-such-code', null), 400, 'invalid_request');
  // Another application's code is not its to poll.
  const da = await client.initiateDeviceAuthorization(config, { scope: 'openid' });
  const other = await createApp(s, { name: 'Other TV', app_type: 'native', grant_types: [GRANT] });
  assertAuth0Error(await poll(da.device_code, other.client_id), 403, 'invalid_grant');
  assertAuth0Error(await poll(da.device_code), 403, 'authorization_pending');
});

test('DPoP: for an API with DPoP the device\'s tokens are bound to its key (openid-client retries with the server nonce)', async () => {
  const api = 'https://tv-dpop.example/';
  assert.equal((await s.api('POST', '/resource-servers', { body: { name: 'TV DPoP', identifier: api, scopes: [{ value: 'watch' }], allow_offline_access: true, proof_of_possession: { mechanism: 'dpop', required: false } } })).status, 201);
  const da = await client.initiateDeviceAuthorization(config, { scope: 'openid offline_access', audience: api });
  assert.match((await approve(da.user_code)).html, /Congratulations/);
  const keys = await client.randomDPoPKeyPair('ES256');
  // Interval 0: the first poll answers use_dpop_nonce, which does not count towards slow_down; the retry gets the tokens.
  const started = Date.now();
  const tokens = await client.pollDeviceAuthorizationGrant(config, { ...da, interval: 0 } as any, undefined, { DPoP: client.getDPoPHandle(config, keys) });
  assert.ok(Date.now() - started < 4000, 'no slow_down (and its five more seconds) for the retry');
  assert.equal(tokens.token_type, 'dpop');
  assert.equal((decodeJwt(tokens.access_token).cnf as any)?.jkt, await calculateJwkThumbprint(await exportJWK(keys.publicKey)));
  assert.ok(tokens.refresh_token);
});

test('the login runs the post-login actions (protocol oauth2-device-code) and their claims reach the device\'s tokens', async () => {
  const mc = managementClient(s);
  const a: any = await mc.actions.create({
    name: 'device-claims', supported_triggers: [{ id: 'post-login', version: 'v3' }],
    code: `exports.onExecutePostLogin = async (event, api) => {
      api.idToken.setCustomClaim('https://tv.example/protocol', event.transaction.protocol);
      api.accessToken.setCustomClaim('https://tv.example/client', event.client.name);
    };`,
  } as any);
  await mc.actions.deploy(a.id);
  await mc.actions.triggers.bindings.updateMany('post-login', { bindings: [{ ref: { type: 'action_id', value: a.id } }] } as any);
  try {
    const da = await client.initiateDeviceAuthorization(config, { scope: 'openid offline_access', audience: API });
    const done = await approve(da.user_code);
    assert.match(done.html, /Congratulations/);
    const r = await poll(da.device_code);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(decodeJwt(r.body.id_token)['https://tv.example/protocol'], 'oauth2-device-code');
    assert.equal(decodeJwt(r.body.access_token)['https://tv.example/client'], 'Living Room TV');
    const sede = (await logsOf('sede')).find((l) => l.client_id === tv.client_id && l.details?.actions);
    assert.ok(sede?.details.actions.executions.length, 'the exchange names the execution');
  } finally {
    await mc.actions.triggers.bindings.updateMany('post-login', { bindings: [] } as any);
  }
});

test('a post-login action that denies ends the activation: denied page, access_denied with its reason', async () => {
  const mc = managementClient(s);
  const a: any = await mc.actions.create({
    name: 'no-tv', supported_triggers: [{ id: 'post-login', version: 'v3' }],
    code: `exports.onExecutePostLogin = async (event, api) => { api.access.deny('No TV on school nights'); };`,
  } as any);
  await mc.actions.deploy(a.id);
  await mc.actions.triggers.bindings.updateMany('post-login', { bindings: [{ ref: { type: 'action_id', value: a.id } }] } as any);
  try {
    const da = await client.initiateDeviceAuthorization(config, { scope: 'openid' });
    const done = await approve(da.user_code);
    assert.match(done.html, /<h1>Activation Denied<\/h1>/);
    assert.doesNotMatch(done.html, /You cancelled/);
    assertAuth0Error(await poll(da.device_code), 403, 'access_denied', 'No TV on school nights');
  } finally {
    await mc.actions.triggers.bindings.updateMany('post-login', { bindings: [] } as any);
  }
});

test('with a Guardian policy the login asks for the second factor before the device is approved, and the ID token says so', async () => {
  assert.equal((await s.api('PUT', '/guardian/factors/otp', { body: { enabled: true } })).status, 200);
  assert.equal((await s.api('PUT', '/guardian/policies', { body: ['all-applications'] })).status, 200);
  try {
    const da = await client.initiateDeviceAuthorization(config, { scope: 'openid' });
    const mfa = await approve(da.user_code);
    assert.match(mfa.url, /\/u\/mfa\?state=/);
    assertAuth0Error(await poll(da.device_code), 403, 'authorization_pending');
    // Enrolling an authenticator app there finishes the login, and the activation.
    const secret = /<code id="otp-secret"[^>]*>([^<]+)<\/code>/.exec(mfa.html)![1].replace(/\s/g, '');
    const code = new TOTP({ secret: Secret.fromBase32(secret) }).generate();
    const enrolled = await post(mfa.jar, '/u/mfa', { ...formFields(mfa.html), code });
    // Straight back to the engine, or by the link under a recovery code shown once.
    const next = enrolled.status === 303 ? enrolled.headers.get('location')! : /<a href="([^"]+)" autofocus>/.exec(await enrolled.text())![1].replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)));
    const done = await follow(mfa.jar, new URL(next, s.baseUrl).href, s.baseUrl);
    assert.match(await done.res.text(), /Congratulations/);
    await new Promise((r) => setTimeout(r, 4100));
    const r = await poll(da.device_code);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(decodeJwt(r.body.id_token).amr, ['mfa']);
  } finally {
    await s.api('PUT', '/guardian/policies', { body: [] });
    await s.api('PUT', '/guardian/factors/otp', { body: { enabled: false } });
  }
});

test('the tenant\'s device_flow settings shape the user codes: digits and a mask of their own, entered and confirmed as shown', async () => {
  assert.equal((await s.api('PATCH', '/tenants/settings', { body: { device_flow: { charset: 'digits', mask: '*** *** ***' } } })).status, 200);
  try {
    const da = await client.initiateDeviceAuthorization(config, { scope: 'openid' });
    assert.match(da.user_code, /^\d{3} \d{3} \d{3}$/);
    // Typed without the spaces, the code is found and shown as the device shows it.
    const jar = new Jar();
    const entered = await enterCode(jar, da.user_code.replace(/ /g, ''));
    assert.match(entered.html, new RegExp(`<code[^>]*>${da.user_code}</code>`));
    const done = await logIn(jar, (await decide(jar, entered.html, 'confirm')).res);
    assert.match(await done.res.text(), /Congratulations/);
    assert.equal((await poll(da.device_code)).status, 200);
  } finally {
    assert.equal((await s.api('PATCH', '/tenants/settings', { body: { device_flow: { charset: 'base20', mask: '****-****' } } })).status, 200);
  }
  assert.match((await client.initiateDeviceAuthorization(config, { scope: 'openid' })).user_code, USER_CODE);
  // Masks that cannot format a code are refused, and change nothing.
  for (const [mask, message] of [['ABCD-EFGH', /may only contain/], ['***-**', /at least 6/], [7, /mask/]] as const) {
    const r = await s.api('PATCH', '/tenants/settings', { body: { device_flow: { mask } } });
    assert.equal(r.status, 400, String(mask));
    assert.equal(r.body.errorCode, 'invalid_body');
    assert.match(r.body.message, message);
  }
  assert.deepEqual((await s.api('GET', '/tenants/settings')).body.device_flow, { charset: 'base20', mask: '****-****' });
});
