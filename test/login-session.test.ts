import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { startServer, type TestServer } from './helpers/server.ts';
import { Jar, createApp, createUser, follow, formFields, go, scriptedLogin } from './helpers/login-flow.ts';

// The SSO session: silent authentication, prompt=login, the tenant's absolute
// and idle lifetimes, RP-initiated logout at /oidc/logout, and the ID token's
// sid being the Management API's session id.

let s: TestServer;
let web: { client_id: string; client_secret?: string };
let other: { client_id: string; client_secret?: string };
const CB = 'https://app.example.com/callback';
const BYE = 'https://app.example.com/bye';
const PW = 'Gina-pw-123!';
let userId: string;

before(async () => {
  s = await startServer();
  web = await createApp(s, { name: 'Web', app_type: 'regular_web', callbacks: [CB], allowed_logout_urls: [BYE] });
  other = await createApp(s, { name: 'Other', app_type: 'regular_web', callbacks: [CB] });
  userId = (await createUser(s, 'gina@example.com', PW)).user_id;
});
after(async () => { await s?.close(); });

const authorize = (params: Record<string, string>, client = web) => `${s.baseUrl}/authorize?${new URLSearchParams({ client_id: client.client_id, redirect_uri: CB, response_type: 'code', scope: 'openid email', ...params })}`;
async function exchange(callback: string, client = web) {
  const code = new URL(callback).searchParams.get('code');
  assert.ok(code, callback);
  const r = await fetch(`${s.baseUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: 'authorization_code', client_id: client.client_id, client_secret: client.client_secret, code, redirect_uri: CB }) });
  const body = await r.json() as any;
  assert.equal(r.status, 200, JSON.stringify(body));
  return body as { id_token: string; access_token: string };
}
const login = async (jar = new Jar(), params: Record<string, string> = {}) => {
  const r = await scriptedLogin(s, authorize({ state: 'l', ...params }), 'gina@example.com', PW, jar);
  assert.ok(r.url.startsWith(CB), r.url);
  return { jar, tokens: await exchange(r.url), url: r.url };
};
/** prompt=none from this browser: the callback's query (code or error). */
async function silent(jar: Jar, client = web) {
  const r = await go(jar, authorize({ prompt: 'none', state: 'silent' }, client));
  assert.equal(r.status, 303);
  const loc = r.headers.get('location')!;
  assert.ok(loc.startsWith(CB), `no page is shown: ${loc}`);
  return new URL(loc).searchParams;
}
async function editSession(sid: string, change: (p: any) => void) {
  const store = s.runtime.env.store;
  const row = await store.findPayload('Session', 'uid', sid);
  assert.ok(row, 'stored session');
  const p = JSON.parse(row.payload);
  change(p);
  const { tenant_id: _t, ...rest } = row;
  await store.upsertPayload({ ...rest, payload: JSON.stringify(p) });
}
const settings = async (body: Record<string, unknown>) => {
  const r = await s.api('PATCH', '/tenants/settings', { body });
  assert.equal(r.status, 200, JSON.stringify(r.body));
};
const now = () => Math.floor(Date.now() / 1000);

test('the ID token sid is the Management API session id, the same for every application in the session', async () => {
  const { jar, tokens } = await login();
  const sid = decodeJwt(tokens.id_token).sid as string;
  assert.ok(sid);
  const r = await s.api('GET', `/sessions/${encodeURIComponent(sid)}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.id, sid);
  assert.equal(r.body.user_id, userId);
  // A second application joins the same session: same sid, and the session lists both.
  const q = await silent(jar, other);
  const second = await exchange(`${CB}?${q}`, other);
  assert.equal(decodeJwt(second.id_token).sid, sid);
  const listed = await s.api('GET', `/sessions/${encodeURIComponent(sid)}`);
  assert.deepEqual(listed.body.clients.map((c: any) => c.client_id).sort(), [web.client_id, other.client_id].sort());
  // Refreshing keeps the sid (the refresh token carries it).
  const again = await exchange(`${CB}?${await silent(jar)}`);
  assert.equal(decodeJwt(again.id_token).sid, sid);
});

test('prompt=none answers with a code while the session lives, login_required without one', async () => {
  const { jar } = await login();
  const q = await silent(jar);
  assert.ok(q.get('code'));
  assert.equal(q.get('state'), 'silent');
  const none = await silent(new Jar());
  assert.equal(none.get('error'), 'login_required');
  assert.equal(none.get('code'), null);
});

test('prompt=login shows the login page despite the session, and the new login moves auth_time', async () => {
  const { jar, tokens } = await login(new Jar(), { max_age: '3600' });
  const firstAuth = decodeJwt(tokens.id_token).auth_time as number;
  assert.equal(typeof firstAuth, 'number');
  const r = await follow(jar, authorize({ prompt: 'login', state: 'pl' }), s.baseUrl);
  assert.match(r.url, /\/u\/login\?state=/, 'login page shown');
  assert.equal(r.res.status, 200);
  await new Promise((res) => setTimeout(res, 1100));
  const again = await scriptedLogin(s, authorize({ prompt: 'login', state: 'pl2', max_age: '3600' }), 'gina@example.com', PW, jar);
  assert.ok(again.url.startsWith(CB), again.url);
  const t2 = await exchange(again.url);
  assert.ok((decodeJwt(t2.id_token).auth_time as number) > firstAuth);
  assert.equal(decodeJwt(t2.id_token).sid, decodeJwt(tokens.id_token).sid, 'same session');
});

test('session_lifetime (hours) ends sessions older than it, including existing ones', async () => {
  // The setting is whole hours (the Management API schema's type); a fraction is refused.
  const frac = await s.api('PATCH', '/tenants/settings', { body: { session_lifetime: 0.0005 } });
  assert.equal(frac.status, 400);
  await settings({ session_lifetime: 1 });
  const { jar, tokens } = await login();
  const sid = decodeJwt(tokens.id_token).sid as string;
  assert.ok((await silent(jar)).get('code'), 'fresh session is fine');
  await editSession(sid, (p) => { p.loginTs = now() - 3600 + 120; });
  assert.ok((await silent(jar)).get('code'), 'just inside the lifetime');
  await editSession(sid, (p) => { p.loginTs = now() - 3600 - 5; });
  assert.equal((await silent(jar)).get('error'), 'login_required');
  assert.equal((await s.api('GET', `/sessions/${sid}`)).status, 404, 'not shown by the Management API either');
  await settings({ session_lifetime: 168 });
});

test('idle_session_lifetime (hours) ends sessions not used for that long; each use restarts it', async () => {
  await settings({ idle_session_lifetime: 1 });
  const { jar, tokens } = await login();
  const sid = decodeJwt(tokens.id_token).sid as string;
  await editSession(sid, (p) => { p.seen = now() - 3600 + 120; });
  assert.ok((await silent(jar)).get('code'), 'used within the idle time');
  const refreshed = JSON.parse((await s.runtime.env.store.findPayload('Session', 'uid', sid))!.payload);
  assert.ok(refreshed.seen >= now() - 5, 'the use restarted the idle clock');
  const seen = await s.api('GET', `/sessions/${sid}`);
  assert.ok(Date.parse(seen.body.last_interacted_at) >= (now() - 5) * 1000, seen.body.last_interacted_at);
  await editSession(sid, (p) => { p.seen = now() - 3600 - 5; });
  assert.equal((await silent(jar)).get('error'), 'login_required');
  assert.equal((await s.api('GET', `/sessions/${sid}`)).status, 404);
  await settings({ idle_session_lifetime: 72 });
});

test('/oidc/logout with id_token_hint and a registered post_logout_redirect_uri: back there with state, session ended', async () => {
  const { jar, tokens } = await login();
  const sid = decodeJwt(tokens.id_token).sid as string;
  const url = `${s.baseUrl}/oidc/logout?${new URLSearchParams({ id_token_hint: tokens.id_token, post_logout_redirect_uri: BYE, state: 'bye-state' })}`;
  const page = await go(jar, url);
  // The engine's confirmation form submits itself; with no script, a button does.
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /<form[^>]+action="[^"]*\/oidc\/logout\/confirm"/);
  assert.match(html, /\.submit\(\)/);
  assert.match(html, /<noscript><button type="submit"/);
  const fields = formFields(html);
  assert.equal(fields.logout, 'yes');
  const done = await go(jar, `${s.baseUrl}/oidc/logout/confirm`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) });
  assert.equal(done.status, 303);
  const loc = new URL(done.headers.get('location')!);
  assert.equal(`${loc.origin}${loc.pathname}`, BYE);
  assert.equal(loc.searchParams.get('state'), 'bye-state');
  assert.equal((await silent(jar)).get('error'), 'login_required');
  assert.equal((await s.api('GET', `/sessions/${sid}`)).status, 404);
  // A forged confirmation (no xsrf value from the form) ends nothing.
  const { jar: jar2 } = await login();
  const forged = await go(jar2, `${s.baseUrl}/oidc/logout/confirm`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ logout: 'yes' }) });
  assert.equal(forged.status, 400);
  assert.ok((await silent(jar2)).get('code'), 'session still alive');
});

test('/oidc/logout with an unregistered post_logout_redirect_uri: an error page, no redirect, session kept', async () => {
  const { jar, tokens } = await login();
  for (const target of ['https://evil.example/bye', `${BYE}/`, 'https://app.example.com/bye?x=1', CB]) {
    const r = await go(jar, `${s.baseUrl}/oidc/logout?${new URLSearchParams({ id_token_hint: tokens.id_token, post_logout_redirect_uri: target, state: 'x' })}`);
    assert.equal(r.status, 400, target);
    assert.equal(r.headers.get('location'), null);
    const html = await r.text();
    assert.match(html, /post_logout_redirect_uri/);
    assert.ok(!/<form/.test(html), 'no logout form');
  }
  assert.ok((await silent(jar)).get('code'), 'session still alive');
  // Without id_token_hint or client_id the URI cannot be checked: the person is
  // signed out and stays on the signed-out page, never sent there.
  const bare = await go(jar, `${s.baseUrl}/oidc/logout?${new URLSearchParams({ post_logout_redirect_uri: 'https://evil.example/', state: 'x' })}`);
  assert.equal(bare.status, 200);
  const done = await go(jar, `${s.baseUrl}/oidc/logout/confirm`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(formFields(await bare.text())) });
  assert.equal(done.status, 303);
  const end = await go(jar, new URL(done.headers.get('location')!, s.baseUrl).href);
  assert.equal(end.status, 200);
  assert.ok(done.headers.get('location')!.startsWith(`${s.baseUrl}/`) || done.headers.get('location')!.startsWith('/'), done.headers.get('location')!);
  assert.match(await end.text(), /signed out/);
  assert.equal((await silent(jar)).get('error'), 'login_required');
});
