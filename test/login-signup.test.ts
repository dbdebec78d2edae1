import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from './helpers/server.ts';
import { Jar, createApp, follow, formFields, go } from './helpers/login-flow.ts';

// /u/signup: screen_hint and connection routing, login_hint, and the
// connection's password policy (levels, dictionary, personal info, history)
// refused with a 400 page that says what is wrong.

let s: TestServer;
let app: { client_id: string; client_secret?: string };
let connId: string;
const CB = 'https://app.example.com/callback';
const CONN = 'signup-db';

before(async () => {
  s = await startServer();
  app = await createApp(s, { name: 'Signup App', app_type: 'regular_web', callbacks: [CB] });
  const c = await s.api('POST', '/connections', { body: { name: CONN, strategy: 'auth0', enabled_clients: [app.client_id] } });
  assert.equal(c.status, 201);
  connId = c.body.id;
});
after(async () => { await s?.close(); });

const authorize = (params: Record<string, string>) => `${s.baseUrl}/authorize?${new URLSearchParams({ client_id: app.client_id, redirect_uri: CB, response_type: 'code', scope: 'openid email', ...params })}`;
const setOptions = async (options: Record<string, unknown>) => {
  const r = await s.api('PATCH', `/connections/${connId}`, { body: { options } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
};
const alertText = (html: string) => (/role="alert"[^>]*>([\s\S]*?)<\/p>/.exec(html)?.[1] ?? '').replace(/<br>/g, '\n').replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)));

/** Opens the signup page for the test connection and submits it. */
async function signup(email: string, password: string, extra: Record<string, string> = {}) {
  const jar = new Jar();
  const first = await follow(jar, authorize({ screen_hint: 'signup', connection: CONN }), s.baseUrl);
  assert.match(first.url, /\/u\/signup\?state=/);
  const fields = formFields(await first.res.text());
  const res = await go(jar, `${s.baseUrl}/u/signup`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...fields, email, password, ...extra }) });
  if (res.status !== 303) return { status: res.status, html: await res.text(), jar };
  const done = await follow(jar, new URL(res.headers.get('location')!, s.baseUrl).href, s.baseUrl);
  return { status: 303, url: done.url, jar, html: '' };
}
const userIn = async (email: string) => (await s.api('GET', `/users-by-email?email=${encodeURIComponent(email)}`)).body.find((u: any) => u.identities[0].connection === CONN);

test('screen_hint=signup lands on the signup page, login_hint fills the email; the login page links to it', async () => {
  const r = await follow(new Jar(), authorize({ screen_hint: 'signup', login_hint: 'hint@example.com' }), s.baseUrl);
  assert.match(r.url, /\/u\/signup\?state=/);
  const html = await r.res.text();
  assert.match(html, /<input id="email" name="email" type="email"[^>]*value="hint@example.com"/);
  assert.match(html, /id="password-policy"/);
  assert.match(html, /<label for="password">Password<\/label>/);
  const login = await follow(new Jar(), authorize({ login_hint: 'hint@example.com' }), s.baseUrl);
  assert.match(login.url, /\/u\/login\?state=/);
  const loginHtml = await login.res.text();
  assert.match(loginHtml, /<input id="username"[^>]*value="hint@example.com"/);
  assert.match(loginHtml, /href="&#47;u&#47;signup\?state&#61;/);
});

test('connection= routes signup and login to that database connection', async () => {
  await setOptions({ passwordPolicy: 'good' });
  const r = await signup('routed@example.com', 'Routed-pw-1!');
  assert.equal(r.status, 303, r.html);
  assert.ok(r.url!.startsWith(CB) && new URL(r.url!).searchParams.get('code'), r.url);
  const user = await userIn('routed@example.com');
  assert.ok(user, 'created in signup-db');
  assert.equal(user.logins_count, 1);
  // The default connection knows nothing of this user.
  const def = (await s.api('GET', '/users-by-email?email=routed%40example.com')).body;
  assert.equal(def.length, 1);
  // Logging in names the connection too: without it, the default connection is tried and refuses.
  const login = async (params: Record<string, string>) => {
    const jar = new Jar();
    const first = await follow(jar, authorize(params), s.baseUrl);
    const f = formFields(await first.res.text());
    return go(jar, `${s.baseUrl}/u/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...f, username: 'routed@example.com', password: 'Routed-pw-1!' }) });
  };
  assert.equal((await login({ connection: CONN })).status, 303);
  assert.equal((await login({})).status, 401);
  // An unknown or not-enabled connection cannot be signed up to.
  const jar = new Jar();
  const first = await follow(jar, authorize({ screen_hint: 'signup', connection: 'nope' }), s.baseUrl);
  assert.match(first.url, /\/u\/signup/);
  const refused = await go(jar, `${s.baseUrl}/u/signup`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...formFields(await first.res.text()), email: 'nope@example.com', password: 'Nope-pw-123!' }) });
  assert.equal(refused.status, 400);
  assert.equal(alertText(await refused.text()), 'Sign up is not available for this application.');
  assert.deepEqual((await s.api('GET', '/users-by-email?email=nope%40example.com')).body, []);
});

const LEVELS: Array<[string, string[], string[]]> = [
  // level, refused, accepted
  ['none', [], ['a']],
  ['low', ['abcde'], ['abcdef']],
  ['fair', ['abcdefg1', 'ABCDEFG1', 'Abcdefgh', 'Abc1'], ['Abcdefg1']],
  ['good', ['abcdefg1', 'abcdefgh', 'Ab1!'], ['abcdef1!', 'Abcdefg1']],
  ['excellent', ['Abcdef1!', 'Abcdefff1!x', 'abcdefghij1'], ['Abcdefg1!x']],
];

for (const [level, refused, accepted] of LEVELS) {
  test(`passwordPolicy "${level}" is enforced on the signup page`, async () => {
    await setOptions({ passwordPolicy: level });
    for (const [i, pw] of refused.entries()) {
      const email = `${level}-bad-${i}@example.com`;
      const r = await signup(email, pw);
      assert.equal(r.status, 400, `${level} accepted ${pw}`);
      const msg = alertText(r.html);
      assert.match(msg, /^Password is too weak\. Your password must have:\n\* At least \d+ characters in length/, msg);
      assert.ok(!/PasswordStrengthError/.test(msg), 'no error class names');
      assert.equal(await userIn(email), undefined, 'nothing created');
      assert.match(r.html, new RegExp(`value="${email.replace(/[.]/g, '\\.')}"`), 'email kept');
    }
    for (const [i, pw] of accepted.entries()) {
      const r = await signup(`${level}-ok-${i}@example.com`, pw);
      assert.equal(r.status, 303, `${level} refused ${pw}: ${alertText(r.html)}`);
      assert.ok(new URL(r.url!).searchParams.get('code'));
    }
  });
}

test('password_dictionary refuses common and custom words', async () => {
  await setOptions({ passwordPolicy: 'good', password_dictionary: { enable: true, dictionary: ['Acme-Rocket-1'] } });
  for (const pw of ['Password123', 'Acme-Rocket-1']) {
    const r = await signup(`dict-${pw}@example.com`, pw);
    assert.equal(r.status, 400, pw);
    assert.equal(alertText(r.html), 'Password is too common.');
  }
  assert.equal((await signup('dict-ok@example.com', 'Unusual-Kettle-42')).status, 303);
});

test('password_no_personal_info refuses passwords that contain the email name', async () => {
  await setOptions({ passwordPolicy: 'good', password_no_personal_info: { enable: true } });
  const r = await signup('johnsmith@example.com', 'johnsmith-Pw1!');
  assert.equal(r.status, 400);
  assert.equal(alertText(r.html), 'Password contains user information.');
  assert.equal(await userIn('johnsmith@example.com'), undefined);
  assert.equal((await signup('johnsmith@example.com', 'Quiet-Harbor-9')).status, 303);
});

test('password_history: after signup and a reset, the signup password cannot be used again', async () => {
  await setOptions({ passwordPolicy: 'good', password_history: { enable: true, size: 5 } });
  assert.equal((await signup('history@example.com', 'First-pw-111')).status, 303);
  const user = await userIn('history@example.com');
  const reset = async (password: string) => {
    const t = await s.api('POST', '/tickets/password-change', { body: { user_id: user.user_id } });
    assert.equal(t.status, 201, JSON.stringify(t.body));
    const jar = new Jar();
    const page = await go(jar, t.body.ticket);
    const fields = formFields(await page.text());
    const r = await go(jar, `${s.baseUrl}/u/reset-password`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...fields, password, confirm_password: password }) });
    return { status: r.status, html: await r.text() };
  };
  assert.equal((await reset('Second-pw-222')).status, 200);
  const again = await reset('First-pw-111');
  assert.equal(again.status, 400);
  assert.match(again.html, /Password has previously been used/);
  assert.equal((await reset('Third-pw-333')).status, 200);
});

test('connections that require a username ask for one on the signup page', async () => {
  await setOptions({ passwordPolicy: 'good', requires_username: true });
  const jar = new Jar();
  const first = await follow(jar, authorize({ screen_hint: 'signup', connection: CONN }), s.baseUrl);
  const html = await first.res.text();
  assert.match(html, /<label for="signup-username">Username<\/label>/);
  const fields = formFields(html);
  const post = (extra: Record<string, string>) => go(jar, `${s.baseUrl}/u/signup`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...fields, email: 'uname@example.com', password: 'Uname-pw-123', ...extra }) });
  const missing = await post({});
  assert.equal(missing.status, 400);
  assert.equal(alertText(await missing.text()), 'Please enter a username.');
  const ok = await post({ username: 'uname_1' });
  assert.equal(ok.status, 303);
  assert.equal((await userIn('uname@example.com')).username, 'uname_1');
});
