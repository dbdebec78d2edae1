import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { AuthClient, PasskeyGetTokenError } from '@auth0/auth0-auth-js';
import { decodeJwt } from 'jose';
import { startServer, type TestServer } from './helpers/server.ts';
import { SoftAuthenticator } from './helpers/soft-authenticator.ts';

// Auth0's native passkey API (/passkey/register, /passkey/challenge and the
// webauthn grant) driven by @auth0/auth0-auth-js's authClient.passkey, with a
// software authenticator in place of the phone's.

const WEBAUTHN = 'urn:okta:params:oauth:grant-type:webauthn';
const REALM = 'Passkey-DB';
const FINGERPRINT = 'AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89';
let s: TestServer;
type App = { client_id: string; client_secret?: string };
let app: App;
let noGrant: App;
let spa: App;
let authn: SoftAuthenticator;

async function create(path: string, body: Record<string, unknown>) {
  const r = await s.api('POST', path, { body });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

before(async () => {
  s = await startServer(['--rate-limit', '1000000']);
  authn = new SoftAuthenticator(new URL(s.issuer).origin);
  app = await create('/clients', {
    name: 'Passkey app', app_type: 'native', grant_types: ['authorization_code', 'refresh_token', WEBAUTHN],
    token_endpoint_auth_method: 'client_secret_post', mobile: { android: { app_package_name: 'com.example.app', sha256_cert_fingerprints: [FINGERPRINT] } },
  });
  noGrant = await create('/clients', { name: 'No passkey grant', app_type: 'regular_web', grant_types: ['authorization_code'] });
  spa = await create('/clients', {
    name: 'Passkey SPA', app_type: 'spa', token_endpoint_auth_method: 'none', web_origins: ['https://localhost:3000'], grant_types: ['authorization_code', WEBAUTHN],
  });
  const all = [app.client_id, noGrant.client_id, spa.client_id];
  await create('/connections', {
    name: REALM, strategy: 'auth0', enabled_clients: all,
    options: { authentication_methods: { passkey: { enabled: true }, password: { enabled: true } }, passkey_options: { challenge_ui: 'both', local_enrollment_enabled: true } },
  });
  await create('/connections', { name: 'No-Passkeys', strategy: 'auth0', enabled_clients: all, options: { authentication_methods: { passkey: { enabled: false } } } });
});
after(async () => { await s?.close(); });

const auth = (c: App = app) => new AuthClient({ domain: s.domain, clientId: c.client_id, ...(c.client_secret ? { clientSecret: c.client_secret } : {}) });

/** A new user signed up with a passkey (the newest one of `authn`), and their tokens. */
async function signUp(email: string, extra: Record<string, unknown> = {}) {
  const ch = await auth().passkey.register({ email, name: `Name of ${email}`, realm: REALM, ...extra });
  const credential = authn.create(ch.authnParamsPublicKey);
  const tokens = await auth().passkey.getTokenByPasskey({ authSession: ch.authSession, credential, realm: REALM, scope: 'openid profile email offline_access' });
  return { ch, credential, tokens, sub: String(decodeJwt(tokens.idToken!).sub) };
}

/** What the webauthn grant answers, posted as `init` says (JSON by default). */
async function grant(body: Record<string, unknown>, form = false) {
  const r = await fetch(`${s.baseUrl}/oauth/token`, form
    ? { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body as Record<string, string>) }
    : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, body: await r.json() as any };
}
const post = async (path: string, body: string | Record<string, unknown>, headers: Record<string, string> = {}) => {
  const r = await fetch(`${s.baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: r.status, body: await r.json() as any, headers: r.headers };
};
const withSecret = (c: App = app) => ({ client_id: c.client_id, ...(c.client_secret ? { client_secret: c.client_secret } : {}) });

async function refusal(p: Promise<unknown>): Promise<{ status?: number; error?: string; description?: string }> {
  try { await p; } catch (e: any) { return { status: e.statusCode, error: e.cause?.error, description: e.cause?.error_description }; }
  assert.fail('expected a refusal');
}

test('signup with a passkey, then a login with it: the same user, with the ID token claims of the profile', async () => {
  const email = 'ada@example.com';
  const { ch, tokens, sub } = await signUp(email, { givenName: 'Ada', userMetadata: { plan: 'pro' } });
  const pk = ch.authnParamsPublicKey;
  assert.equal(pk.rp.id, 'localhost');
  assert.equal(pk.user.name, email);
  assert.equal(pk.user.displayName, `Name of ${email}`);
  assert.deepEqual(pk.pubKeyCredParams, [{ type: 'public-key', alg: -7 }, { type: 'public-key', alg: -257 }]);
  assert.match(pk.challenge, /^[\w-]{43}$/);
  assert.equal(pk.authenticatorSelection?.residentKey, 'required');

  const id = decodeJwt(tokens.idToken!);
  assert.match(sub, /^auth0\|[0-9a-f]{24}$/);
  assert.equal(id.iss, s.issuer);
  assert.equal(id.aud, app.client_id);
  assert.equal(id.email, email);
  assert.equal(id.name, `Name of ${email}`);
  assert.equal(id.given_name, 'Ada');
  assert.ok(tokens.refreshToken, 'offline_access gives a refresh token');

  const user = (await s.api('GET', `/users/${encodeURIComponent(sub)}`)).body;
  assert.deepEqual(user.identities.map((i: any) => i.connection), [REALM]);
  assert.deepEqual(user.user_metadata, { plan: 'pro' });

  const login = await auth().passkey.challenge({ realm: REALM });
  assert.deepEqual(Object.keys(login.authnParamsPublicKey).sort(), ['challenge', 'rpId', 'timeout', 'userVerification']);
  assert.equal(login.authnParamsPublicKey.rpId, 'localhost');
  const again = await auth().passkey.getTokenByPasskey({ authSession: login.authSession, credential: authn.get(login.authnParamsPublicKey), scope: 'openid email' });
  const id2 = decodeJwt(again.idToken!);
  assert.equal(id2.sub, sub);
  assert.equal(id2.email, email);
  assert.equal((await s.api('GET', `/users/${encodeURIComponent(sub)}`)).body.logins_count, 2);

  // The tenant log: the signup (with its method), the logins, the challenges.
  let logs: any[] = [];
  for (let i = 0; i < 40 && logs.filter((l) => l.type === 's').length < 2; i++) {
    await new Promise((r) => setTimeout(r, 100));
    logs = (await s.api('GET', `/logs?q=${encodeURIComponent(`user_id:"${sub}"`)}`)).body;
  }
  assert.equal(logs.filter((l) => l.type === 's').length, 2, JSON.stringify(logs));
  assert.deepEqual(logs.find((l) => l.type === 'ss')?.details?.authentication_methods, ['passkey']);
  const started = (await s.api('GET', `/logs?q=${encodeURIComponent('type:passkey_challenge_started')}`)).body;
  assert.ok(started.length >= 2);
});

test('the passkey is an authentication method in the Management API; deleted there, it no longer logs in', async () => {
  const { credential, sub } = await signUp('grace@example.com');
  const listed = (await s.api('GET', `/users/${encodeURIComponent(sub)}/authentication-methods`)).body;
  assert.equal(listed.length, 1, 'no password: the passkey is the only method');
  const m = listed[0];
  assert.equal(m.type, 'passkey');
  assert.match(m.id, /^passkey\|dev_[A-Za-z0-9]{16}$/);
  assert.equal(m.key_id, credential.id);
  assert.ok(Buffer.from(m.public_key, 'base64').length > 60);
  assert.equal(m.credential_device_type, 'multi_device');
  assert.equal(m.credential_backed_up, true);
  assert.equal(m.identity_user_id, sub.replace('auth0|', ''));
  assert.equal(m.relying_party_identifier, 'localhost');
  assert.deepEqual(m.transports, ['internal', 'hybrid']);
  assert.equal(typeof m.user_agent, 'string');
  assert.ok(m.created_at);
  assert.equal(m.counter, undefined, 'the signature counter is never answered');
  assert.deepEqual((await s.api('GET', `/users/${encodeURIComponent(sub)}/authentication-methods/${encodeURIComponent(m.id)}`)).body, m);

  // A login records its use.
  const login = await auth().passkey.challenge({ realm: REALM });
  await auth().passkey.getTokenByPasskey({ authSession: login.authSession, credential: authn.get(login.authnParamsPublicKey) });
  assert.ok((await s.api('GET', `/users/${encodeURIComponent(sub)}/authentication-methods`)).body[0].last_auth_at);

  assert.equal((await s.api('DELETE', `/users/${encodeURIComponent(sub)}/authentication-methods/${encodeURIComponent(m.id)}`)).status, 204);
  const next = await auth().passkey.challenge({ realm: REALM });
  const r = await refusal(auth().passkey.getTokenByPasskey({ authSession: next.authSession, credential: authn.get(next.authnParamsPublicKey) }));
  assert.deepEqual([r.status, r.error], [403, 'invalid_grant']);
});

test('a wrong signature, another challenge, or a counter that went back are refused', async () => {
  await signUp('hedy@example.com');
  const passkey = authn.passkeys.at(-1)!;
  const ch = await auth().passkey.challenge({ realm: REALM });
  const forged = authn.get(ch.authnParamsPublicKey);
  const sig = Buffer.from(forged.response.signature, 'base64url');
  sig[sig.length - 1] ^= 0xff;
  forged.response.signature = sig.toString('base64url');
  const r = await refusal(auth().passkey.getTokenByPasskey({ authSession: ch.authSession, credential: forged }));
  assert.deepEqual([r.status, r.error], [403, 'invalid_grant']);
  assert.match(r.description ?? '', /signature/i);

  const ch2 = await auth().passkey.challenge({ realm: REALM });
  const other = await refusal(auth().passkey.getTokenByPasskey({
    authSession: ch2.authSession, credential: authn.get(ch2.authnParamsPublicKey, { challenge: randomBytes(32).toString('base64url') }),
  }));
  assert.deepEqual([other.status, other.error], [403, 'invalid_grant']);

  // A good login moves the counter on; an assertion with an older count is a clone's.
  const ch3 = await auth().passkey.challenge({ realm: REALM });
  await auth().passkey.getTokenByPasskey({ authSession: ch3.authSession, credential: authn.get(ch3.authnParamsPublicKey, { counter: 10 }) });
  const ch4 = await auth().passkey.challenge({ realm: REALM });
  const clone = await refusal(auth().passkey.getTokenByPasskey({ authSession: ch4.authSession, credential: authn.get(ch4.authnParamsPublicKey, { passkey, counter: 5 }) }));
  assert.deepEqual([clone.status, clone.error], [403, 'invalid_grant']);
  assert.match(clone.description ?? '', /counter/);
});

test('an auth_session works once and only until it expires', async () => {
  await signUp('barbara@example.com');
  const ch = await auth().passkey.challenge({ realm: REALM });
  await auth().passkey.getTokenByPasskey({ authSession: ch.authSession, credential: authn.get(ch.authnParamsPublicKey) });
  const replay = await refusal(auth().passkey.getTokenByPasskey({ authSession: ch.authSession, credential: authn.get(ch.authnParamsPublicKey) }));
  assert.deepEqual([replay.status, replay.error], [403, 'invalid_grant']);

  const late = await auth().passkey.challenge({ realm: REALM });
  const store = s.runtime.env.store;
  const id = createHash('sha256').update(late.authSession).digest('base64url');
  const row = (await store.findPayload('PasskeySession', 'id', id))!;
  await store.upsertPayload({ ...row, expires_at: Math.floor(Date.now() / 1000) - 1 });
  const expired = await refusal(auth().passkey.getTokenByPasskey({ authSession: late.authSession, credential: authn.get(late.authnParamsPublicKey) }));
  assert.deepEqual([expired.status, expired.error], [403, 'invalid_grant']);

  const unknown = await refusal(auth().passkey.getTokenByPasskey({ authSession: randomBytes(32).toString('base64url'), credential: authn.get(late.authnParamsPublicKey) }));
  assert.deepEqual([unknown.status, unknown.error], [403, 'invalid_grant']);
  // A session belongs to the application that asked for it.
  const theirs = await auth().passkey.challenge({ realm: REALM });
  const stolen = await grant({ grant_type: WEBAUTHN, client_id: spa.client_id, auth_session: theirs.authSession, authn_response: authn.get(theirs.authnParamsPublicKey) });
  assert.deepEqual([stolen.status, stolen.body.error], [403, 'invalid_grant']);
});

test('the origin and the RP id must be the tenant\'s (or the application\'s Android app or web origin)', async () => {
  const ch = await auth().passkey.register({ email: 'mallory@example.com', realm: REALM });
  const evil = await refusal(auth().passkey.getTokenByPasskey({ authSession: ch.authSession, credential: authn.create(ch.authnParamsPublicKey, { origin: 'https://evil.example' }) }));
  assert.deepEqual([evil.status, evil.error], [403, 'invalid_grant']);
  assert.match(evil.description ?? '', /origin/i);
  assert.equal((await s.api('GET', `/users-by-email?email=${encodeURIComponent('mallory@example.com')}`)).body.length, 0, 'no user for a refused signup');

  await signUp('ida@example.com');
  const ch2 = await auth().passkey.challenge({ realm: REALM });
  const rp = await refusal(auth().passkey.getTokenByPasskey({ authSession: ch2.authSession, credential: authn.get(ch2.authnParamsPublicKey, { rpId: 'evil.example' }) }));
  assert.deepEqual([rp.status, rp.error], [403, 'invalid_grant']);

  // The application's Android app, named by its signing certificate.
  const apk = `android:apk-key-hash:${Buffer.from(FINGERPRINT.replace(/:/g, ''), 'hex').toString('base64url')}`;
  const ch3 = await auth().passkey.challenge({ realm: REALM });
  const ok = await auth().passkey.getTokenByPasskey({ authSession: ch3.authSession, credential: authn.get(ch3.authnParamsPublicKey, { origin: apk }), scope: 'openid' });
  assert.ok(ok.idToken);

  // A public SPA on an allowed web origin of the RP's host, through CORS, as auth0-spa-js calls it.
  const origin = 'https://localhost:3000';
  const reg = await post('/passkey/register', { client_id: spa.client_id, realm: REALM, user_profile: { email: 'spa@example.com' } }, { origin });
  assert.equal(reg.status, 200, JSON.stringify(reg.body));
  assert.equal(reg.headers.get('access-control-allow-origin'), origin);
  const created = authn.create(reg.body.authn_params_public_key, { origin });
  const t = await grant({ grant_type: WEBAUTHN, client_id: spa.client_id, auth_session: reg.body.auth_session, authn_response: created, scope: 'openid email' });
  assert.equal(t.status, 200, JSON.stringify(t.body));
  assert.equal(decodeJwt(t.body.id_token).email, 'spa@example.com');
  const denied = await post('/passkey/challenge', { client_id: spa.client_id, realm: REALM }, { origin: 'https://elsewhere.example' });
  assert.deepEqual([denied.status, denied.body.error], [403, 'access_denied']);
});

test('passkeys must be enabled on the connection, and the application must have the grant', async () => {
  for (const call of [
    auth().passkey.register({ email: 'off@example.com', realm: 'No-Passkeys' }),
    auth().passkey.challenge({ realm: 'No-Passkeys' }),
  ]) {
    const r = await refusal(call);
    assert.deepEqual([r.status, r.error], [400, 'invalid_request']);
    assert.match(r.description ?? '', /not enabled/);
  }
  const unknownRealm = await refusal(auth().passkey.challenge({ realm: 'nope' }));
  assert.deepEqual([unknownRealm.status, unknownRealm.error], [400, 'invalid_request']);

  const noGrantRegister = await refusal(auth(noGrant).passkey.register({ email: 'nogrant@example.com', realm: REALM }));
  assert.deepEqual([noGrantRegister.status, noGrantRegister.error], [403, 'unauthorized_client']);
  const ch = await auth().passkey.challenge({ realm: REALM });
  const t = await grant({ grant_type: WEBAUTHN, ...withSecret(noGrant), auth_session: ch.authSession, authn_response: authn.get(ch.authnParamsPublicKey) });
  assert.deepEqual(t, { status: 403, body: { error: 'unauthorized_client', error_description: `Grant type '${WEBAUTHN}' not allowed for the client.` } });

  // A confidential application must hold its secret to ask for a challenge.
  const wrong = await post('/passkey/challenge', { client_id: app.client_id, client_secret: 'nope', realm: REALM });
  assert.deepEqual([wrong.status, wrong.body.error], [401, 'invalid_client']);

  // Turned off after the signup: no more logins.
  await signUp('late@example.com');
  const conn = (await s.api('GET', `/connections?name=${REALM}`)).body[0];
  const ch2 = await auth().passkey.challenge({ realm: REALM });
  const off = { ...conn.options, authentication_methods: { ...conn.options.authentication_methods, passkey: { enabled: false } } };
  assert.equal((await s.api('PATCH', `/connections/${conn.id}`, { body: { options: off } })).status, 200);
  try {
    const r = await refusal(auth().passkey.getTokenByPasskey({ authSession: ch2.authSession, credential: authn.get(ch2.authnParamsPublicKey) }));
    assert.deepEqual([r.status, r.error], [400, 'invalid_request']);
  } finally {
    assert.equal((await s.api('PATCH', `/connections/${conn.id}`, { body: { options: conn.options } })).status, 200);
  }
});

test('malformed requests get 4xx with Auth0\'s {error, error_description}', async () => {
  const shape = (r: { status: number; body: any }, status: number, error: string) => {
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.deepEqual(Object.keys(r.body).sort(), ['error', 'error_description']);
    assert.equal(r.body.error, error);
  };
  shape(await post('/passkey/register', '{"client_id":'), 400, 'invalid_request');
  shape(await post('/passkey/register', { realm: REALM, user_profile: { email: 'x@example.com' } }), 400, 'invalid_request');
  shape(await post('/passkey/challenge', { client_id: 'no-such-client' }), 401, 'invalid_client');
  shape(await post('/passkey/register', { ...withSecret(), realm: REALM }), 400, 'invalid_request');
  shape(await post('/passkey/register', { ...withSecret(), realm: REALM, user_profile: 'ada' }), 400, 'invalid_request');
  shape(await post('/passkey/register', { ...withSecret(), realm: REALM, user_profile: { email: 'not-an-email' } }), 400, 'invalid_request');
  shape(await post('/passkey/register', { ...withSecret(), realm: REALM, user_profile: { email: 'x@example.com', role: 'admin' } }), 400, 'invalid_request');
  shape(await post('/passkey/register', { ...withSecret(), realm: REALM, user_profile: { email: 7 } }), 400, 'invalid_request');
  shape(await post('/passkey/register', { ...withSecret(), realm: REALM, user_profile: { name: 'No identifier' } }), 400, 'invalid_request');
  shape(await post('/passkey/register', { ...withSecret(), realm: REALM, user_profile: { email: 'x@example.com' }, user_metadata: { n: 1 } }), 400, 'invalid_request');
  // Someone the connection already has logs in instead.
  await signUp('taken@example.com');
  const exists = await post('/passkey/register', { ...withSecret(), realm: REALM, user_profile: { email: 'TAKEN@example.com' } });
  shape(exists, 400, 'invalid_request');
  assert.equal(exists.body.error_description, 'The user already exists.');

  const ch = await auth().passkey.challenge({ realm: REALM });
  const base = { grant_type: WEBAUTHN, ...withSecret() };
  shape(await grant({ ...base, authn_response: authn.get(ch.authnParamsPublicKey) }), 400, 'invalid_request');
  shape(await grant({ ...base, auth_session: ch.authSession }), 400, 'invalid_request');
  shape(await grant({ ...base, auth_session: ch.authSession, authn_response: 'not json' }), 400, 'invalid_request');
  const reg = await auth().passkey.register({ email: 'half@example.com', realm: REALM });
  const { attestationObject: _, ...noAttestation } = authn.create(reg.authnParamsPublicKey).response;
  shape(await grant({ ...base, auth_session: reg.authSession, authn_response: { ...authn.create(reg.authnParamsPublicKey), response: noAttestation } }), 400, 'invalid_request');
  const ch2 = await auth().passkey.challenge({ realm: REALM });
  shape(await grant({ ...base, auth_session: ch2.authSession, authn_response: { id: 'x', rawId: 'x', type: 'public-key', response: { clientDataJSON: '!!', authenticatorData: '!!', signature: '!!', userHandle: '!!' } } }), 403, 'invalid_grant');
});

test('the grant takes a form body too, with authn_response as JSON text', async () => {
  const { sub } = await signUp('form@example.com');
  const ch = await auth().passkey.challenge({ realm: REALM });
  const r = await grant({ grant_type: WEBAUTHN, ...withSecret(), auth_session: ch.authSession, authn_response: JSON.stringify(authn.get(ch.authnParamsPublicKey)), scope: 'openid' }, true);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(decodeJwt(r.body.id_token).sub, sub);
});

test('auth0-auth-js surfaces a refused exchange as a PasskeyGetTokenError', async () => {
  const ch = await auth().passkey.challenge({ realm: REALM });
  await assert.rejects(
    auth().passkey.getTokenByPasskey({ authSession: ch.authSession, credential: authn.get(ch.authnParamsPublicKey, { origin: 'https://evil.example' }) }),
    (e: unknown) => e instanceof PasskeyGetTokenError && e.statusCode === 403,
  );
});
