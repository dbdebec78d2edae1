import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { startServer, type TestServer } from './helpers/server.ts';
import { Jar, createApp, createUser, go, scriptedLogin } from './helpers/login-flow.ts';

// The discovery document against what the server really answers, and CORS on
// /dbconnections/* for the application's allowed origins (auth0.js in a browser).

let s: TestServer;
let spa: { client_id: string };
let doc: any;
const CB = 'https://app.example.com/callback';
const WEB_ORIGIN = 'https://spa.example.com';
const ALLOWED_ORIGIN = 'https://widget.example.net';

before(async () => {
  s = await startServer();
  spa = await createApp(s, {
    name: 'Browser app', app_type: 'spa', callbacks: [CB], token_endpoint_auth_method: 'none',
    grant_types: ['implicit', 'authorization_code', 'refresh_token'], web_origins: [WEB_ORIGIN], allowed_origins: [ALLOWED_ORIGIN],
  });
  await createUser(s, 'hana@example.com', 'Hana-pw-123!');
  doc = await (await fetch(`${s.baseUrl}/.well-known/openid-configuration`)).json();
});
after(async () => { await s?.close(); });

const authorize = (params: Record<string, string>) => `${s.baseUrl}/authorize?${new URLSearchParams({ client_id: spa.client_id, redirect_uri: CB, scope: 'openid', nonce: 'n', state: 'st', ...params })}`;
const challenge = () => createHash('sha256').update(randomBytes(32).toString('base64url')).digest('base64url');
/** Where an error or result of /authorize lands: the callback's query or fragment, or a page. */
async function outcome(params: Record<string, string>) {
  const r = await go(new Jar(), authorize(params));
  const loc = r.headers.get('location');
  if (loc && loc.startsWith(CB)) {
    const u = new URL(loc);
    return { kind: 'callback', params: u.hash ? new URLSearchParams(u.hash.slice(1)) : u.searchParams, status: r.status };
  }
  return { kind: loc ? 'redirect' : 'page', location: loc, status: r.status, html: loc ? '' : await r.text() };
}

test('discovery lists web_message and only endpoints the server answers', async () => {
  assert.deepEqual(doc.response_modes_supported, ['query', 'fragment', 'form_post', 'web_message']);
  for (const k of Object.keys(doc).filter((k) => k.endsWith('_endpoint') || k === 'jwks_uri')) {
    const url: string = doc[k];
    assert.ok(url.startsWith(`${s.issuer}`), `${k} on the issuer`);
    const get = await fetch(url.replace(s.issuer, `${s.baseUrl}/`), { redirect: 'manual' });
    const post = await fetch(url.replace(s.issuer, `${s.baseUrl}/`), { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
    assert.ok(get.status !== 404 || post.status !== 404, `${k} ${url} is served (GET ${get.status}, POST ${post.status})`);
  }
  for (const k of ['registration_endpoint', 'mfa_challenge_endpoint']) assert.equal(doc[k], undefined, `${k} is not served, so not listed`);
  assert.ok(doc.code_challenge_methods_supported.includes('S256'));
  assert.ok(!doc.code_challenge_methods_supported.includes('plain'), 'plain is refused, so not listed');
});

test('every listed response_type is accepted by /authorize; an unlisted one is refused', async () => {
  for (const rt of doc.response_types_supported as string[]) {
    const o = await outcome({ response_type: rt, code_challenge: challenge(), code_challenge_method: 'S256' });
    assert.equal(o.kind, 'redirect', `${rt}: ${JSON.stringify(o)}`);
    assert.match(o.location!, /^\/u\/login\?state=/, rt);
  }
  for (const rt of ['token', 'code token', 'code id_token', 'code token id_token']) {
    assert.ok(!doc.response_types_supported.includes(rt));
    const o = await outcome({ response_type: rt, code_challenge: challenge(), code_challenge_method: 'S256' });
    assert.equal(o.kind, 'callback', `${rt}: ${JSON.stringify(o)}`);
    assert.equal(o.params!.get('error'), 'unsupported_response_type', rt);
  }
});

test('every listed response_mode delivers a response (prompt=none error without a session)', async () => {
  const base = { response_type: 'code', prompt: 'none', code_challenge: challenge(), code_challenge_method: 'S256' };
  const q = await outcome({ ...base, response_mode: 'query' });
  assert.equal(q.params!.get('error'), 'login_required');
  const f = await outcome({ ...base, response_mode: 'fragment' });
  assert.equal(f.params!.get('error'), 'login_required');
  const fp = await outcome({ ...base, response_mode: 'form_post' });
  assert.equal(fp.kind, 'page');
  assert.match(fp.html!, /name="error" value="login_required"/);
  const wm = await outcome({ ...base, response_mode: 'web_message' });
  assert.equal(wm.kind, 'page');
  assert.match(wm.html!, /postMessage\(\{"type":"authorization_response","response":\{"error":"login_required"/);
  // An unlisted mode (JARM) is refused, in the query, with nothing but the error.
  const bad = await outcome({ ...base, response_mode: 'jwt' });
  assert.equal(bad.kind, 'callback');
  assert.equal(bad.params!.get('error'), 'unsupported_response_mode');
  assert.equal(bad.params!.get('response'), null);
});

test('/dbconnections/*: preflight answered, allowed origins get CORS headers, others are refused', async () => {
  for (const op of ['signup', 'change_password']) {
    const pre = await fetch(`${s.baseUrl}/dbconnections/${op}`, { method: 'OPTIONS', headers: { origin: WEB_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,auth0-client' } });
    assert.equal(pre.status, 204, op);
    assert.equal(pre.headers.get('access-control-allow-origin'), WEB_ORIGIN);
    assert.match(pre.headers.get('access-control-allow-methods')!, /POST/);
    assert.match(pre.headers.get('access-control-allow-headers')!, /auth0-client/);
  }
  const post = (op: string, origin: string | undefined, body: Record<string, unknown>) => fetch(`${s.baseUrl}/dbconnections/${op}`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'auth0-client': 'eyJuYW1lIjoiYXV0aDAuanMifQ', ...(origin ? { origin } : {}) }, body: JSON.stringify(body),
  });
  const signup = (email: string) => ({ client_id: spa.client_id, connection: 'Username-Password-Authentication', email, password: 'Cors-pw-123!' });

  for (const [i, origin] of [WEB_ORIGIN, ALLOWED_ORIGIN, 'https://app.example.com'].entries()) {
    const r = await post('signup', origin, signup(`cors${i}@example.com`));
    assert.equal(r.status, 200, `${origin}: ${await r.clone().text()}`);
    assert.equal(r.headers.get('access-control-allow-origin'), origin);
    assert.match(r.headers.get('vary') ?? '', /origin/i);
  }
  // Errors are readable by the allowed page too.
  const dup = await post('signup', WEB_ORIGIN, signup('cors0@example.com'));
  assert.equal(dup.status, 400);
  assert.equal(dup.headers.get('access-control-allow-origin'), WEB_ORIGIN);
  assert.equal((await dup.json() as any).code, 'user_exists');

  // A foreign origin: refused, no CORS header, nothing created.
  const evil = await post('signup', 'https://evil.example', signup('evil@example.com'));
  assert.equal(evil.status, 403);
  assert.equal(evil.headers.get('access-control-allow-origin'), null);
  assert.equal((await evil.json() as any).statusCode, 403);
  assert.deepEqual((await s.api('GET', '/users-by-email?email=evil%40example.com')).body, []);
  const evilReset = await post('change_password', 'https://evil.example', { client_id: spa.client_id, connection: 'Username-Password-Authentication', email: 'hana@example.com' });
  assert.equal(evilReset.status, 403);
  const noClient = await post('change_password', WEB_ORIGIN, { connection: 'Username-Password-Authentication', email: 'hana@example.com' });
  assert.equal(noClient.status, 403, 'an origin needs an application to be checked against');
  const ok = await post('change_password', ALLOWED_ORIGIN, { client_id: spa.client_id, connection: 'Username-Password-Authentication', email: 'hana@example.com' });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get('access-control-allow-origin'), ALLOWED_ORIGIN);
  // Without an Origin (a server or a native SDK) nothing changes.
  const server = await post('signup', undefined, signup('server@example.com'));
  assert.equal(server.status, 200);
  assert.equal(server.headers.get('access-control-allow-origin'), null);
});

test('/oauth/token, /userinfo and /oauth/revoke: CORS for allowed origins (Auth0-Client header included), refused for others', async () => {
  for (const path of ['/oauth/token', '/userinfo', '/oauth/revoke']) {
    const pre = await fetch(`${s.baseUrl}${path}`, { method: 'OPTIONS', headers: { origin: WEB_ORIGIN, 'access-control-request-method': path === '/userinfo' ? 'GET' : 'POST', 'access-control-request-headers': 'auth0-client,content-type,authorization' } });
    assert.equal(pre.status, 204, path);
    assert.equal(pre.headers.get('access-control-allow-origin'), WEB_ORIGIN, path);
    assert.match(pre.headers.get('access-control-allow-headers')!, /auth0-client/i, path);
  }
  const verifier = randomBytes(32).toString('base64url');
  const { url } = await scriptedLogin(s, authorize({ response_type: 'code', scope: 'openid offline_access', code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256' }), 'hana@example.com', 'Hana-pw-123!');
  const code = new URL(url).searchParams.get('code')!;
  assert.ok(code, url);
  const tokenReq = (origin: string, body: Record<string, string>) => fetch(`${s.baseUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json', origin, 'auth0-client': 'eyJuYW1lIjoic3BhIn0' }, body: JSON.stringify(body) });
  const evil = await tokenReq('https://evil.example', { grant_type: 'authorization_code', client_id: spa.client_id, code, code_verifier: verifier, redirect_uri: CB });
  assert.equal(evil.status, 400);
  assert.equal(evil.headers.get('access-control-allow-origin'), null);
  const t = await tokenReq(WEB_ORIGIN, { grant_type: 'authorization_code', client_id: spa.client_id, code, code_verifier: verifier, redirect_uri: CB });
  const tokens = await t.json() as any;
  assert.equal(t.status, 200, JSON.stringify(tokens));
  assert.equal(t.headers.get('access-control-allow-origin'), WEB_ORIGIN);
  const info = await fetch(`${s.baseUrl}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}`, origin: ALLOWED_ORIGIN } });
  assert.equal(info.status, 200);
  assert.equal(info.headers.get('access-control-allow-origin'), ALLOWED_ORIGIN);
  const refreshed = await tokenReq(ALLOWED_ORIGIN, { grant_type: 'refresh_token', client_id: spa.client_id, refresh_token: tokens.refresh_token });
  assert.equal(refreshed.status, 200);
  assert.equal(refreshed.headers.get('access-control-allow-origin'), ALLOWED_ORIGIN);
  const rt = (await refreshed.json() as any).refresh_token ?? tokens.refresh_token;
  const revokeReq = (origin: string) => fetch(`${s.baseUrl}/oauth/revoke`, { method: 'POST', headers: { 'content-type': 'application/json', origin }, body: JSON.stringify({ client_id: spa.client_id, token: rt }) });
  const badRevoke = await revokeReq('https://evil.example');
  assert.equal(badRevoke.status, 400);
  assert.equal(badRevoke.headers.get('access-control-allow-origin'), null);
  const revoked = await revokeReq(WEB_ORIGIN);
  assert.equal(revoked.status, 200);
  assert.equal(revoked.headers.get('access-control-allow-origin'), WEB_ORIGIN);
  assert.equal((await tokenReq(WEB_ORIGIN, { grant_type: 'refresh_token', client_id: spa.client_id, refresh_token: rt })).status, 403, 'revoked');
});
