import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuthClient } from '@auth0/auth0-auth-js';
import { decodeJwt, jwtVerify } from 'jose';
import { startServer, type TestServer } from './helpers/server.ts';
import { Jar, follow, formFields, go } from './helpers/login-flow.ts';
import { outbox, waitForMail } from './helpers/outbox.ts';

// Passwordless connections (email and sms) through every door Auth0 has:
// /passwordless/start and the passwordless/otp grant driven by
// @auth0/auth0-auth-js, the magic link, and the Universal Login pages.

const OTP = 'http://auth0.com/oauth/grant-type/passwordless/otp';
const CB = 'http://localhost:3000/callback';
let s: TestServer;
let web: { client_id: string; client_secret: string };
let spa: { client_id: string };
let other: { client_id: string; client_secret: string };
let email: { id: string; options: any };
let sms: { id: string; options: any };

async function app(body: Record<string, unknown>) {
  const r = await s.api('POST', '/clients', { body });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

before(async () => {
  s = await startServer();
  web = await app({ name: 'Web', app_type: 'regular_web', callbacks: [CB], grant_types: ['authorization_code', 'refresh_token', OTP] });
  spa = await app({ name: 'Spa', app_type: 'spa', callbacks: [CB], web_origins: ['http://localhost:3000'], grant_types: ['authorization_code', 'refresh_token', OTP] });
  other = await app({ name: 'Other', app_type: 'regular_web', callbacks: [CB], grant_types: ['authorization_code', OTP] });
  const e = await s.api('POST', '/connections', { body: { name: 'email', strategy: 'email', enabled_clients: [web.client_id, spa.client_id] } });
  assert.equal(e.status, 201, JSON.stringify(e.body));
  email = e.body;
  const m = await s.api('POST', '/connections', { body: { name: 'sms', strategy: 'sms', enabled_clients: [web.client_id] } });
  assert.equal(m.status, 201, JSON.stringify(m.body));
  sms = m.body;
});
after(async () => { await s?.close(); });

const auth = (c: { client_id: string; client_secret?: string } = web) =>
  new AuthClient({ domain: s.domain, clientId: c.client_id, ...(c.client_secret ? { clientSecret: c.client_secret } : {}) });

/** The code in the newest mail to `to`. */
async function mailedCode(to: string, after: number) {
  const mail = await waitForMail(s.dataDir, to, { after });
  const m = /<b>(\d+)<\/b>/.exec(mail.html);
  assert.ok(m, mail.html);
  return m[1];
}

const phoneMessages = () => {
  const dir = join(s.dataDir, 'outbox', 'phone');
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8'))) : [];
};

const start = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  fetch(`${s.baseUrl}/passwordless/start`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
    .then(async (r) => ({ status: r.status, body: await r.json() as any, headers: r.headers }));

const otpGrant = (body: Record<string, unknown>) =>
  fetch(`${s.baseUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: OTP, ...body }) })
    .then(async (r) => ({ status: r.status, body: await r.json() as any }));

test('a new passwordless connection has Auth0\'s defaults: a six-digit code for three minutes, signups on', () => {
  assert.deepEqual(email.options.totp, { time_step: 180, length: 6 });
  assert.equal(email.options.disable_signup, false);
  assert.equal(email.options.email.syntax, 'liquid');
  assert.match(email.options.email.body, /\{\{ code \}\}/);
  assert.equal(sms.options.template, 'Your verification code is: @@password@@');
});

test('auth0-auth-js: an emailed code logs a new user in, and the next login finds the same user', async () => {
  const addr = 'pia@example.com';
  const seen = outbox(s.dataDir).length;
  await auth().passwordless.sendEmail({ email: addr });
  const code = await mailedCode(addr, seen);
  assert.equal(code.length, 6);
  const mail = outbox(s.dataDir).slice(seen).find((m) => m.to === addr)!;
  assert.equal(mail.subject, 'Welcome to Web');
  const tokens = await auth().getTokenByPasswordlessEmail({ email: addr, code, scope: 'openid profile email offline_access' });
  const id = decodeJwt(tokens.idToken!);
  assert.match(String(id.sub), /^email\|[0-9a-f]{24}$/);
  assert.equal(id.email, addr);
  assert.equal(id.email_verified, true);
  assert.ok(tokens.refreshToken, 'offline_access gives a refresh token');

  const user = (await s.api('GET', `/users/${encodeURIComponent(String(id.sub))}`)).body;
  assert.deepEqual(user.identities.map((i: any) => [i.provider, i.connection]), [['email', 'email']]);
  assert.equal(user.logins_count, 1);

  // The code is spent; a second one logs the same user in.
  const reused = await otpGrant({ client_id: web.client_id, client_secret: web.client_secret, username: addr, otp: code, realm: 'email' });
  assert.equal(reused.status, 403);
  assert.deepEqual(reused.body, { error: 'invalid_grant', error_description: 'Wrong email or verification code.' });
  const seen2 = outbox(s.dataDir).length;
  await auth().passwordless.sendEmail({ email: 'PIA@example.com' });
  const again = await auth().getTokenByPasswordlessEmail({ email: addr, code: await mailedCode('PIA@example.com', seen2), scope: 'openid' });
  assert.equal(decodeJwt(again.idToken!).sub, id.sub);

  // The tenant log has the sends and the logins (written in batches, so polled).
  let types: string[] = [];
  for (let i = 0; i < 40 && !(types.includes('cs') && types.includes('s')); i++) {
    await new Promise((r) => setTimeout(r, 100));
    types = (await s.api('GET', `/logs?q=${encodeURIComponent(`user_name:"${addr}"`)}`)).body.map((l: any) => l.type);
  }
  assert.ok(types.includes('cs') && types.includes('s'), types.join());
});

test('three wrong codes use a code up; a new code replaces the old one', async () => {
  const addr = 'guess@example.com';
  let seen = outbox(s.dataDir).length;
  await auth().passwordless.sendEmail({ email: addr });
  const first = await mailedCode(addr, seen);
  seen = outbox(s.dataDir).length;
  await auth().passwordless.sendEmail({ email: addr });
  const code = await mailedCode(addr, seen);
  if (first !== code) {
    const old = await otpGrant({ client_id: web.client_id, client_secret: web.client_secret, username: addr, otp: first, realm: 'email' });
    assert.equal(old.status, 403, 'the replaced code no longer works');
  }
  const wrong = code === '000000' ? '111111' : '000000';
  for (let i = 0; i < (first !== code ? 2 : 3); i++) {
    const r = await otpGrant({ client_id: web.client_id, client_secret: web.client_secret, username: addr, otp: wrong, realm: 'email' });
    assert.deepEqual([r.status, r.body.error_description], [403, 'Wrong email or verification code.']);
  }
  const late = await otpGrant({ client_id: web.client_id, client_secret: web.client_secret, username: addr, otp: code, realm: 'email' });
  assert.equal(late.status, 403);
  assert.deepEqual(late.body, { error: 'invalid_grant', error_description: "You've reached the maximum number of attempts. Please try to login again." });
});

test('concurrent guesses cannot share an attempt: of ten at once, at most three are checked', async () => {
  const addr = 'racer@example.com';
  const seen = outbox(s.dataDir).length;
  await auth().passwordless.sendEmail({ email: addr });
  const code = await mailedCode(addr, seen);
  const wrong = code === '000000' ? '111111' : '000000';
  const answers = await Promise.all(Array.from({ length: 10 }, () =>
    otpGrant({ client_id: web.client_id, client_secret: web.client_secret, username: addr, otp: wrong, realm: 'email' })));
  assert.ok(answers.every((a) => a.status === 403));
  const checked = answers.filter((a) => a.body.error_description === 'Wrong email or verification code.').length;
  assert.ok(checked <= 3, `${checked} guesses were checked`);
  const right = await otpGrant({ client_id: web.client_id, client_secret: web.client_secret, username: addr, otp: code, realm: 'email' });
  assert.equal(right.body.error_description, "You've reached the maximum number of attempts. Please try to login again.");
});

test('the grant refuses what Auth0 refuses', async () => {
  const base = { client_id: web.client_id, client_secret: web.client_secret };
  const missing = await otpGrant({ ...base, username: 'x@example.com', realm: 'email' });
  assert.equal(missing.status, 400);
  assert.equal(missing.body.error, 'invalid_request');
  const notPasswordless = await otpGrant({ ...base, username: 'x@example.com', otp: '123456', realm: 'Username-Password-Authentication' });
  assert.equal(notPasswordless.status, 400);
  assert.equal(notPasswordless.body.error, 'invalid_request');
  const disabled = await otpGrant({ client_id: other.client_id, client_secret: other.client_secret, username: 'x@example.com', otp: '123456', realm: 'email' });
  assert.deepEqual([disabled.status, disabled.body.error_description], [400, 'Connection is disabled']);
  const noGrant = await app({ name: 'NoOtp', app_type: 'regular_web', callbacks: [CB], grant_types: ['authorization_code'] });
  const refused = await otpGrant({ client_id: noGrant.client_id, client_secret: noGrant.client_secret, username: 'x@example.com', otp: '123456', realm: 'email' });
  assert.equal(refused.body.error, 'unauthorized_client');
  const badSecret = await otpGrant({ client_id: web.client_id, client_secret: 'nope', username: 'x@example.com', otp: '123456', realm: 'email' });
  assert.deepEqual([badSecret.status, badSecret.body.error], [401, 'access_denied'], 'as at any grant: a wrong secret is Auth0\'s 401 access_denied');
});

test('/passwordless/start refuses what Auth0 refuses, in its {error, error_description} shape', async () => {
  const c = { client_id: web.client_id, client_secret: web.client_secret };
  const cases: [Record<string, unknown>, number, string, string][] = [
    [{ ...c, email: 'a@example.com' }, 400, 'bad.connection', 'Missing required property: connection'],
    [{ ...c, connection: 'nope', email: 'a@example.com' }, 400, 'bad.connection', 'Connection does not exist'],
    [{ ...c, connection: 'Username-Password-Authentication', email: 'a@example.com' }, 400, 'bad.connection', 'The connection does not support user creation through this API. It must either be a passwordless connection'],
    [{ ...c, connection: 'email' }, 400, 'bad.email', 'Missing required property: email'],
    [{ ...c, connection: 'email', email: 'not-an-email' }, 400, 'bad.email', 'error in email - email format validation failed: not-an-email'],
    [{ ...c, connection: 'email', email: 'a@example.com', send: 'carrier-pigeon' }, 400, 'bad.send', 'error in send - No enum match for: carrier-pigeon'],
    [{ ...c, connection: 'email', email: 'a@example.com', send: 'link', authParams: 'scope=openid' }, 400, 'bad.authParams', 'error in authParams - invalid type: string (expected object)'],
    [{ ...c, connection: 'sms', phone_number: '0155 555' }, 400, 'bad.phone_number', 'String does not match pattern: ^\\+[0-9]{1,15}$'],
    [{ ...c, connection: 'sms', phone_number: '+14155550100', send: 'link' }, 400, 'bad.send', 'error in send - No enum match for: link'],
    [{ connection: 'email', email: 'a@example.com' }, 400, 'bad.client_id', 'Missing required property: client_id'],
    [{ client_id: other.client_id, client_secret: other.client_secret, connection: 'email', email: 'a@example.com' }, 400, 'bad.connection', 'Connection is disabled'],
  ];
  for (const [body, status, error, description] of cases) {
    const r = await start(body);
    assert.deepEqual([r.status, r.body], [status, { error, error_description: description }], JSON.stringify(body));
  }
  // A confidential application must authenticate; a public one cannot.
  const anonymous = await start({ client_id: web.client_id, connection: 'email', email: 'a@example.com' });
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.body.error, 'invalid_client');
  const wrongSecret = await start({ client_id: web.client_id, client_secret: 'wrong', connection: 'email', email: 'a@example.com' });
  assert.equal(wrongSecret.status, 401);
  const pub = await start({ client_id: spa.client_id, connection: 'email', email: 'spa-user@example.com' }, { origin: 'http://localhost:3000' });
  assert.equal(pub.status, 200);
  assert.deepEqual(pub.body, { _id: email.id, email: 'spa-user@example.com', email_verified: false });
  assert.equal(pub.headers.get('access-control-allow-origin'), 'http://localhost:3000');
  const foreign = await start({ client_id: spa.client_id, connection: 'email', email: 'spa-user@example.com' }, { origin: 'https://evil.example' });
  assert.equal(foreign.status, 403);
});

test('with signups disabled, only known users get a code; the Management API makes them', async () => {
  const conn = await s.api('POST', '/connections', { body: { name: 'closed-email', strategy: 'email', enabled_clients: [web.client_id], options: { disable_signup: true } } });
  assert.equal(conn.status, 201);
  const stranger = await start({ client_id: web.client_id, client_secret: web.client_secret, connection: 'closed-email', email: 'stranger@example.com' });
  assert.deepEqual([stranger.status, stranger.body], [400, { error: 'bad.connection', error_description: 'Public signup is disabled' }]);

  const withPassword = await s.api('POST', '/users', { body: { connection: 'closed-email', email: 'member@example.com', password: 'Some-pw-123!' } });
  assert.equal(withPassword.status, 400);
  const made = await s.api('POST', '/users', { body: { connection: 'closed-email', email: 'member@example.com' } });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  assert.match(made.body.user_id, /^email\|[0-9a-f]{24}$/);
  assert.equal(made.body.email_verified, false);
  const dup = await s.api('POST', '/users', { body: { connection: 'closed-email', email: 'MEMBER@example.com' } });
  assert.equal(dup.status, 409);

  const seen = outbox(s.dataDir).length;
  const ok = await start({ client_id: web.client_id, client_secret: web.client_secret, connection: 'closed-email', email: 'member@example.com' });
  assert.equal(ok.status, 200);
  const code = await mailedCode('member@example.com', seen);
  const r = await otpGrant({ client_id: web.client_id, client_secret: web.client_secret, username: 'member@example.com', otp: code, realm: 'closed-email', scope: 'openid' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(decodeJwt(r.body.id_token).sub, made.body.user_id);
  assert.equal((await s.api('GET', `/users/${encodeURIComponent(made.body.user_id)}`)).body.email_verified, true, 'a code proves the address');
});

test('auth0-auth-js: an SMS code (phone outbox with no provider) logs a phone user in', async () => {
  const phone = '+14155550123';
  const before = phoneMessages().length;
  await auth().passwordless.sendSms({ phoneNumber: phone });
  const msg = phoneMessages().slice(before).find((m) => m.to === phone);
  assert.ok(msg);
  const m = /^Your verification code is: (\d{6})$/.exec(msg.text);
  assert.ok(m, msg.text);
  const tokens = await auth().getTokenByPasswordlessSms({ phoneNumber: phone, code: m[1], scope: 'openid profile phone' });
  const id = decodeJwt(tokens.idToken!);
  assert.match(String(id.sub), /^sms\|[0-9a-f]{24}$/);
  const user = (await s.api('GET', `/users/${encodeURIComponent(String(id.sub))}`)).body;
  assert.equal(user.phone_number, phone);
  assert.equal(user.phone_verified, true);
  assert.equal(user.identities[0].provider, 'sms');

  await assert.rejects(auth().getTokenByPasswordlessSms({ phoneNumber: phone, code: m[1] }),
    (e: any) => { assert.match(JSON.stringify(e.cause ?? e), /Wrong phone number or verification code\./); return true; });
});

test('an SMS connection with a custom gateway posts the message there, with a bearer JWT signed by its secret', async () => {
  const got: { auth?: string; body: any }[] = [];
  const gw: Server = createServer((req, res) => {
    let data = '';
    req.on('data', (c) => { data += c; });
    req.on('end', () => { got.push({ auth: req.headers.authorization, body: JSON.parse(data) }); res.end('{}'); });
  });
  await new Promise<void>((r) => gw.listen(0, '127.0.0.1', r));
  try {
    const port = (gw.address() as any).port;
    const conn = await s.api('POST', '/connections', {
      body: {
        name: 'gateway-sms', strategy: 'sms', enabled_clients: [web.client_id], options: {
          provider: 'sms_gateway', gateway_url: `http://127.0.0.1:${port}/send`, from: '+15550001111', syntax: 'liquid',
          template: '{{ code }} is your code for {{ application.name }}',
          gateway_authentication: { method: 'bearer', subject: 'postern', audience: 'my-gateway', secret: 'gateway-shared-secret', secret_base64_encoded: false },
        },
      },
    });
    assert.equal(conn.status, 201, JSON.stringify(conn.body));
    assert.equal(conn.body.options.gateway_authentication.secret, 'gateway-shared-secret');
    const stored = await s.runtime.env.store.connections.get(conn.body.id);
    assert.match(stored!.data.options.gateway_authentication.secret, /^enc:/, 'the gateway secret is sealed at rest');
    const r = await start({ client_id: web.client_id, client_secret: web.client_secret, connection: 'gateway-sms', phone_number: '+4915112345678' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(got.length, 1);
    assert.equal(got[0].body.recipient, '+4915112345678');
    assert.equal(got[0].body.sender, '+15550001111');
    const m = /^(\d{6}) is your code for Web$/.exec(got[0].body.body);
    assert.ok(m, got[0].body.body);
    const jwt = String(got[0].auth).replace(/^Bearer /, '');
    const { payload } = await jwtVerify(jwt, new TextEncoder().encode('gateway-shared-secret'), { audience: 'my-gateway', subject: 'postern' });
    assert.ok(payload.exp);
    const login = await otpGrant({ client_id: web.client_id, client_secret: web.client_secret, username: '+4915112345678', otp: m[1], realm: 'gateway-sms', scope: 'openid' });
    assert.equal(login.status, 200, JSON.stringify(login.body));
  } finally {
    await new Promise((r) => gw.close(r));
  }
});

test('a magic link logs the user in through /authorize and lands on the callback with a code, once', async () => {
  const addr = 'linky@example.com';
  const seen = outbox(s.dataDir).length;
  await auth().passwordless.sendEmail({
    email: addr, send: 'link', authParams: { redirect_uri: CB, response_type: 'code', scope: 'openid email', state: 'st-123' },
  });
  const mail = await waitForMail(s.dataDir, addr, { after: seen });
  const link = /href="([^"]+)"/.exec(mail.html)?.[1]?.replace(/&amp;/g, '&') ?? '';
  assert.ok(link.startsWith(`${s.baseUrl}/passwordless/verify_redirect?`), link);
  assert.equal(mail.link, undefined, 'the link is not a field the outbox logs');

  const jar = new Jar();
  const { url } = await follow(jar, link, s.baseUrl);
  const back = new URL(url);
  assert.equal(`${back.origin}${back.pathname}`, CB);
  assert.equal(back.searchParams.get('state'), 'st-123');
  const code = back.searchParams.get('code');
  assert.ok(code, url);
  const r = await fetch(`${s.baseUrl}/oauth/token`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'authorization_code', client_id: web.client_id, client_secret: web.client_secret, code, redirect_uri: CB }),
  });
  const tokens = await r.json() as any;
  assert.equal(r.status, 200, JSON.stringify(tokens));
  assert.equal(decodeJwt(tokens.id_token).email, addr);

  const again = await go(new Jar(), link);
  assert.equal(again.status, 403);
  assert.match(await again.text(), /Wrong email or verification code\./);
});

test('Universal Login: /authorize?connection=email asks for the address, mails a code, and logs in with it', async () => {
  const addr = 'ul-user@example.com';
  const jar = new Jar();
  const authorize = `${s.baseUrl}/authorize?${new URLSearchParams({ client_id: web.client_id, response_type: 'code', redirect_uri: CB, scope: 'openid email', state: 'ul', connection: 'email' })}`;
  const first = await follow(jar, authorize, s.baseUrl);
  const html = await first.res.text();
  assert.match(html, /action="\/u\/login\/passwordless"/);
  const fields = formFields(html);

  const bad = await go(jar, `${s.baseUrl}/u/login/passwordless`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...fields, address: 'nope' }) });
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /Please enter a valid email address/);

  const seen = outbox(s.dataDir).length;
  const sent = await go(jar, `${s.baseUrl}/u/login/passwordless`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...fields, address: addr }) });
  assert.equal(sent.status, 200);
  const codePage = await sent.text();
  assert.match(codePage, /action="\/u\/login\/passwordless\/verify"/);
  const code = await mailedCode(addr, seen);
  const codeFields = formFields(codePage);
  assert.equal(codeFields.address, addr);

  const wrong = await go(jar, `${s.baseUrl}/u/login/passwordless/verify`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...codeFields, code: code === '000000' ? '111111' : '000000' }) });
  assert.equal(wrong.status, 403);
  assert.match(await wrong.text(), /Wrong email or verification code\./);

  const ok = await go(jar, `${s.baseUrl}/u/login/passwordless/verify`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...codeFields, code }) });
  assert.equal(ok.status, 303);
  const done = await follow(jar, new URL(ok.headers.get('location')!, s.baseUrl).toString(), s.baseUrl);
  const back = new URL(done.url);
  assert.equal(back.searchParams.get('state'), 'ul');
  assert.ok(back.searchParams.get('code'), done.url);
});

test('discovery lists the passwordless/otp grant', async () => {
  const d = await (await fetch(`${s.baseUrl}/.well-known/openid-configuration`)).json() as any;
  assert.ok(d.grant_types_supported.includes(OTP));
});
