import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { startServer, type TestServer } from './helpers/server.ts';
import { Jar, createApp, createUser, follow, go, scriptedLogin } from './helpers/login-flow.ts';

// /authorize response types and modes beyond code+query, the third-party
// consent page, and the login page's own rules (blocked users, branding,
// username login for connections that require one).

let s: TestServer;
let spa: { client_id: string };
let third: { client_id: string; client_secret?: string };
const CB = 'https://app.example.com/callback';
const API = 'https://orders.example';
const PW = 'Erin-pw-123!';

before(async () => {
  s = await startServer();
  spa = await createApp(s, { name: 'Implicit SPA', app_type: 'spa', callbacks: [CB], grant_types: ['implicit', 'authorization_code', 'refresh_token'], token_endpoint_auth_method: 'none' });
  third = await createApp(s, { name: 'Partner App', app_type: 'regular_web', callbacks: [CB], is_first_party: false });
  await createUser(s, 'erin@example.com', PW, { email_verified: true });
  await s.api('POST', '/resource-servers', { body: { name: 'Orders', identifier: API, scopes: [{ value: 'read:orders', description: 'Read orders' }] } });
});
after(async () => { await s?.close(); });

const authorize = (params: Record<string, string>) => `${s.baseUrl}/authorize?${new URLSearchParams({ redirect_uri: CB, scope: 'openid', ...params })}`;
// Hidden inputs of a page, named and numeric entities decoded.
const decodeEntities = (v: string) => v.replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)))
  .replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
function formFields(html: string) {
  const out: Record<string, string> = {};
  for (const m of html.matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)) out[m[1]] = decodeEntities(m[2]);
  return out;
}
const fragment = (url: string) => new URLSearchParams(new URL(url).hash.slice(1));
const jwks = () => createRemoteJWKSet(new URL(`${s.baseUrl}/.well-known/jwks.json`));
const pkce = () => {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256' };
};

test('response_type=id_token: nonce required, the ID token comes back in the fragment', async () => {
  const noNonce = await go(new Jar(), authorize({ client_id: spa.client_id, response_type: 'id_token', state: 's0' }));
  assert.equal(noNonce.status, 303);
  const err = fragment(noNonce.headers.get('location')!);
  assert.ok(noNonce.headers.get('location')!.startsWith(`${CB}#`), 'implicit errors use the fragment');
  assert.equal(err.get('error'), 'invalid_request');
  assert.match(err.get('error_description')!, /nonce/);
  assert.equal(err.get('state'), 's0');

  const { url } = await scriptedLogin(s, authorize({ client_id: spa.client_id, response_type: 'id_token', nonce: 'n-1', state: 's1', scope: 'openid email' }), 'erin@example.com', PW);
  assert.ok(url.startsWith(`${CB}#`), url);
  assert.equal(new URL(url).search, '', 'nothing in the query');
  const f = fragment(url);
  assert.equal(f.get('state'), 's1');
  assert.equal(f.get('access_token'), null);
  assert.equal(f.get('code'), null);
  const { payload } = await jwtVerify(f.get('id_token')!, jwks(), { issuer: `${s.baseUrl}/`, audience: spa.client_id });
  assert.equal(payload.nonce, 'n-1');
  assert.equal(payload.email, 'erin@example.com');
  assert.equal(payload.email_verified, true);
  assert.match(String(payload.sub), /^auth0\|/);
});

test('response_type="token id_token" (Auth0 order): access token and ID token in the fragment, at_hash binds them', async () => {
  const { url } = await scriptedLogin(s, authorize({ client_id: spa.client_id, response_type: 'token id_token', nonce: 'n-2', state: 's2', audience: API, scope: 'openid read:orders' }), 'erin@example.com', PW);
  assert.ok(url.startsWith(`${CB}#`), url);
  const f = fragment(url);
  assert.equal(f.get('state'), 's2');
  assert.equal(f.get('token_type'), 'Bearer');
  assert.ok(Number(f.get('expires_in')) > 0);
  const at = decodeJwt(f.get('access_token')!);
  assert.deepEqual(at.aud, [API, `${s.baseUrl}/userinfo`]);
  const { payload } = await jwtVerify(f.get('id_token')!, jwks(), { audience: spa.client_id });
  assert.equal(payload.nonce, 'n-2');
  const hash = createHash('sha256').update(f.get('access_token')!).digest().subarray(0, 16).toString('base64url');
  assert.equal(payload.at_hash, hash);
  // Without nonce the request is refused.
  const r = await go(new Jar(), authorize({ client_id: spa.client_id, response_type: 'token id_token', state: 's3' }));
  assert.equal(fragment(r.headers.get('location')!).get('error'), 'invalid_request');
});

test('an application without the implicit grant may not use id_token response types', async () => {
  const codeOnly = await createApp(s, { name: 'Code only', app_type: 'regular_web', callbacks: [CB], grant_types: ['authorization_code'] });
  const r = await go(new Jar(), authorize({ client_id: codeOnly.client_id, response_type: 'id_token', nonce: 'n', state: 's' }));
  const loc = r.headers.get('location') ?? '';
  assert.ok(loc.startsWith(CB), `${r.status} ${loc}`);
  const err = fragment(loc).get('error') ? fragment(loc) : new URL(loc).searchParams;
  assert.equal(err.get('error'), 'invalid_request');
  assert.match(err.get('error_description')!, /response_type/);
  assert.equal(fragment(loc).get('id_token'), null);
});

test('response_mode=fragment for code', async () => {
  const p = pkce();
  const { url } = await scriptedLogin(s, authorize({ client_id: spa.client_id, response_type: 'code', response_mode: 'fragment', state: 'f1', code_challenge: p.code_challenge, code_challenge_method: 'S256' }), 'erin@example.com', PW);
  assert.ok(url.startsWith(`${CB}#`), url);
  const f = fragment(url);
  assert.equal(f.get('state'), 'f1');
  const code = f.get('code')!;
  assert.ok(code);
  const t = await fetch(`${s.baseUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: 'authorization_code', client_id: spa.client_id, code, code_verifier: p.verifier, redirect_uri: CB }) });
  assert.equal(t.status, 200);
  assert.ok((await t.json() as any).id_token);
});

test('response_mode=form_post: an auto-submitting form to the redirect_uri, every value escaped', async () => {
  const p = pkce();
  const probe = `"><script>alert(1)</script>'`;
  const { res, url } = await scriptedLogin(s, authorize({ client_id: spa.client_id, response_type: 'code', response_mode: 'form_post', state: probe, code_challenge: p.code_challenge, code_challenge_method: 'S256' }), 'erin@example.com', PW);
  assert.ok(url.startsWith(s.baseUrl), url);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /text\/html/);
  const html = await res.text();
  assert.match(html, new RegExp(`<form[^>]+method="post"[^>]+action="${CB.replace(/[.]/g, '\\.')}"`));
  assert.ok(!html.includes('<script>alert(1)'), 'state reflected raw');
  const fields = formFields(html);
  assert.equal(fields.state, probe);
  assert.ok(fields.code);
  assert.equal(fields.access_token, undefined);
  assert.match(html, /\.submit\(\)/, 'submits itself');
  // The posted code works.
  const t = await fetch(`${s.baseUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: 'authorization_code', client_id: spa.client_id, code: fields.code, code_verifier: p.verifier, redirect_uri: CB }) });
  assert.equal(t.status, 200);
  // form_post also carries implicit responses and errors.
  const e = await go(new Jar(), authorize({ client_id: spa.client_id, response_type: 'code', response_mode: 'form_post', prompt: 'none', state: 'e1', code_challenge: p.code_challenge, code_challenge_method: 'S256' }));
  assert.equal(e.status, 400);
  const errFields = formFields(await e.text());
  assert.equal(errFields.error, 'login_required');
  assert.equal(errFields.state, 'e1');
});

async function thirdPartyLogin(jar: Jar, params: Record<string, string> = {}) {
  return scriptedLogin(s, authorize({ client_id: third.client_id, response_type: 'code', scope: 'openid profile read:orders', audience: API, state: 'c1', ...params }), 'erin@example.com', PW, jar);
}

test('third-party application: consent page lists the scopes; deny sends access_denied to the redirect_uri', async () => {
  const jar = new Jar();
  const r = await thirdPartyLogin(jar);
  assert.match(r.url, /\/u\/consent\?state=/);
  assert.equal(r.res.status, 200);
  const html = await r.res.text();
  assert.match(html, /Partner App/);
  for (const scope of ['openid', 'profile', 'read:orders']) assert.ok(decodeEntities(html).includes(scope), `lists ${scope}`);
  assert.match(r.res.headers.get('content-security-policy')!, /frame-ancestors 'none'/);
  const fields = formFields(html);
  const denied = await go(jar, `${s.baseUrl}/u/consent`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...fields, action: 'deny' }) });
  assert.equal(denied.status, 303);
  const back = await follow(jar, new URL(denied.headers.get('location')!, s.baseUrl).href, s.baseUrl);
  const u = new URL(back.url);
  assert.equal(`${u.origin}${u.pathname}`, CB);
  assert.equal(u.searchParams.get('error'), 'access_denied');
  assert.equal(u.searchParams.get('state'), 'c1');
  assert.equal(u.searchParams.get('code'), null);
});

test('third-party application: approve gives a code with the approved scopes; later requests skip consent; prompt=consent asks again', async () => {
  const jar = new Jar();
  const r = await thirdPartyLogin(jar, { state: 'c2' });
  assert.match(r.url, /\/u\/consent\?state=/);
  assert.match(r.res.headers.get('content-security-policy')!, /frame-ancestors 'none'/);
  const fields = formFields(await r.res.text());
  // No CSRF token, no approval.
  const forged = await go(new Jar(), `${s.baseUrl}/u/consent`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ state: fields.state, action: 'accept' }) });
  assert.equal(forged.status, 403);
  const ok = await go(jar, `${s.baseUrl}/u/consent`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...fields, action: 'accept' }) });
  assert.equal(ok.status, 303);
  const back = await follow(jar, new URL(ok.headers.get('location')!, s.baseUrl).href, s.baseUrl);
  const code = new URL(back.url).searchParams.get('code');
  assert.ok(code, back.url);
  assert.equal(new URL(back.url).searchParams.get('state'), 'c2');
  const t = await fetch(`${s.baseUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: 'authorization_code', client_id: third.client_id, client_secret: third.client_secret, code, redirect_uri: CB }) });
  const tokens = await t.json() as any;
  assert.equal(t.status, 200, JSON.stringify(tokens));
  assert.deepEqual(String(decodeJwt(tokens.access_token).scope).split(' ').sort(), ['openid', 'profile', 'read:orders']);

  // Same scopes again with the SSO session: no consent page.
  const again = await follow(jar, authorize({ client_id: third.client_id, response_type: 'code', scope: 'openid profile read:orders', audience: API, state: 'c3' }), s.baseUrl);
  assert.ok(again.url.startsWith(CB), again.url);
  assert.ok(new URL(again.url).searchParams.get('code'), again.url);
  // prompt=consent forces the page again.
  const forced = await follow(jar, authorize({ client_id: third.client_id, response_type: 'code', scope: 'openid profile read:orders', audience: API, state: 'c4', prompt: 'consent' }), s.baseUrl);
  assert.match(forced.url, /\/u\/consent\?state=/);
  const forcedHtml = await forced.res.text();
  assert.ok(decodeEntities(forcedHtml).includes('read:orders'), forcedHtml);
  // A scope not yet approved asks again too; prompt=none then cannot answer.
  const more = await follow(jar, authorize({ client_id: third.client_id, response_type: 'code', scope: 'openid email', state: 'c5' }), s.baseUrl);
  assert.match(more.url, /\/u\/consent\?state=/, 'new scope asks again');
  const silent = await follow(jar, authorize({ client_id: third.client_id, response_type: 'code', scope: 'openid email', state: 'c6', prompt: 'none' }), s.baseUrl);
  assert.equal(new URL(silent.url).searchParams.get('error'), 'consent_required');
});

test('first-party applications never see the consent page', async () => {
  const p = pkce();
  const { url } = await scriptedLogin(s, authorize({ client_id: spa.client_id, response_type: 'code', scope: 'openid profile read:orders', audience: API, state: 'fp', code_challenge: p.code_challenge, code_challenge_method: 'S256' }), 'erin@example.com', PW);
  assert.ok(new URL(url).searchParams.get('code'), url);
  // And a direct visit to /u/consent without an interaction is an error page.
  const r = await go(new Jar(), `${s.baseUrl}/u/consent?state=nonexistent-state-123`);
  assert.equal(r.status, 400);
});

test('blocked users cannot log in on the login page', async () => {
  const u = await createUser(s, 'blocked@example.com', PW);
  await s.api('PATCH', `/users/${encodeURIComponent(u.user_id)}`, { body: { blocked: true } });
  const r = await scriptedLogin(s, authorize({ client_id: third.client_id, response_type: 'code', state: 'b' }), 'blocked@example.com', PW);
  assert.equal(r.res.status, 401);
  assert.match(r.html!, /blocked/);
  assert.ok(!r.url.startsWith(CB));
});

test('the login page shows the tenant name and logo', async () => {
  await s.api('PATCH', '/tenants/settings', { body: { friendly_name: 'Acme <Corp>', picture_url: 'https://cdn.acme.example/logo.png' } });
  s.runtime.engine.settings.clear();
  const r = await follow(new Jar(), authorize({ client_id: third.client_id, response_type: 'code' }), s.baseUrl);
  const html = await r.res.text();
  assert.match(html, /Acme &#60;Corp&#62;/);
  assert.match(html, /<img src="https:&#47;&#47;cdn\.acme\.example&#47;logo\.png" alt="Acme &#60;Corp&#62; logo"/);
});

test('Universal Login branding (PATCH /branding) puts its logo over the tenant picture, and its primary color on the buttons', async () => {
  const r0 = await s.api('PATCH', '/branding', { body: { logo_url: 'https://brand.acme.example/mark.svg', colors: { primary: '#0a7c59' } } });
  assert.equal(r0.status, 200, JSON.stringify(r0.body));
  try {
    const r = await follow(new Jar(), authorize({ client_id: third.client_id, response_type: 'code' }), s.baseUrl);
    const html = await r.res.text();
    assert.match(html, /<img src="https:&#47;&#47;brand\.acme\.example&#47;mark\.svg"/);
    assert.match(html, /button\{background:#0a7c59;/);
    // Only a plain color reaches the CSS: the Management API refuses anything else.
    assert.equal((await s.api('PATCH', '/branding', { body: { colors: { primary: 'red;}body{display:none' } } })).status, 400);
  } finally {
    await s.api('PATCH', '/branding', { body: { logo_url: null, colors: null } });
  }
});

test('connections with requires_username: the login page takes a username or an email', async () => {
  const conn = await s.api('POST', '/connections', { body: { name: 'with-usernames', strategy: 'auth0', enabled_clients: [third.client_id], options: { requires_username: true } } });
  assert.equal(conn.status, 201);
  const u = await s.api('POST', '/users', { body: { connection: 'with-usernames', email: 'frank@example.com', username: 'frank_77', password: 'Frank-pw-123!' } });
  assert.equal(u.status, 201, JSON.stringify(u.body));
  const first = await follow(new Jar(), authorize({ client_id: third.client_id, response_type: 'code', connection: 'with-usernames' }), s.baseUrl);
  const html = await first.res.text();
  assert.match(html, /<label for="username">Username or email address<\/label>/);
  assert.match(html, /<input id="username" name="username" type="text"/);
  for (const id of ['frank_77', 'frank@example.com']) {
    const jar = new Jar();
    const r = await scriptedLogin(s, authorize({ client_id: third.client_id, response_type: 'code', connection: 'with-usernames', scope: 'openid' }), id, 'Frank-pw-123!', jar);
    // Third-party: a successful login lands on the consent page.
    assert.match(r.url, /\/u\/consent\?state=|^https:\/\/app\.example\.com\/callback\?code=/, `${id}: ${r.url} ${r.html ?? ''}`);
  }
  const wrong = await scriptedLogin(s, authorize({ client_id: third.client_id, response_type: 'code', connection: 'with-usernames' }), 'frank_77', 'nope');
  assert.equal(wrong.res.status, 401);
  assert.match(wrong.html!, /Wrong username or password|Wrong email or password/);
  // The password-realm grant looks users up the same way.
  const pwApp = await createApp(s, { name: 'Password app', app_type: 'regular_web', callbacks: [CB], grant_types: ['http://auth0.com/oauth/grant-type/password-realm'] });
  await s.api('PATCH', `/connections/${conn.body.id}`, { body: { enabled_clients: [third.client_id, pwApp.client_id] } });
  const grant = (realm: string, username: string, password = 'Frank-pw-123!') => fetch(`${s.baseUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: 'http://auth0.com/oauth/grant-type/password-realm', client_id: pwApp.client_id, client_secret: pwApp.client_secret, realm, username, password, scope: 'openid' }) });
  assert.equal((await grant('with-usernames', 'frank_77')).status, 200);
  assert.equal((await grant('with-usernames', 'frank@example.com')).status, 200);
  // The default connection still takes emails only: a username is not looked up there.
  const plain = await follow(new Jar(), authorize({ client_id: third.client_id, response_type: 'code' }), s.baseUrl);
  assert.match(await plain.res.text(), /<label for="username">Email address<\/label>/);
  await createUser(s, 'gus@example.com', 'Gus-pw-123!', { username: 'gus_1' });
  await s.api('PATCH', `/connections/${(await s.api('GET', '/connections?name=Username-Password-Authentication')).body[0].id}/clients`, { body: [{ client_id: pwApp.client_id, status: true }] });
  assert.equal((await grant('Username-Password-Authentication', 'gus@example.com', 'Gus-pw-123!')).status, 200);
  assert.equal((await grant('Username-Password-Authentication', 'gus_1', 'Gus-pw-123!')).status, 403);
  const byName = await scriptedLogin(s, authorize({ client_id: third.client_id, response_type: 'code' }), 'gus_1', 'Gus-pw-123!');
  assert.equal(byName.res.status, 401);
});
