import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { startServer, type TestServer } from './helpers/server.ts';
import { Jar, createApp, createUser, follow, go, scriptedLogin } from './helpers/login-flow.ts';

let s: TestServer;
let web: { client_id: string; client_secret?: string };
let spa: { client_id: string };
const CB = 'https://app.example.com/callback';
const WILD = 'https://*.tenant.example.org/cb';

before(async () => {
  s = await startServer();
  web = await createApp(s, { name: 'Web', app_type: 'regular_web', callbacks: [CB, WILD, 'http://localhost:4000/cb'], allowed_logout_urls: ['https://app.example.com/bye'] });
  spa = await createApp(s, { name: 'SPA', app_type: 'spa', callbacks: [CB] });
  await createUser(s, 'carol@example.com', 'Carol-pw-123!');
  await s.api('PATCH', '/tenants/settings', { body: { allowed_logout_urls: ['https://tenant-wide.example/logged-out'] } });
});
after(async () => { await s?.close(); });

const authorize = (params: Record<string, string>) => `${s.baseUrl}/authorize?${new URLSearchParams({ response_type: 'code', scope: 'openid', ...params })}`;

const REJECTED = [
  'https://APP.example.com/callback', 'https://app.example.com/Callback', 'https://app.example.com/callback/',
  'https://app.example.com/callback?x=1', 'https://app.example.com/callback#frag', 'https://app.example.com/callback/../callback',
  'https://app.example.com:443/callback', 'https://app.example.com:8443/callback', 'http://app.example.com/callback',
  'https://evil@app.example.com/callback', 'https://app.example.com@evil.com/callback', 'https://app.example.com.evil.com/callback',
  'https://evilapp.example.com/callback', 'https://app.example.com%2F@evil.com/callback', 'https://app.example.com/callback%2F..%2Fevil',
  'https://app.example.com/%63allback', 'https://app.example.com\\@evil.com/callback', 'https://app.example.com/callback%00',
  ' https://app.example.com/callback', 'https://app.example.com/callback ', '//app.example.com/callback', 'app.example.com/callback',
  'javascript:alert(1)//https://app.example.com/callback', 'https://93.184.216.34/callback', 'https://[::1]/callback', 'http://127.0.0.1:4000/cb',
  'https://a.b.tenant.example.org/cb', 'https://tenant.example.org/cb', 'https://.tenant.example.org/cb', 'https://x.tenant.example.org.evil.com/cb',
  'https://x.tenant.example.org/cb/', 'https://x.tenant.example.org/CB', 'https://X.tenant.example.org/cb', 'http://x.tenant.example.org/cb',
  'https://x.tenant.example.org:444/cb', 'https://user@x.tenant.example.org/cb', 'https://x-.tenant.example.org/cb', 'https://x%2etenant.example.org/cb',
  'https://evil.com/https://x.tenant.example.org/cb', 'https://127.0.0.1.tenant.example.org.evil/cb',
];

test(`${REJECTED.length} redirect_uri variants are refused with an error page, never a redirect`, async () => {
  assert.ok(REJECTED.length >= 30);
  for (const uri of REJECTED) {
    const r = await go(new Jar(), authorize({ client_id: web.client_id, redirect_uri: uri, state: 'st' }));
    assert.equal(r.status, 400, `${uri} → ${r.status} ${r.headers.get('location')}`);
    assert.equal(r.headers.get('location'), null, uri);
    assert.match(await r.text(), /redirect_uri/);
  }
});

test('exact and one-label wildcard callbacks are accepted', async () => {
  for (const uri of [CB, 'https://acme.tenant.example.org/cb', 'http://localhost:4000/cb']) {
    const r = await go(new Jar(), authorize({ client_id: web.client_id, redirect_uri: uri, state: 'st' }));
    assert.equal(r.status, 303, uri);
    assert.match(r.headers.get('location')!, /^\/u\/login\?state=/);
  }
});

test('a change to Allowed Callback URLs applies to the next /authorize at once', async () => {
  const app = await createApp(s, { name: 'Moving', app_type: 'regular_web', callbacks: ['https://old.example.com/cb'] });
  const at = (uri: string) => go(new Jar(), authorize({ client_id: app.client_id, redirect_uri: uri, state: 'st' }));
  assert.equal((await at('https://old.example.com/cb')).status, 303);
  assert.equal((await at('https://new.example.com/cb')).status, 400);
  const patched = await s.api('PATCH', `/clients/${app.client_id}`, { body: { callbacks: ['https://new.example.com/cb'] } });
  assert.equal(patched.status, 200);
  assert.equal((await at('https://new.example.com/cb')).status, 303);
  assert.equal((await at('https://old.example.com/cb')).status, 400);
});

test('errors after the redirect_uri is validated go back to it with state; unknown clients get an error page', async () => {
  const r = await go(new Jar(), authorize({ client_id: web.client_id, redirect_uri: CB, state: 'st1', prompt: 'none' }));
  assert.equal(r.status, 303);
  const loc = new URL(r.headers.get('location')!);
  assert.equal(loc.origin + loc.pathname, CB);
  assert.equal(loc.searchParams.get('error'), 'login_required');
  assert.equal(loc.searchParams.get('state'), 'st1');
  const u = await go(new Jar(), authorize({ client_id: 'nope', redirect_uri: CB }));
  assert.equal(u.status, 400);
  assert.equal(u.headers.get('location'), null);
});

test('an audience that names no API goes back to the callback as access_denied, as Auth0 answers it', async () => {
  for (const audience of ['https://no-such-api.example/', 'javascript:alert(1)']) {
    const r = await go(new Jar(), authorize({ client_id: web.client_id, redirect_uri: CB, state: 'st2', audience }));
    assert.equal(r.status, 303, `${audience}: ${r.status}`);
    const loc = new URL(r.headers.get('location')!);
    assert.equal(loc.origin + loc.pathname, CB);
    assert.equal(loc.searchParams.get('error'), 'access_denied');
    assert.equal(loc.searchParams.get('error_description'), `Service not found: ${audience}`);
    assert.equal(loc.searchParams.get('state'), 'st2');
  }
});

test('PKCE: required for public clients, plain refused, wrong verifier refused', async () => {
  const none = await go(new Jar(), authorize({ client_id: spa.client_id, redirect_uri: CB, state: 's' }));
  assert.equal(new URL(none.headers.get('location')!).searchParams.get('error'), 'invalid_request');
  const verifier = randomBytes(32).toString('base64url');
  const plain = await go(new Jar(), authorize({ client_id: spa.client_id, redirect_uri: CB, code_challenge: verifier, code_challenge_method: 'plain' }));
  const plainLoc = new URL(plain.headers.get('location')!);
  assert.equal(plainLoc.searchParams.get('error'), 'invalid_request');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const { url } = await scriptedLogin(s, authorize({ client_id: spa.client_id, redirect_uri: CB, code_challenge: challenge, code_challenge_method: 'S256' }), 'carol@example.com', 'Carol-pw-123!');
  const code = new URL(url).searchParams.get('code')!;
  const bad = await fetch(`${s.baseUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: 'authorization_code', client_id: spa.client_id, code, redirect_uri: CB, code_verifier: randomBytes(32).toString('base64url') }) });
  assert.equal(bad.status, 403);
  assert.equal((await bad.json() as any).error, 'invalid_grant');
  const missing = await fetch(`${s.baseUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: 'authorization_code', client_id: spa.client_id, code, redirect_uri: CB }) });
  assert.notEqual(missing.status, 200);
});

async function webCode(scope = 'openid offline_access') {
  const { url, jar } = await scriptedLogin(s, authorize({ client_id: web.client_id, redirect_uri: CB, scope }), 'carol@example.com', 'Carol-pw-123!');
  return { code: new URL(url).searchParams.get('code')!, jar };
}
const exchange = (code: string, auth: 'post' | 'basic' | 'badbasic' | 'badpost') => {
  const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: CB });
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (auth === 'post' || auth === 'badpost') { body.set('client_id', web.client_id); body.set('client_secret', auth === 'post' ? web.client_secret! : 'wrong'); }
  else headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(web.client_id)}:${encodeURIComponent(auth === 'basic' ? web.client_secret! : 'wrong')}`).toString('base64')}`;
  return fetch(`${s.baseUrl}/oauth/token`, { method: 'POST', headers, body }).then(async (r) => ({ status: r.status, body: await r.json() as any }));
};

test('a failed client authentication does not use up the code (Dex retries with the other method)', async () => {
  const { code } = await webCode();
  const bad = await exchange(code, 'badbasic');
  assert.equal(bad.status, 401);
  const badPost = await exchange(code, 'badpost');
  assert.equal(badPost.status, 401);
  const ok = await exchange(code, 'post');
  assert.equal(ok.status, 200);
  assert.ok(ok.body.id_token);
});

test('code reuse is refused and revokes the tokens issued from that code', async () => {
  const { code } = await webCode();
  const first = await exchange(code, 'basic');
  assert.equal(first.status, 200);
  const info = await fetch(`${s.baseUrl}/userinfo`, { headers: { authorization: `Bearer ${first.body.access_token}` } });
  assert.equal(info.status, 200);
  const again = await exchange(code, 'basic');
  assert.equal(again.status, 403);
  assert.equal(again.body.error, 'invalid_grant');
  const infoAfter = await fetch(`${s.baseUrl}/userinfo`, { headers: { authorization: `Bearer ${first.body.access_token}` } });
  assert.equal(infoAfter.status, 401);
  const rt = await fetch(`${s.baseUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: first.body.refresh_token, client_id: web.client_id, client_secret: web.client_secret! }) });
  assert.equal(rt.status, 403);
});

test('/v2/logout: returnTo must be allowed; the session ends', async () => {
  const { jar } = await webCode();
  for (const bad of ['https://evil.example/', 'https://app.example.com/bye/', 'https://app.example.com/bye?x', '//evil.example', 'javascript:alert(1)']) {
    const r = await go(jar, `${s.baseUrl}/v2/logout?${new URLSearchParams({ client_id: web.client_id, returnTo: bad })}`);
    assert.equal(r.status, 400, bad);
    assert.equal(r.headers.get('location'), null);
  }
  const tenantWide = await go(new Jar(), `${s.baseUrl}/v2/logout?${new URLSearchParams({ returnTo: 'https://tenant-wide.example/logged-out' })}`);
  assert.equal(tenantWide.status, 302);
  const notForClient = await go(new Jar(), `${s.baseUrl}/v2/logout?${new URLSearchParams({ client_id: web.client_id, returnTo: 'https://tenant-wide.example/logged-out' })}`);
  assert.equal(notForClient.status, 400, 'with client_id the application list applies');
  // Still logged in: prompt=none succeeds.
  const silent = await follow(jar, authorize({ client_id: web.client_id, redirect_uri: CB, prompt: 'none' }), s.baseUrl);
  assert.ok(new URL(silent.url).searchParams.get('code'));
  const out = await go(jar, `${s.baseUrl}/v2/logout?${new URLSearchParams({ client_id: web.client_id, returnTo: 'https://app.example.com/bye' })}`);
  assert.equal(out.status, 302);
  assert.equal(out.headers.get('location'), 'https://app.example.com/bye');
  const after = await follow(jar, authorize({ client_id: web.client_id, redirect_uri: CB, prompt: 'none' }), s.baseUrl);
  assert.equal(new URL(after.url).searchParams.get('error'), 'login_required');
});

test('login pages escape every reflected parameter, carry CSRF and CSP, and set safe cookies', async () => {
  const probe = `"><script>alert(1)</script><img src=x onerror=alert(1)>'`;
  const jar = new Jar();
  const first = await follow(jar, authorize({ client_id: web.client_id, redirect_uri: CB, login_hint: probe, state: probe, nonce: probe, connection: probe, screen_hint: probe, audience: '', ui_locales: probe, auth0Client: probe }), s.baseUrl);
  const loginUrl = first.url;
  assert.match(loginUrl, /\/u\/login\?state=/);
  const html = await first.res.text();
  assert.ok(!html.includes('<script>alert(1)'), 'no raw script');
  assert.ok(!html.includes('<img src=x'), 'no raw img');
  assert.match(first.res.headers.get('content-security-policy')!, /frame-ancestors 'none'/);
  assert.match(html, /name="_csrf" value="[^"]+"/);
  assert.match(html, /<label for="username">/);
  for (const [name] of jar.cookies) assert.ok(name);
  for (const page of ['/u/login', '/u/signup', '/u/consent', '/u/login?state=', '/u/signup?state=x']) {
    const r = await go(jar, `${s.baseUrl}${page}${page.includes('?') ? '' : '?state='}${encodeURIComponent(probe)}`);
    const body = await r.text();
    assert.ok(!body.includes('<script>alert(1)'), page);
    assert.ok(!body.includes('<img src=x'), page);
    assert.match(r.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/, page);
  }
  // A clean interaction (the probe above named a connection that does not exist).
  const clean = await follow(jar, authorize({ client_id: web.client_id, redirect_uri: CB, login_hint: probe }), s.baseUrl);
  const cleanUrl = clean.url;
  assert.ok(!(await clean.res.text()).includes('<script>alert(1)'));
  // The form rejects a missing CSRF token.
  const state = new URL(cleanUrl).searchParams.get('state')!;
  const noCsrf = await go(jar, `${s.baseUrl}/u/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ state, username: 'carol@example.com', password: 'Carol-pw-123!' }) });
  assert.equal(noCsrf.status, 403);
  // A wrong password re-renders the form with the email escaped, and the same message as an unknown user.
  const form = await (await go(jar, cleanUrl)).text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(form)![1];
  const wrong = await go(jar, `${s.baseUrl}/u/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ state, _csrf: csrf, username: probe, password: 'x' }) });
  const wrongHtml = await wrong.text();
  assert.equal(wrong.status, 401);
  assert.ok(!wrongHtml.includes('<script>alert(1)'));
  const bad = await go(jar, `${s.baseUrl}/u/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ state, _csrf: csrf, username: 'carol@example.com', password: 'x' }) });
  const msg = (h: string) => /role="alert"[^>]*>([^<]+)</.exec(h)?.[1];
  assert.equal(msg(await bad.text()), msg(wrongHtml));
});

test('cookies are Secure, HttpOnly and SameSite', async () => {
  const r = await follow(new Jar(), authorize({ client_id: web.client_id, redirect_uri: CB }), s.baseUrl);
  void r;
  const res = await fetch(authorize({ client_id: web.client_id, redirect_uri: CB }), { redirect: 'manual' });
  const cookies = res.headers.getSetCookie();
  assert.ok(cookies.length > 0);
  for (const c of cookies) {
    assert.match(c, /;\s*secure/i, c);
    assert.match(c, /;\s*httponly/i, c);
    assert.match(c, /;\s*samesite=/i, c);
  }
  const page = await follow(new Jar(), authorize({ client_id: web.client_id, redirect_uri: CB }), s.baseUrl);
  void page;
});
