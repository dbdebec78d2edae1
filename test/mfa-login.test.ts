import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { Secret, TOTP } from 'otpauth';
import { startServer, type TestServer } from './helpers/server.ts';
import { managementClient } from './helpers/sdk.ts';
import { Jar, createApp, createUser, decodeEntities, follow, formFields, go, scriptedLogin, exchangeCode } from './helpers/login-flow.ts';

// A second factor at Universal Login: the tenant's Guardian policy (or a
// post-login action) makes a login stop at /u/mfa, where the user enrolls an
// authenticator app (codes made here with `otpauth`, as a phone app would),
// keeps a recovery code, and later types codes or spends the recovery code.
// The ID token then says amr ["mfa"], the session remembers it, and the
// Management API sees the enrolment.

let s: TestServer;
let app: { client_id: string; client_secret?: string };
const CB = 'https://mfa-rp.example/callback';
const PW = 'Mfa-login-pw-123!';

before(async () => {
  s = await startServer();
  app = await createApp(s, { name: 'MFA RP', app_type: 'regular_web', callbacks: [CB], grant_types: ['authorization_code'] });
});
after(async () => { await s?.close(); });

async function setMfa(policy: boolean, otp = true, recovery = true) {
  assert.equal((await s.api('PUT', '/guardian/policies', { body: policy ? ['all-applications'] : [] })).status, 200);
  assert.equal((await s.api('PUT', '/guardian/factors/otp', { body: { enabled: otp } })).status, 200);
  assert.equal((await s.api('PUT', '/guardian/factors/recovery-code', { body: { enabled: recovery } })).status, 200);
}

async function bind(code?: string) {
  const mc = managementClient(s);
  const bindings: any[] = [];
  if (code) {
    const a: any = await mc.actions.create({ name: `mfa-${Math.random().toString(36).slice(2, 8)}`, supported_triggers: [{ id: 'post-login', version: 'v3' }], code } as any);
    await mc.actions.deploy(a.id);
    bindings.push({ ref: { type: 'action_id', value: a.id } });
  }
  await mc.actions.triggers.bindings.updateMany('post-login', { bindings } as any);
}

const authorize = (extra: Record<string, string> = {}) =>
  `${s.baseUrl}/authorize?${new URLSearchParams({ client_id: app.client_id, redirect_uri: CB, response_type: 'code', scope: 'openid email', state: 'st', ...extra })}`;

const exchange = async (callback: string) => decodeJwt((await exchangeCode(s, app, CB, callback)).id_token);

/** Codes as an app makes them, each of a later time step than the last one given (a code works once). */
class App {
  private last = -1;
  constructor(private secret: string) {}
  code(): string {
    const totp = new TOTP({ secret: Secret.fromBase32(this.secret) });
    for (const ts of [Date.now() - 30_000, Date.now(), Date.now() + 30_000]) {
      const step = totp.counter({ timestamp: ts });
      if (step > this.last) { this.last = step; return totp.generate({ timestamp: ts }); }
    }
    throw new Error('no fresh step within the window');
  }
}

interface MfaPage { jar: Jar; url: string; html: string; fields: Record<string, string> }

/** Logs in with the password and expects to stop at the MFA page. */
async function toMfaPage(email: string, jar = new Jar(), extra: Record<string, string> = {}): Promise<MfaPage> {
  const r = await scriptedLogin(s, authorize(extra), email, PW, jar);
  assert.match(r.url, /\/u\/mfa\?state=/, r.url);
  assert.equal(r.res.status, 200);
  const html = await r.res.text();
  return { jar, url: r.url, html, fields: formFields(html) };
}

async function post(jar: Jar, path: string, fields: Record<string, string>) {
  return go(jar, `${s.baseUrl}${path}`, { method: 'POST', body: new URLSearchParams(fields), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
}

const secretOf = (html: string) => decodeEntities(/<code id="otp-secret"[^>]*>([^<]+)<\/code>/.exec(html)![1]).replace(/\s/g, '');
const recoveryOf = (html: string) => /<code id="recovery-code"[^>]*>([A-Z0-9]+)<\/code>/.exec(html)![1];
const continueOf = (html: string) => decodeEntities(/<a href="([^"]+)" autofocus>I have safely recorded/.exec(html)![1]);

/** Follows a page's way back to the engine to the application's callback. */
async function toCallback(jar: Jar, res: Response, html?: string) {
  const next = res.status === 303 ? res.headers.get('location')! : continueOf(html!);
  const done = await follow(jar, new URL(next, s.baseUrl).toString(), s.baseUrl);
  assert.ok(done.url.startsWith(CB), done.url);
  return done.url;
}

async function logTypes(userId: string) {
  return ((await s.api('GET', `/logs?q=user_id:"${encodeURIComponent(userId)}"&per_page=100`)).body as any[]).map((l) => l.type);
}

let enrolled: { email: string; userId: string; app: App; recovery: string; jar: Jar; lastCode: string };

test('with the policy on, a first login enrolls an authenticator app, shows a recovery code once, and the ID token says amr mfa', async () => {
  await setMfa(true);
  const email = 'mfa-enroll@example.com';
  const userId = (await createUser(s, email, PW)).user_id;
  const p = await toMfaPage(email);
  assert.match(p.html, /Secure your account/);
  const secret = secretOf(p.html);
  assert.match(secret, /^[A-Z2-7]{32}$/);
  assert.match(decodeEntities(p.html), /otpauth:\/\/totp\//);

  // A wrong code keeps the same enrollment (the app already holds its secret).
  const wrong = await post(p.jar, '/u/mfa', { ...p.fields, code: '000000' === new App(secret).code() ? '111111' : '000000' });
  assert.equal(wrong.status, 401);
  const wrongHtml = await wrong.text();
  assert.match(wrongHtml, /The code you entered is invalid/);
  assert.equal(secretOf(wrongHtml), secret);

  const phone = new App(secret);
  const code = phone.code();
  const ok = await post(p.jar, '/u/mfa', { ...formFields(wrongHtml), code });
  assert.equal(ok.status, 200);
  const okHtml = await ok.text();
  const recovery = recoveryOf(okHtml);
  assert.match(recovery, /^[A-Z0-9]{24}$/);
  const claims = await exchange(await toCallback(p.jar, ok, okHtml));
  assert.deepEqual(claims.amr, ['mfa']);
  assert.equal(claims.sub, userId);

  const methods = (await s.api('GET', `/users/${encodeURIComponent(userId)}/authentication-methods`)).body as any[];
  assert.deepEqual(methods.map((m) => m.type).sort(), ['password', 'recovery-code', 'totp']);
  assert.ok(!JSON.stringify(methods).includes(secret), 'the secret is never answered');
  const enrollments = (await s.api('GET', `/users/${encodeURIComponent(userId)}/enrollments`)).body as any[];
  assert.deepEqual(enrollments.map((e) => [e.type, e.status]), [['authenticator', 'confirmed']]);
  let types: string[] = [];
  for (let i = 0; i < 50 && !(types.includes('gd_enrollment_complete') && types.includes('gd_auth_failed')); i++) {
    await new Promise((r) => setTimeout(r, 100));
    types = await logTypes(userId);
  }
  assert.ok(types.includes('gd_enrollment_complete') && types.includes('gd_auth_succeed') && types.includes('gd_auth_failed'), types.join(','));
  enrolled = { email, userId, app: phone, recovery, jar: p.jar, lastCode: code };
});

test('the session remembers the second factor: a silent login asks for none', async () => {
  const done = await follow(enrolled.jar, authorize({ prompt: 'none' }), s.baseUrl);
  assert.ok(done.url.startsWith(CB) && new URL(done.url).searchParams.get('code'), done.url);
  assert.deepEqual((await exchange(done.url)).amr, ['mfa']);
});

test('a fresh login challenges the enrolled app: a used code is refused, a new one passes', async () => {
  const p = await toMfaPage(enrolled.email, enrolled.jar, { prompt: 'login' });
  assert.match(p.html, /Verify your identity/);
  assert.doesNotMatch(p.html, /otp-secret/, 'no second enrollment');
  const reused = await post(p.jar, '/u/mfa', { ...p.fields, code: enrolled.lastCode });
  assert.equal(reused.status, 401);
  const html = await reused.text();
  const ok = await post(p.jar, '/u/mfa', { ...formFields(html), code: enrolled.app.code() });
  assert.equal(ok.status, 303);
  assert.deepEqual((await exchange(await toCallback(p.jar, ok))).amr, ['mfa']);
});

test('a recovery code logs in once and is replaced by a new one', async () => {
  const p = await toMfaPage(enrolled.email);
  const link = /href="([^"]*\/u\/mfa\/recovery[^"]*)"/.exec(decodeEntities(p.html));
  assert.ok(link, 'the challenge offers the recovery code');
  const page = await go(p.jar, new URL(link![1], s.baseUrl).toString());
  const fields = formFields(await page.text());
  const bad = await post(p.jar, '/u/mfa/recovery', { ...fields, code: 'A'.repeat(24) });
  assert.equal(bad.status, 401);
  const ok = await post(p.jar, '/u/mfa/recovery', { ...formFields(await bad.text()), code: enrolled.recovery.toLowerCase() });
  assert.equal(ok.status, 200);
  const html = await ok.text();
  const next = recoveryOf(html);
  assert.notEqual(next, enrolled.recovery);
  assert.match(html, /no longer works/);
  assert.deepEqual((await exchange(await toCallback(p.jar, ok, html))).amr, ['mfa']);

  const again = await toMfaPage(enrolled.email);
  const recoveryPage = await go(again.jar, `${s.baseUrl}/u/mfa/recovery?${new URLSearchParams({ state: again.fields.state })}`);
  const spent = await post(again.jar, '/u/mfa/recovery', { ...formFields(await recoveryPage.text()), code: enrolled.recovery });
  assert.equal(spent.status, 401, 'the used recovery code no longer works');
  const types = await logTypes(enrolled.userId);
  assert.ok(types.includes('gd_recovery_succeed'), types.join(','));
});

test('guessing is limited: after ten wrong codes even the right one is refused', async () => {
  const email = 'mfa-guess@example.com';
  await createUser(s, email, PW);
  const p = await toMfaPage(email);
  const phone = new App(secretOf(p.html));
  let fields = p.fields;
  const right = phone.code();
  const wrong = right === '123456' ? '654321' : '123456';
  for (let i = 0; i < 10; i++) {
    const r = await post(p.jar, '/u/mfa', { ...fields, code: wrong });
    assert.equal(r.status, 401, `attempt ${i + 1}`);
    fields = formFields(await r.text());
  }
  const r = await post(p.jar, '/u/mfa', { ...fields, code: right });
  assert.equal(r.status, 429);
  assert.match(await r.text(), /Too many failed attempts/);

  // The help desk's reset starts the user over: a new app, and guesses counted afresh.
  const user = (await s.api('GET', `/users-by-email?email=${encodeURIComponent(email)}`)).body[0];
  assert.equal((await s.api('DELETE', `/users/${encodeURIComponent(user.user_id)}/authenticators`)).status, 204);
  const again = await toMfaPage(email);
  const secret = secretOf(again.html);
  assert.notEqual(secret, secretOf(p.html));
  const ok = await post(again.jar, '/u/mfa', { ...again.fields, code: new App(secret).code() });
  assert.equal(ok.status, 200);
  assert.deepEqual((await exchange(await toCallback(again.jar, ok, await ok.text()))).amr, ['mfa']);
});

test('a forged form and a login not waiting for MFA are refused', async () => {
  const p = await toMfaPage('mfa-guess@example.com');
  const forged = await post(p.jar, '/u/mfa', { ...p.fields, _csrf: 'forged', code: '123456' });
  assert.equal(forged.status, 403);
  const stale = await go(new Jar(), `${s.baseUrl}/u/mfa?state=not-a-login-state-at-all`);
  assert.equal(stale.status, 400);
});

test('post-login actions: enable("any") asks for MFA with the policy off, and run once', async () => {
  await setMfa(false);
  await bind(`exports.onExecutePostLogin = async (event, api) => {
    api.user.setAppMetadata('runs', (event.user.app_metadata.runs || 0) + 1);
    api.idToken.setCustomClaim('https://mfa-rp.example/runs', (event.user.app_metadata.runs || 0) + 1);
    if (event.user.email.startsWith('mfa-action')) api.multifactor.enable('any');
  };`);
  const email = 'mfa-action@example.com';
  const userId = (await createUser(s, email, PW)).user_id;
  const p = await toMfaPage(email);
  const ok = await post(p.jar, '/u/mfa', { ...p.fields, code: new App(secretOf(p.html)).code() });
  const html = await ok.text();
  const claims = await exchange(await toCallback(p.jar, ok, html));
  assert.deepEqual(claims.amr, ['mfa']);
  assert.equal(claims['https://mfa-rp.example/runs'], 1);
  assert.equal((await s.api('GET', `/users/${encodeURIComponent(userId)}`)).body.app_metadata.runs, 1);

  // Others this action leaves alone log in with the password alone.
  const plain = await scriptedLogin(s, authorize(), 'mfa-guess@example.com', PW);
  assert.ok(plain.url.startsWith(CB), plain.url);
  assert.equal((await exchange(plain.url)).amr, undefined);
});

test('post-login actions: enable("none") waives the policy', async () => {
  await setMfa(true);
  await bind(`exports.onExecutePostLogin = async (event, api) => { api.multifactor.enable('none'); };`);
  const r = await scriptedLogin(s, authorize(), enrolled.email, PW);
  assert.ok(r.url.startsWith(CB), r.url);
  assert.equal((await exchange(r.url)).amr, undefined);
  await bind();
});

test('a silent login needing a second factor gets interaction_required; no offered factor gets access_denied', async () => {
  await setMfa(false);
  const jar = new Jar();
  const r = await scriptedLogin(s, authorize(), 'mfa-guess@example.com', PW, jar);
  assert.ok(r.url.startsWith(CB), r.url);
  await setMfa(true);
  const silent = await follow(jar, authorize({ prompt: 'none' }), s.baseUrl);
  assert.equal(new URL(silent.url).searchParams.get('error'), 'interaction_required', silent.url);

  await setMfa(true, false);
  const refused = await scriptedLogin(s, authorize(), enrolled.email, PW);
  const out = new URL(refused.url);
  assert.equal(out.searchParams.get('error'), 'access_denied', refused.url);
  assert.match(out.searchParams.get('error_description') ?? '', /authenticator app/);

  // With no factor enabled at all, the policy has nothing to ask with.
  await setMfa(true, false, false);
  const open = await scriptedLogin(s, authorize(), enrolled.email, PW);
  assert.ok(open.url.startsWith(CB), open.url);
  assert.equal((await exchange(open.url)).amr, undefined);
  await setMfa(false);
});
