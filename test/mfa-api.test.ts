import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { AuthClient, isMfaRequiredError } from '@auth0/auth0-auth-js';
import { decodeJwt } from 'jose';
import { Secret, TOTP } from 'otpauth';
import { startServer, type TestServer } from './helpers/server.ts';
import { managementClient } from './helpers/sdk.ts';
import { createApp, createUser } from './helpers/login-flow.ts';

// Auth0's MFA API for the Resource Owner Password grant, driven by
// @auth0/auth0-auth-js: the password answers mfa_required with an mfa_token,
// the application enrolls an authenticator app or challenges it through
// /mfa/*, and trades a one-time password (or a recovery code) for the tokens
// at the mfa-otp and mfa-recovery-code grants.

let s: TestServer;
type App = { client_id: string; client_secret?: string };
let app: App;
let other: App;
let noMfa: App;
const CONN = 'Username-Password-Authentication';
const REALM = 'http://auth0.com/oauth/grant-type/password-realm';
const MFA_OTP = 'http://auth0.com/oauth/grant-type/mfa-otp';
const MFA_RECOVERY = 'http://auth0.com/oauth/grant-type/mfa-recovery-code';
const PASSWORD = 'Mfa-pw-12345!';
const API = 'https://mfa-api.example';
const users: Record<string, string> = {};
/** Alice's app secret and recovery code, from her enrollment (the first test). */
let aliceSecret = '';
let aliceRecovery = '';

before(async () => {
  s = await startServer();
  const grants = ['password', REALM, 'refresh_token', MFA_OTP, MFA_RECOVERY];
  app = await createApp(s, { name: 'MFA app', app_type: 'regular_web', grant_types: grants });
  other = await createApp(s, { name: 'Other MFA app', app_type: 'regular_web', grant_types: grants });
  noMfa = await createApp(s, { name: 'No MFA grants', app_type: 'regular_web', grant_types: ['password', REALM] });
  assert.equal((await s.api('POST', '/resource-servers', { body: { name: 'MFA API', identifier: API, scopes: [{ value: 'read:things', description: 'r' }] } })).status, 201);
  for (const name of ['alice', 'carol', 'dave', 'erin', 'frank']) users[name] = (await createUser(s, `${name}@example.com`, PASSWORD)).user_id;
});
after(async () => { await s?.close(); });

async function policy(on: boolean, factors: { otp?: boolean; 'recovery-code'?: boolean } = { otp: true, 'recovery-code': true }) {
  assert.equal((await s.api('PUT', '/guardian/policies', { body: on ? ['all-applications'] : [] })).status, 200);
  for (const [name, enabled] of Object.entries(factors)) {
    assert.equal((await s.api('PUT', `/guardian/factors/${name}`, { body: { enabled } })).status, 200);
  }
}

const auth = (a: App = app) => new AuthClient({ domain: s.domain, clientId: a.client_id, clientSecret: a.client_secret! });
const login = (name: string, a: App = app) =>
  auth(a).getTokenByPassword({ username: `${name}@example.com`, password: PASSWORD, realm: CONN, scope: 'openid profile email read:things', audience: API } as any);

/** The mfa_required error of a password login (and fails when the login gives tokens instead). */
async function mfaRequired(name: string, a: App = app) {
  try {
    await login(name, a);
  } catch (e: any) {
    assert.ok(isMfaRequiredError(e), `expected mfa_required, got ${e?.cause?.error}`);
    return { mfaToken: e.cause.mfa_token as string, requirements: e.cause.mfa_requirements };
  }
  assert.fail('the password grant issued tokens without a second factor');
}

async function raw(path: string, init: { method?: string; body?: Record<string, string>; json?: unknown; bearer?: string } = {}) {
  const headers: Record<string, string> = {};
  let body: string | undefined;
  if (init.body) { headers['content-type'] = 'application/x-www-form-urlencoded'; body = new URLSearchParams(init.body).toString(); }
  if (init.json !== undefined) { headers['content-type'] = 'application/json'; body = JSON.stringify(init.json); }
  if (init.bearer !== undefined) headers.authorization = `Bearer ${init.bearer}`;
  const r = await fetch(`${s.baseUrl}${path}`, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
}
const grant = (grantType: string, params: Record<string, string>, a: App = app) =>
  raw('/oauth/token', { body: { grant_type: grantType, client_id: a.client_id, client_secret: a.client_secret!, ...params } });

const code = (secret: string, offset = 0) => new TOTP({ secret: Secret.fromBase32(secret) }).generate({ timestamp: Date.now() + offset });
/** A code that is valid in none of the steps the server accepts now. */
function wrongCode(secret: string) {
  const valid = new Set([-30_000, 0, 30_000].map((o) => code(secret, o)));
  for (let n = 0; ; n++) { const c = String(n).padStart(6, '0'); if (!valid.has(c)) return c; }
}

/** Logs `name` in, enrolls an authenticator app and confirms it with a code; the secret and the tokens. */
async function enroll(name: string) {
  const { mfaToken } = await mfaRequired(name);
  const enrollment: any = await auth().mfa.enrollAuthenticator({ authenticatorTypes: ['otp'], mfaToken } as any);
  const tokens: any = await auth().mfa.verify({ mfaToken, factorType: 'otp', otp: code(enrollment.secret) } as any);
  return { secret: enrollment.secret as string, recoveryCodes: enrollment.recoveryCodes as string[] | undefined, tokens };
}

async function logged(type: string, userId: string) {
  for (let i = 0; i < 50; i++) {
    const found = (await s.api('GET', `/logs?q=type:${type}&per_page=50`)).body.find((l: any) => l.user_id === userId);
    if (found) return found;
    await new Promise((res) => setTimeout(res, 100));
  }
  return undefined;
}

test('enrollment: mfa_required asks to enroll, associate gives the secret and a recovery code, the first code gives tokens with amr mfa', async () => {
  await policy(true);
  const r = await raw('/oauth/token', { body: { grant_type: REALM, client_id: app.client_id, client_secret: app.client_secret!, realm: CONN, username: 'alice@example.com', password: PASSWORD, scope: 'openid' } });
  assert.equal(r.status, 403);
  assert.deepEqual(Object.keys(r.body), ['error', 'error_description', 'mfa_token', 'mfa_requirements']);
  assert.equal(r.body.error, 'mfa_required');
  assert.equal(r.body.error_description, 'Multifactor authentication required');
  assert.deepEqual(r.body.mfa_requirements, { enroll: [{ type: 'otp' }] });

  const { mfaToken, requirements } = await mfaRequired('alice');
  assert.deepEqual(requirements, { enroll: [{ type: 'otp' }] });
  assert.deepEqual(await auth().mfa.listAuthenticators({ mfaToken }), []);
  const enrollment: any = await auth().mfa.enrollAuthenticator({ authenticatorTypes: ['otp'], mfaToken } as any);
  assert.equal(enrollment.authenticatorType, 'otp');
  assert.match(enrollment.secret, /^[A-Z2-7]{32}$/);
  assert.match(enrollment.barcodeUri, /^otpauth:\/\/totp\/.*secret=/);
  assert.equal(enrollment.recoveryCodes?.length, 1);
  assert.match(enrollment.recoveryCodes[0], /^[A-Z0-9]{24}$/);

  const pending = await auth().mfa.listAuthenticators({ mfaToken });
  assert.deepEqual(pending.map((a: any) => [a.authenticatorType, a.active]).sort(), [['otp', false], ['recovery-code', true]]);

  const t: any = await auth().mfa.verify({ mfaToken, factorType: 'otp', otp: code(enrollment.secret) } as any);
  const id = decodeJwt(t.idToken);
  assert.deepEqual(id.amr, ['mfa']);
  assert.equal(id.sub, users.alice);
  const at = decodeJwt(t.accessToken);
  assert.equal(at.sub, users.alice);
  assert.ok((at.aud as string[]).includes(API), 'the audience the password grant asked for');
  assert.match(String(at.scope), /\bopenid\b.*\bread:things\b/);

  const methods = (await s.api('GET', `/users/${encodeURIComponent(users.alice)}/authentication-methods`)).body;
  assert.ok(methods.some((m: any) => m.type === 'totp'), JSON.stringify(methods));
  assert.ok(await logged('gd_auth_succeed', users.alice), 'gd_auth_succeed is logged');

  const again = await raw('/mfa/associate', { bearer: mfaToken, json: { authenticator_types: ['otp'] } });
  assert.deepEqual(again, { status: 403, body: { error: 'access_denied', error_description: 'User is already enrolled.' } });
  aliceSecret = enrollment.secret;
  aliceRecovery = enrollment.recoveryCodes[0];
});

test('a later login challenges the app; a reused code and a wrong code are refused', async () => {
  const secret = aliceSecret;
  const { mfaToken, requirements } = await mfaRequired('alice');
  assert.deepEqual(requirements, { challenge: [{ type: 'otp' }] });
  const list = await auth().mfa.listAuthenticators({ mfaToken });
  const totp = list.find((a: any) => a.authenticatorType === 'otp');
  assert.equal(totp?.active, true);
  assert.match(String(totp?.id), /^totp\|dev_/);
  assert.deepEqual(await auth().mfa.challengeAuthenticator({ challengeType: 'otp', mfaToken } as any), { challengeType: 'otp' });

  // The enrollment used this step's code: the next step's is accepted (one step of drift), and only once.
  const next = code(secret, 30_000);
  const t: any = await auth().mfa.verify({ mfaToken, factorType: 'otp', otp: next } as any);
  assert.deepEqual(decodeJwt(t.idToken).amr, ['mfa']);
  assert.deepEqual(await grant(MFA_OTP, { mfa_token: mfaToken, otp: next }), { status: 403, body: { error: 'invalid_grant', error_description: 'Invalid otp_code.' } });
  assert.deepEqual(await grant(MFA_OTP, { mfa_token: mfaToken, otp: wrongCode(secret) }), { status: 403, body: { error: 'invalid_grant', error_description: 'Invalid otp_code.' } });
  await assert.rejects(auth().mfa.verify({ mfaToken, factorType: 'otp', otp: wrongCode(secret) } as any), (e: any) => e.cause?.error === 'invalid_grant');
  assert.ok(await logged('gd_auth_failed', users.alice), 'gd_auth_failed is logged');
});

test('a recovery code gives tokens and its successor; the spent code no longer works', async () => {
  const old = aliceRecovery;
  const { mfaToken } = await mfaRequired('alice');
  const t: any = await auth().mfa.verify({ mfaToken, factorType: 'recovery-code', recoveryCode: old } as any);
  assert.deepEqual(decodeJwt(t.idToken).amr, ['mfa']);
  assert.match(String(t.recoveryCode), /^[A-Z0-9]{24}$/);
  assert.notEqual(t.recoveryCode, old);
  assert.deepEqual(await grant(MFA_RECOVERY, { mfa_token: mfaToken, recovery_code: old }), { status: 403, body: { error: 'invalid_grant', error_description: 'MFA Authorization rejected.' } });
  const again = await grant(MFA_RECOVERY, { mfa_token: mfaToken, recovery_code: t.recoveryCode });
  assert.equal(again.status, 200);
  assert.ok(again.body.access_token);
  assert.match(again.body.recovery_code, /^[A-Z0-9]{24}$/);
  assert.ok(await logged('gd_recovery_succeed', users.alice), 'gd_recovery_succeed is logged');
  assert.ok(await logged('gd_recovery_failed', users.alice), 'gd_recovery_failed is logged');
});

test('ten wrong codes empty the bucket: then 429 too_many_attempts, even for the right code', async () => {
  const { secret } = await enroll('carol');
  const { mfaToken } = await mfaRequired('carol');
  for (let i = 0; i < 10; i++) assert.equal((await grant(MFA_OTP, { mfa_token: mfaToken, otp: wrongCode(secret) })).status, 403);
  const limited = { status: 429, body: { error: 'too_many_attempts', error_description: 'Too many failed attempts, please try again later.' } };
  assert.deepEqual(await grant(MFA_OTP, { mfa_token: mfaToken, otp: code(secret, 30_000) }), limited);
  assert.ok(await logged('gd_otp_rate_limit_exceed', users.carol), 'gd_otp_rate_limit_exceed is logged');
});

test('forged, expired and other applications\' mfa_tokens are refused', async () => {
  const { mfaToken } = await mfaRequired('alice');
  const forged = mfaToken.slice(0, -4) + (mfaToken.endsWith('AAAA') ? 'BBBB' : 'AAAA');
  assert.deepEqual(await raw('/mfa/authenticators', { bearer: forged }), { status: 401, body: { error: 'invalid_token', error_description: 'Malformed mfa_token' } });
  assert.equal((await raw('/mfa/authenticators')).status, 401);
  assert.equal((await raw('/mfa/authenticators')).body.error, 'invalid_token');
  assert.deepEqual(await grant(MFA_OTP, { mfa_token: forged, otp: '123456' }), { status: 403, body: { error: 'invalid_grant', error_description: 'Malformed mfa_token' } });

  const env = s.runtime.env;
  const expired = env.box.seal(JSON.stringify({ use: 'mfa_token', sub: users.alice, client_id: app.client_id, scope: ['openid'], gty: 'password-realm', claims: {}, exp: Math.floor(Date.now() / 1000) - 5 }));
  assert.equal((await raw('/mfa/authenticators', { bearer: expired })).status, 401);
  assert.equal((await raw('/mfa/authenticators', { bearer: expired })).body.error, 'expired_token');

  const mismatch = await grant(MFA_OTP, { mfa_token: mfaToken, otp: '123456' }, other);
  assert.equal(mismatch.status, 403);
  assert.equal(mismatch.body.error, 'invalid_grant');
  const challenge = await raw('/mfa/challenge', { json: { mfa_token: mfaToken, client_id: other.client_id, challenge_type: 'otp' } });
  assert.equal(challenge.status, 403);
  assert.equal(challenge.body.error, 'invalid_grant');
  const badSecret = await raw('/mfa/challenge', { json: { mfa_token: mfaToken, client_id: app.client_id, client_secret: 'wrong', challenge_type: 'otp' } });
  assert.deepEqual(badSecret, { status: 401, body: { error: 'access_denied', error_description: 'Unauthorized' } });
  assert.equal((await raw('/mfa/challenge', { body: { mfa_token: mfaToken, client_id: app.client_id, client_secret: app.client_secret!, challenge_type: 'otp' } })).status, 200);
});

test('browsers: /mfa/* answers the application\'s web origins (preflight and request) and refuses other origins', async () => {
  const ORIGIN = 'https://mfa-spa.example';
  assert.equal((await s.api('PATCH', `/clients/${app.client_id}`, { body: { web_origins: [ORIGIN] } })).status, 200);
  const pre = await fetch(`${s.baseUrl}/mfa/authenticators`, {
    method: 'OPTIONS', headers: { origin: ORIGIN, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
  });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), ORIGIN);
  assert.match(String(pre.headers.get('access-control-allow-methods')), /DELETE/);
  assert.equal(pre.headers.get('access-control-allow-headers'), 'authorization');

  const { mfaToken } = await mfaRequired('alice');
  const list = await fetch(`${s.baseUrl}/mfa/authenticators`, { headers: { origin: ORIGIN, authorization: `Bearer ${mfaToken}` } });
  assert.equal(list.status, 200);
  assert.equal(list.headers.get('access-control-allow-origin'), ORIGIN);
  assert.ok((await list.json() as any[]).some((a) => a.authenticator_type === 'otp'));
  const challenge = await fetch(`${s.baseUrl}/mfa/challenge`, {
    method: 'POST', headers: { origin: ORIGIN, 'content-type': 'application/json' },
    body: JSON.stringify({ client_id: app.client_id, mfa_token: mfaToken, challenge_type: 'otp' }),
  });
  assert.equal(challenge.status, 200);
  assert.equal(challenge.headers.get('access-control-allow-origin'), ORIGIN);

  const foreign = await fetch(`${s.baseUrl}/mfa/authenticators`, { headers: { origin: 'https://evil.example', authorization: `Bearer ${mfaToken}` } });
  assert.equal(foreign.status, 403);
  assert.equal(foreign.headers.get('access-control-allow-origin'), null);
  assert.equal((await foreign.json() as any).error, 'access_denied');
});

test('with the SMS and email factors off, oob enrollment is refused and an oob challenge finds nothing to challenge', async () => {
  const { mfaToken } = await mfaRequired('erin');
  const assoc = await raw('/mfa/associate', { bearer: mfaToken, json: { authenticator_types: ['oob'], oob_channels: ['sms'], phone_number: '+15550001111' } });
  assert.equal(assoc.status, 400);
  assert.equal(assoc.body.error, 'unsupported_challenge_type');
  const notEnrolled = await raw('/mfa/challenge', { json: { mfa_token: mfaToken, client_id: app.client_id, challenge_type: 'otp' } });
  assert.equal(notEnrolled.status, 403);
  assert.match(notEnrolled.body.error_description, /not enrolled/);
  const { mfaToken: aliceToken } = await mfaRequired('alice');
  const oob = await raw('/mfa/challenge', { json: { mfa_token: aliceToken, client_id: app.client_id, challenge_type: 'oob' } });
  assert.equal(oob.status, 403);
  assert.equal(oob.body.error, 'access_denied');
  const push = await raw('/mfa/challenge', { json: { mfa_token: aliceToken, client_id: app.client_id, challenge_type: 'push' } });
  assert.equal(push.status, 400);
  assert.equal(push.body.error, 'unsupported_challenge_type');
  assert.equal((await raw('/mfa/associate', { bearer: mfaToken, json: {} })).status, 400);
  const garbled = await fetch(`${s.baseUrl}/mfa/associate`, { method: 'POST', headers: { authorization: `Bearer ${mfaToken}`, 'content-type': 'application/json' }, body: '{"authenticator_types":' });
  assert.equal(garbled.status, 400);
  assert.equal(((await garbled.json()) as any).error, 'invalid_request');
  assert.equal((await raw('/mfa/challenge', { json: { mfa_token: 42, client_id: app.client_id } })).status, 400);
});

test('an mfa_token, which a password alone gets, can neither remove an authenticator nor add a second one', async () => {
  await enroll('dave');
  const { mfaToken } = await mfaRequired('dave');
  const totp = (await auth().mfa.listAuthenticators({ mfaToken })).find((a: any) => a.authenticatorType === 'otp')!;
  assert.deepEqual(await raw(`/mfa/authenticators/${encodeURIComponent(totp.id)}`, { method: 'DELETE', bearer: mfaToken }),
    { status: 403, body: { error: 'insufficient_scope', error_description: 'Insufficient scope, expected any of: remove:authenticators' } });
  assert.deepEqual(await raw('/mfa/associate', { json: { authenticator_types: ['otp'] }, bearer: mfaToken }),
    { status: 403, body: { error: 'access_denied', error_description: 'User is already enrolled.' } });
  assert.deepEqual(await raw('/mfa/associate', { json: { authenticator_types: ['oob'], oob_channels: ['email'], email: 'attacker@example.com' }, bearer: mfaToken }),
    { status: 403, body: { error: 'access_denied', error_description: 'User is already enrolled.' } });
  // Nothing changed: the app is still there and the next login still asks for its code.
  assert.ok((await auth().mfa.listAuthenticators({ mfaToken })).some((a: any) => a.id === totp.id));
  assert.deepEqual((await mfaRequired('dave')).requirements, { challenge: [{ type: 'otp' }] });
});

test('an application without the MFA grant types gets unauthorized_client', async () => {
  const { mfaToken } = await mfaRequired('alice', noMfa);
  const r = await grant(MFA_OTP, { mfa_token: mfaToken, otp: '123456' }, noMfa);
  assert.equal(r.status, 403);
  assert.equal(r.body.error, 'unauthorized_client');
});

test('policy off: tokens at once; policy on without the otp factor: access_denied', async () => {
  await policy(false);
  const t: any = await login('alice');
  assert.ok(t.accessToken);
  assert.equal(decodeJwt(t.idToken).amr, undefined);
  await policy(true, { otp: false });
  const r = await raw('/oauth/token', { body: { grant_type: REALM, client_id: app.client_id, client_secret: app.client_secret!, realm: CONN, username: 'alice@example.com', password: PASSWORD } });
  assert.equal(r.status, 403);
  assert.equal(r.body.error, 'access_denied');
  assert.match(r.body.error_description, /authenticator app/);
  assert.equal(r.body.mfa_token, undefined);
  await policy(false, { otp: true });
});

test('post-login actions: enable(\'any\') asks for MFA with the policy off, enable(\'none\') waives it; the first run\'s claims reach the tokens', async () => {
  const mc = managementClient(s);
  const bind = async (code: string) => {
    const a: any = await mc.actions.create({ name: `mfa-${Math.random().toString(36).slice(2, 8)}`, supported_triggers: [{ id: 'post-login', version: 'v3' }], code } as any);
    await mc.actions.deploy(a.id);
    await mc.actions.triggers.bindings.updateMany('post-login', { bindings: [{ ref: { type: 'action_id', value: a.id } }] } as any);
  };
  await policy(false);
  await bind(`exports.onExecutePostLogin = async (event, api) => {
    api.idToken.setCustomClaim('https://mfa.example/protocol', event.transaction.protocol);
    api.multifactor.enable('any');
  };`);
  const { secret } = await enroll('frank');
  const { mfaToken } = await mfaRequired('frank');
  const t: any = await auth().mfa.verify({ mfaToken, factorType: 'otp', otp: code(secret, 30_000) } as any);
  const id = decodeJwt(t.idToken);
  assert.deepEqual(id.amr, ['mfa']);
  // The password grant's run, not a second one at the mfa-otp grant.
  assert.equal(id['https://mfa.example/protocol'], 'oauth2-password');

  await policy(true);
  await bind(`exports.onExecutePostLogin = async (event, api) => { api.multifactor.enable('none'); };`);
  const direct: any = await login('frank');
  assert.ok(direct.accessToken);
  assert.equal(decodeJwt(direct.idToken).amr, undefined);
  await mc.actions.triggers.bindings.updateMany('post-login', { bindings: [] } as any);
  await policy(false);
});
