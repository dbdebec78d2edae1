import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { startServer, type TestServer } from './helpers/server.ts';
import { SoftAuthenticator } from './helpers/soft-authenticator.ts';
import { Jar, createApp, createUser, decodeEntities, exchangeCode, follow, formFields, go, scriptedLogin } from './helpers/login-flow.ts';

// WebAuthn as a second factor, on the wire: the Management API's settings of
// the webauthn-roaming and webauthn-platform factors (not in Auth0's published
// spec; the shapes are those Auth0 answers its SDKs), and the /u/mfa
// ceremony answered by a software authenticator, with its refusals (a wrong
// challenge, an unknown key, a replay, garbage) as pages rather than 500s.
// test/browser-mfa-webauthn.test.ts runs the same pages in Chromium.

let s: TestServer;
let app: { client_id: string; client_secret?: string };
const CB = 'https://webauthn-rp.example/callback';
const PW = 'Webauthn-mfa-pw-1!';
const REALM = 'http://auth0.com/oauth/grant-type/password-realm';
const enc = encodeURIComponent;

before(async () => {
  s = await startServer(['--rate-limit', '1000000']);
  app = await createApp(s, { name: 'WebAuthn RP', app_type: 'regular_web', callbacks: [CB], grant_types: ['authorization_code', 'password', REALM] });
});
after(async () => { await s?.close(); });

async function factors(on: Record<string, boolean>) {
  assert.equal((await s.api('PUT', '/guardian/policies', { body: ['all-applications'] })).status, 200);
  for (const [name, enabled] of Object.entries(on)) assert.equal((await s.api('PUT', `/guardian/factors/${name}`, { body: { enabled } })).status, 200);
}

const authorize = (extra: Record<string, string> = {}) =>
  `${s.baseUrl}/authorize?${new URLSearchParams({ client_id: app.client_id, redirect_uri: CB, response_type: 'code', scope: 'openid email', state: 'st', ...extra })}`;

interface KeyPage { jar: Jar; status: number; html: string; fields: Record<string, string>; options: any; ceremony: string }
const keyPage = (jar: Jar, status: number, html: string): KeyPage => {
  const form = /<form id="webauthn-form"[^>]*data-ceremony="(create|get)" data-options="([^"]*)"/.exec(html);
  assert.ok(form, `no WebAuthn form in ${html.slice(0, 400)}`);
  return { jar, status, html, fields: formFields(html), ceremony: form[1], options: JSON.parse(decodeEntities(form[2])) };
};

/** The password, then the MFA page, which must be a WebAuthn one. */
async function toKeyPage(email: string, jar = new Jar()): Promise<KeyPage> {
  const r = await scriptedLogin(s, authorize({ prompt: 'login' }), email, PW, jar);
  assert.match(r.url, /\/u\/mfa\?state=/, r.url);
  return keyPage(jar, r.res.status, await r.res.text());
}

const answer = (p: KeyPage, response: unknown, extra: Record<string, string> = {}) =>
  go(p.jar, `${s.baseUrl}/u/mfa/webauthn`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...p.fields, response: typeof response === 'string' ? response : JSON.stringify(response), ...extra }),
  });

/** A refused answer: the page again, with the refusal and a new ceremony of the same kind. */
async function refused(p: KeyPage, response: unknown, status = 401): Promise<KeyPage> {
  const r = await answer(p, response);
  const html = await r.text();
  assert.equal(r.status, status, html.slice(0, 600));
  assert.match(html, /role="alert" id="form-error">We could not verify your security key/);
  const next = keyPage(p.jar, r.status, html);
  assert.equal(next.ceremony, p.ceremony);
  assert.notEqual(next.options.challenge, p.options.challenge, 'a new challenge');
  return next;
}

/** Follows the way back to the engine (a redirect, or the recovery code page's link) to the ID token's claims. */
async function finished(jar: Jar, res: Response) {
  let next = res.headers.get('location');
  if (res.status === 200) next = decodeEntities(/<a href="([^"]+)" autofocus>I have safely recorded/.exec(await res.text())![1]);
  assert.ok(next, `status ${res.status}`);
  const done = await follow(jar, new URL(next, s.baseUrl).toString(), s.baseUrl);
  assert.ok(done.url.startsWith(CB), done.url);
  return decodeJwt((await exchangeCode(s, app, CB, done.url)).id_token);
}

async function logs(userId: string, type: string) {
  for (let i = 0; i < 50; i++) {
    const found = ((await s.api('GET', `/logs?q=user_id:"${enc(userId)}"&per_page=100`)).body as any[]).filter((l) => l.type === type);
    if (found.length) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
  return [];
}

// --- Management API ---------------------------------------------------------------

test('settings: Auth0\'s defaults, PUT answers what it was given, GET fills in the defaults', async () => {
  assert.deepEqual((await s.api('GET', '/guardian/factors/webauthn-roaming/settings')).body, { userVerification: 'discouraged', overrideRelyingParty: false });
  assert.deepEqual((await s.api('GET', '/guardian/factors/webauthn-platform/settings')).body, { overrideRelyingParty: false });
  assert.equal(await s.runtime.env.store.getTenantDoc('guardian.webauthn_roaming'), undefined, 'a read writes nothing');

  const put = await s.api('PUT', '/guardian/factors/webauthn-roaming/settings', { body: { userVerification: 'required' } });
  assert.equal(put.status, 200);
  assert.deepEqual(put.body, { userVerification: 'required' });
  assert.deepEqual((await s.api('GET', '/guardian/factors/webauthn-roaming/settings')).body, { userVerification: 'required', overrideRelyingParty: false });

  const rp = { overrideRelyingParty: true, relyingPartyIdentifier: 'localhost' };
  assert.deepEqual((await s.api('PUT', '/guardian/factors/webauthn-platform/settings', { body: rp })).body, rp);
  assert.deepEqual((await s.api('GET', '/guardian/factors/webauthn-platform/settings')).body, rp);

  // PUT replaces: what it leaves out is Auth0's default again.
  await s.api('PUT', '/guardian/factors/webauthn-roaming/settings', { body: {} });
  assert.deepEqual((await s.api('GET', '/guardian/factors/webauthn-roaming/settings')).body, { userVerification: 'discouraged', overrideRelyingParty: false });
  await s.api('PUT', '/guardian/factors/webauthn-platform/settings', { body: {} });
});

test('settings: bad bodies are 400s in Auth0\'s shape, and the scopes are the factors\' ones', async () => {
  const cases: [string, unknown, RegExp][] = [
    ['webauthn-roaming', { userVerification: 'sometimes' }, /userVerification/],
    ['webauthn-roaming', { overrideRelyingParty: 'yes' }, /must be boolean/],
    ['webauthn-roaming', { relyingPartyIdentifier: 12 }, /must be string/],
    ['webauthn-roaming', { colour: 'blue' }, /Additional properties not allowed: colour/],
    ['webauthn-platform', { userVerification: 'required' }, /Additional properties not allowed: userVerification/],
    ['webauthn-roaming', { overrideRelyingParty: true }, /relyingPartyIdentifier/],
    ['webauthn-roaming', { overrideRelyingParty: true, relyingPartyIdentifier: 'evil.example' }, /must be localhost or a domain/],
    ['webauthn-platform', ['required'], /must be object/],
  ];
  for (const [factor, body, message] of cases) {
    const r = await s.api('PUT', `/guardian/factors/${factor}/settings`, { body });
    assert.equal(r.status, 400, `${factor} ${JSON.stringify(body)}`);
    assert.equal(r.body.error, 'Bad Request');
    assert.match(r.body.message, message);
  }
  const readOnly = await s.token('read:guardian_factors');
  assert.equal((await s.api('GET', '/guardian/factors/webauthn-roaming/settings', { token: readOnly })).status, 200);
  const put = await s.api('PUT', '/guardian/factors/webauthn-roaming/settings', { token: readOnly, body: { userVerification: 'required' } });
  assert.equal(put.status, 403);
  assert.equal(put.body.message, 'Insufficient scope, expected any of: update:guardian_factors');
  assert.deepEqual((await s.api('GET', '/guardian/factors/webauthn-roaming/settings')).body, { userVerification: 'discouraged', overrideRelyingParty: false });
});

test('the factors turn on and off through PUT /guardian/factors/{name}', async () => {
  for (const name of ['webauthn-roaming', 'webauthn-platform']) {
    assert.deepEqual((await s.api('PUT', `/guardian/factors/${name}`, { body: { enabled: true } })).body, { enabled: true });
    const listed = (await s.api('GET', '/guardian/factors')).body.find((f: any) => f.name === name);
    assert.deepEqual(listed, { name, enabled: true, trial_expired: false });
    assert.deepEqual((await s.api('PUT', `/guardian/factors/${name}`, { body: { enabled: false } })).body, { enabled: false });
  }
});

// --- Universal Login ---------------------------------------------------------------

let alice: { email: string; userId: string; key: SoftAuthenticator; keyId: string };

test('a security key is enrolled at /u/mfa; a wrong challenge and garbage are refused pages; amr is mfa', async () => {
  await factors({ otp: false, 'webauthn-roaming': true, 'webauthn-platform': false, 'recovery-code': true });
  const email = 'key-alice@example.com';
  const userId = (await createUser(s, email, PW, { name: 'Alice Key' })).user_id;
  const key = new SoftAuthenticator(new URL(s.issuer).origin);
  let p = await toKeyPage(email);
  assert.equal(p.status, 200);
  assert.equal(p.ceremony, 'create');
  assert.equal(p.options.rp.id, 'localhost');
  assert.equal(p.options.user.name, email);
  assert.equal(p.options.user.displayName, 'Alice Key');
  assert.deepEqual(p.options.authenticatorSelection, { authenticatorAttachment: 'cross-platform', residentKey: 'discouraged', requireResidentKey: false, userVerification: 'discouraged' });
  assert.deepEqual(p.options.excludeCredentials, []);
  assert.equal(p.options.attestation, 'none');

  // Chromium runs only the page's own script: the CSP's nonce is the script's.
  const again = await go(p.jar, `${s.baseUrl}/u/mfa?state=${p.fields.state}`);
  const csp = again.headers.get('content-security-policy') ?? '';
  const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
  assert.ok(nonce, csp);
  const html = await again.text();
  assert.ok(html.includes(`<script nonce="${nonce}">`), 'the script carries the nonce');
  assert.equal(html.match(/<script/g)?.length, 1, 'one script');
  // A reload starts a new ceremony, which replaces the first one.
  const reloaded = keyPage(p.jar, again.status, html);
  assert.notEqual(reloaded.options.challenge, p.options.challenge);
  // The first page's ceremony went with it.
  p = await refused(p, key.create(p.options));
  assert.notEqual(p.options.challenge, reloaded.options.challenge);

  p = await refused(p, key.create(p.options, { challenge: 'bm90LXRoZS1jaGFsbGVuZ2U' }));
  p = await refused(p, key.create(p.options, { origin: 'https://evil.example' }));
  p = await refused(p, '{"id": 1');
  p = await refused(p, '');
  p = await refused(p, { id: 'x', response: {} });

  const created = key.create(p.options);
  const ok = await answer(p, created, { name: 'YubiKey 5' });
  assert.equal(ok.status, 200, 'the first enrollment shows a recovery code');
  const claims = await finished(p.jar, ok);
  assert.deepEqual(claims.amr, ['mfa']);
  assert.equal(claims.sub, userId);

  // The answer counted once: its challenge is spent.
  const replay = await answer(p, created);
  assert.equal(replay.status, 400);
  assert.match(await replay.text(), /no longer valid|not waiting for a second factor|expired/);

  const enrolled = await logs(userId, 'gd_enrollment_complete');
  assert.ok(enrolled.some((l) => l.description === 'Guardian - Enrollment complete (webauthn-roaming)'), JSON.stringify(enrolled));
  assert.ok((await logs(userId, 'gd_auth_failed')).length >= 1);
  alice = { email, userId, key, keyId: created.id };
});

test('the Management API shows the key as Auth0 does, under authentication methods and enrollments', async () => {
  const methods = (await s.api('GET', `/users/${enc(alice.userId)}/authentication-methods`)).body as any[];
  const key = methods.find((m) => m.type === 'webauthn-roaming');
  assert.ok(key, JSON.stringify(methods));
  assert.match(key.id, /^webauthn-roaming\|dev_[A-Za-z0-9]{16}$/);
  assert.equal(key.name, 'YubiKey 5');
  assert.equal(key.key_id, alice.keyId);
  assert.match(key.public_key, /^[A-Za-z0-9+/]+=*$/);
  assert.equal(key.relying_party_identifier, 'localhost');
  assert.equal(key.identity_user_id, alice.userId.split('|')[1]);
  assert.equal(key.credential_device_type, 'multi_device');
  assert.equal(key.credential_backed_up, true);
  assert.equal(key.confirmed, true);
  assert.ok(!Number.isNaN(Date.parse(key.created_at)));
  assert.equal(key.counter, undefined, 'the signature counter is not answered');
  assert.deepEqual(methods.map((m) => m.type).sort(), ['password', 'recovery-code', 'webauthn-roaming']);

  const enrollments = (await s.api('GET', `/users/${enc(alice.userId)}/enrollments`)).body as any[];
  assert.deepEqual(enrollments, [{
    id: key.id.split('|')[1], status: 'confirmed', type: 'webauthn-roaming', name: 'YubiKey 5', auth_method: 'webauthn-roaming', enrolled_at: key.created_at,
  }]);
});

test('a later login is challenged by the key: an unknown key and a wrong challenge are refused, the key passes', async () => {
  let p = await toKeyPage(alice.email);
  assert.equal(p.ceremony, 'get');
  assert.equal(p.options.rpId, 'localhost');
  assert.deepEqual(p.options.allowCredentials, [{ type: 'public-key', id: alice.keyId, transports: ['internal', 'hybrid'] }]);
  assert.match(p.html, /Use a recovery code/, 'another method is offered');

  const stranger = new SoftAuthenticator(new URL(s.issuer).origin);
  stranger.create({ challenge: 'eA', rp: { id: 'localhost' }, user: { id: 'eA' } });
  p = await refused(p, stranger.get(p.options));
  p = await refused(p, alice.key.get(p.options, { challenge: 'bm90LXRoZS1jaGFsbGVuZ2U' }));

  const ok = await answer(p, alice.key.get(p.options));
  assert.equal(ok.status, 303);
  assert.deepEqual((await finished(p.jar, ok)).amr, ['mfa']);
  const used = (await s.api('GET', `/users/${enc(alice.userId)}/enrollments`)).body[0];
  assert.ok(used.last_auth, 'the enrollment shows its last use');
});

test('a signature counter that did not grow (a cloned key), an answer for another login, and one without a ceremony are refused', async () => {
  let p = await toKeyPage(alice.email);
  p = await refused(p, alice.key.get(p.options, { counter: 1 }));
  const other = await toKeyPage(alice.email);
  // The other login's page started its own ceremony; this one's answer does not fit it.
  const crossed = await answer({ ...other, fields: other.fields }, alice.key.get(p.options));
  assert.equal(crossed.status, 401);
  // A login whose ceremony was already answered has none to check against.
  const first = await answer(p, alice.key.get(p.options));
  assert.equal(first.status, 303);
  const none = await answer(p, alice.key.get(p.options));
  assert.equal(none.status, 400);
});

test('with several factors, "try another method" reaches the others; a deleted key is no longer asked for nor accepted', async () => {
  await factors({ otp: true, 'webauthn-roaming': true });
  const p = await toKeyPage(alice.email);
  assert.equal(p.ceremony, 'get');
  const choice = await go(p.jar, `${s.baseUrl}/u/mfa?${new URLSearchParams({ state: p.fields.state, factor: 'otp' })}`);
  // Alice has no app: the challenge is her key whatever the query asks for.
  assert.match(await choice.text(), /data-ceremony="get"/);

  const key = ((await s.api('GET', `/users/${enc(alice.userId)}/authentication-methods`)).body as any[]).find((m) => m.type === 'webauthn-roaming');
  assert.equal((await s.api('DELETE', `/users/${enc(alice.userId)}/authentication-methods/${enc(key.id)}`)).status, 204);
  // The page still open from before the delete: its answer finds no key.
  const stale = await answer(p, alice.key.get(p.options));
  assert.equal(stale.status, 400, 'a challenge to a key the user no longer has is void');
  assert.match(await stale.text(), /no longer valid/);

  const r = await scriptedLogin(s, authorize({ prompt: 'login' }), alice.email, PW);
  const html = await r.res.text();
  assert.match(html, /Choose how you want to verify your identity/, 'with no key left, the user enrolls again');
  assert.match(html, /Security key/);
  assert.match(html, /Authenticator app/);
  await factors({ otp: false });
});

test('device biometrics (webauthn-platform) ask for user verification and a platform authenticator', async () => {
  await factors({ 'webauthn-roaming': false, 'webauthn-platform': true, 'recovery-code': false });
  const email = 'key-bob@example.com';
  const userId = (await createUser(s, email, PW)).user_id;
  const device = new SoftAuthenticator(new URL(s.issuer).origin);
  const p = await toKeyPage(email);
  assert.deepEqual(p.options.authenticatorSelection, { authenticatorAttachment: 'platform', residentKey: 'discouraged', requireResidentKey: false, userVerification: 'required' });
  const created = device.create(p.options);
  // What the browser says of its transports goes back to it in later options: only strings are kept.
  const ok = await answer(p, { ...created, response: { ...created.response, transports: ['internal', 5, { x: '<' }] } });
  assert.equal(ok.status, 303, 'no recovery code when the tenant offers none');
  assert.deepEqual((await finished(p.jar, ok)).amr, ['mfa']);
  const methods = (await s.api('GET', `/users/${enc(userId)}/authentication-methods`)).body as any[];
  assert.deepEqual(methods.map((m) => [m.type, m.name]).sort(), [['password', undefined], ['webauthn-platform', 'This device']]);
  assert.deepEqual((await s.api('GET', `/users/${enc(userId)}/enrollments`)).body.map((e: any) => e.auth_method), ['webauthn-platform']);

  const again = await toKeyPage(email);
  assert.equal(again.options.userVerification, 'required');
  assert.deepEqual(again.options.allowCredentials, [{ type: 'public-key', id: created.id, transports: ['internal'] }]);
  const second = await answer(again, device.get(again.options));
  assert.equal(second.status, 303);
  assert.deepEqual((await finished(again.jar, second)).amr, ['mfa']);
  await factors({ 'webauthn-platform': false, 'recovery-code': true });
});

// --- the password grant -----------------------------------------------------------

const password = async (email: string) => {
  const r = await fetch(`${s.baseUrl}/oauth/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: REALM, realm: 'Username-Password-Authentication', username: email, password: PW, client_id: app.client_id, client_secret: app.client_secret!, scope: 'openid' }),
  });
  return { status: r.status, body: await r.json() as any };
};

test('the password grant cannot use a security key: refused when only WebAuthn is on, and no other factor enrolls over one', async () => {
  await factors({ otp: false, 'webauthn-roaming': true });
  const email = 'key-carol@example.com';
  await createUser(s, email, PW);
  const only = await password(email);
  assert.equal(only.status, 403);
  assert.equal(only.body.error, 'access_denied');
  assert.match(only.body.error_description, /MFA API/);

  // Carol enrolls a key at Universal Login; the password grant then offers the app, which she cannot add with a password alone.
  const p = await toKeyPage(email);
  const ok = await answer(p, new SoftAuthenticator(new URL(s.issuer).origin).create(p.options));
  assert.ok(ok.status === 200 || ok.status === 303);
  await factors({ otp: true });
  const required = await password(email);
  assert.equal(required.status, 403);
  assert.equal(required.body.error, 'mfa_required');
  assert.deepEqual(required.body.mfa_requirements, { enroll: [{ type: 'otp' }] });
  const associate = await fetch(`${s.baseUrl}/mfa/associate`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${required.body.mfa_token}` },
    body: JSON.stringify({ authenticator_types: ['otp'] }),
  });
  assert.equal(associate.status, 403);
  assert.deepEqual(await associate.json(), { error: 'access_denied', error_description: 'User is already enrolled.' });
  await factors({ otp: false, 'webauthn-roaming': false });
});
