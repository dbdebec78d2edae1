import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { startServer, type TestServer } from './helpers/server.ts';
import { Jar, createApp, createUser, decodeEntities, exchangeCode, follow, formFields, go, scriptedLogin } from './helpers/login-flow.ts';
import { outbox, waitForMail } from './helpers/outbox.ts';

// Embedded login's wire protocol, as auth0.js and Lock speak it: credentials
// posted cross-origin to /co/authenticate, then /authorize?login_ticket=…,
// with the ticket bound to the browser by a cookie or, failing that, by the
// verifier the application's cross-origin verification page hands back.

const APP = 'https://app.example.com';
const CB = `${APP}/callback`;
const LOC = `${APP}/cross-origin-verify.html`;
const REALM = 'http://auth0.com/oauth/grant-type/password-realm';
const OTP = 'http://auth0.com/oauth/grant-type/passwordless/otp';
let s: TestServer;
let app: { client_id: string; client_secret?: string };
let noLoc: { client_id: string; client_secret?: string };
let closed: { client_id: string };
let ada: any;
let bob: any;

before(async () => {
  s = await startServer();
  const base = { app_type: 'regular_web', callbacks: [CB], allowed_origins: [APP], cross_origin_authentication: true, grant_types: ['authorization_code', 'implicit'] };
  app = await createApp(s, { name: 'Embedded', ...base, cross_origin_loc: LOC });
  noLoc = await createApp(s, { name: 'No verification page', ...base });
  closed = await createApp(s, { name: 'Closed', ...base, cross_origin_authentication: false });
  ada = await createUser(s, 'ada@example.com', 'Ada-pw-12345!', { name: 'Ada' });
  bob = await createUser(s, 'bob@example.com', 'Bob-pw-12345!', { name: 'Bob' });
});
after(async () => { await s?.close(); });

async function coAuthenticate(body: Record<string, unknown>, opts: { origin?: string; jar?: Jar } = {}) {
  const jar = opts.jar ?? new Jar();
  const res = await go(jar, `${s.baseUrl}/co/authenticate`, {
    method: 'POST', body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', origin: opts.origin ?? APP },
  });
  return { res, jar, body: await res.json() as any };
}

const authorizeUrl = (clientId: string, ticket: string, extra: Record<string, string> = {}) => `${s.baseUrl}/authorize?${new URLSearchParams({
  client_id: clientId, response_type: 'code', redirect_uri: CB, scope: 'openid profile email', state: 'st-1', login_ticket: ticket, ...extra,
})}`;

const adaLogin = (clientId = app.client_id) => ({ client_id: clientId, username: 'ada@example.com', password: 'Ada-pw-12345!', realm: 'Username-Password-Authentication', credential_type: REALM });

test('preflight allows the application origin with credentials', async () => {
  const res = await fetch(`${s.baseUrl}/co/authenticate`, {
    method: 'OPTIONS', headers: { origin: APP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,auth0-client' },
  });
  assert.equal(res.status, 204);
  assert.equal(res.headers.get('access-control-allow-origin'), APP);
  assert.equal(res.headers.get('access-control-allow-credentials'), 'true');
  assert.match(res.headers.get('access-control-allow-methods') ?? '', /POST/);
});

test('a ticket with its cookie logs the user in through /authorize, once', async () => {
  const { res, jar, body } = await coAuthenticate(adaLogin());
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(res.headers.get('access-control-allow-origin'), APP);
  assert.equal(res.headers.get('access-control-allow-credentials'), 'true');
  assert.deepEqual(Object.keys(body).sort(), ['co_id', 'co_verifier', 'login_ticket']);
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith(`postern_co_${body.co_id}=`));
  assert.ok(cookie, 'the verifier cookie');
  assert.match(cookie, /samesite=none/i);
  assert.match(cookie, /secure/i);
  assert.match(cookie, /httponly/i);

  const done = await follow(jar, authorizeUrl(app.client_id, body.login_ticket), s.baseUrl);
  assert.ok(done.url.startsWith(CB), done.url);
  assert.equal(new URL(done.url).searchParams.get('state'), 'st-1');
  const tokens = await exchangeCode(s, app, CB, done.url);
  const claims = decodeJwt(tokens.id_token);
  assert.equal(claims.sub, ada.user_id);
  assert.equal(claims.email, 'ada@example.com');

  // Spent: the same ticket again ends at the callback with an error, and nobody logs in.
  const again = await follow(new Jar(), authorizeUrl(app.client_id, body.login_ticket), s.baseUrl);
  const q = new URL(again.url).searchParams;
  assert.ok(again.url.startsWith(CB), again.url);
  assert.equal(q.get('error'), 'access_denied');
  assert.equal(q.get('code'), null);
});

test('the ticket, not an existing session, says who logs in', async () => {
  const jar = new Jar();
  const first = await scriptedLogin(s, `${s.baseUrl}/authorize?${new URLSearchParams({ client_id: app.client_id, response_type: 'code', redirect_uri: CB, scope: 'openid' })}`, 'bob@example.com', 'Bob-pw-12345!', jar);
  assert.ok(first.url.startsWith(CB), first.url);
  const { body } = await coAuthenticate(adaLogin(), { jar });
  // The engine ends Bob's session before Ada's starts: its page posts the switch, as a browser would.
  const switching = await follow(jar, authorizeUrl(app.client_id, body.login_ticket), s.baseUrl);
  const html = await switching.res.text();
  assert.match(html, /action="[^"]*\/oidc\/logout\/confirm"/);
  const confirmed = await go(jar, `${s.baseUrl}/oidc/logout/confirm`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(formFields(html)) });
  assert.equal(confirmed.status, 303);
  const done = await follow(jar, new URL(confirmed.headers.get('location')!, s.baseUrl).href, s.baseUrl);
  assert.ok(done.url.startsWith(CB), done.url);
  const tokens = await exchangeCode(s, app, CB, done.url);
  assert.equal(decodeJwt(tokens.id_token).sub, ada.user_id);
});

test('without the cookie, the verification page hands back the verifier; a wrong one is refused', async () => {
  const { body } = await coAuthenticate(adaLogin());
  const jar = new Jar(); // the browser refused the third-party cookie
  const pageRes = await follow(jar, authorizeUrl(app.client_id, body.login_ticket), s.baseUrl);
  assert.equal(pageRes.res.status, 200);
  const html = await pageRes.res.text();
  const frame = /<iframe id="co-frame" src="([^"]+)"/.exec(html);
  assert.ok(frame, html);
  assert.equal(decodeEntities(frame[1]), `${LOC}#origin=${encodeURIComponent(new URL(s.issuer).origin)}`);
  assert.ok(html.includes(JSON.stringify(body.co_id)), 'the page asks for the verifier stored under co_id');
  const csp = pageRes.res.headers.get('content-security-policy') ?? '';
  assert.match(csp, new RegExp(`frame-src ${APP.replace(/\./g, '\\.')}`));
  assert.match(csp, /script-src 'nonce-/);
  assert.match(csp, /frame-ancestors 'none'/);

  const fields = formFields(html);
  const post = (verifier: string) => go(jar, `${s.baseUrl}/u/login/cross-origin`, {
    method: 'POST', body: new URLSearchParams({ ...fields, verifier }), headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  // A wrong verifier ends the authorization with an error, and burns nothing else.
  const wrong = await post('A'.repeat(43));
  assert.equal(wrong.status, 303);
  const refused = await follow(jar, new URL(wrong.headers.get('location')!, s.baseUrl).toString(), s.baseUrl);
  assert.equal(new URL(refused.url).searchParams.get('error'), 'access_denied');

  // A fresh authorization with the same ticket and the right verifier logs Ada in.
  const retry = await follow(jar, authorizeUrl(app.client_id, body.login_ticket), s.baseUrl);
  const ok = await go(jar, `${s.baseUrl}/u/login/cross-origin`, {
    method: 'POST', body: new URLSearchParams({ ...formFields(await retry.res.text()), verifier: body.co_verifier }), headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(ok.status, 303);
  const done = await follow(jar, new URL(ok.headers.get('location')!, s.baseUrl).toString(), s.baseUrl);
  assert.ok(done.url.startsWith(CB), done.url);
  assert.equal(decodeJwt((await exchangeCode(s, app, CB, done.url)).id_token).sub, ada.user_id);
});

test('without the cookie and without a verification page the ticket is refused', async () => {
  const { body } = await coAuthenticate(adaLogin(noLoc.client_id));
  const done = await follow(new Jar(), authorizeUrl(noLoc.client_id, body.login_ticket), s.baseUrl);
  assert.ok(done.url.startsWith(CB), done.url);
  assert.equal(new URL(done.url).searchParams.get('error'), 'access_denied');
});

test('a ticket is good only for the application it was made for', async () => {
  const { body, jar } = await coAuthenticate(adaLogin());
  const done = await follow(jar, authorizeUrl(noLoc.client_id, body.login_ticket), s.baseUrl);
  assert.equal(new URL(done.url).searchParams.get('error'), 'access_denied');
  assert.match(new URL(done.url).searchParams.get('error_description') ?? '', /login ticket/);
});

test('refusals have the Authentication API shape', async () => {
  const cases: Array<[Record<string, unknown>, number, string, RegExp]> = [
    [{ ...adaLogin(), password: 'nope' }, 403, 'access_denied', /^Wrong email or password\.$/],
    [{ ...adaLogin(), username: 'nobody@example.com' }, 403, 'access_denied', /^Wrong email or password\.$/],
    [adaLogin(closed.client_id), 403, 'unauthorized_client', /Cross origin login not allowed/],
    [adaLogin('no-such-client'), 401, 'invalid_client', /Unknown client/],
    [{ ...adaLogin(), password: undefined }, 400, 'invalid_request', /password/],
    [{ ...adaLogin(), realm: undefined }, 400, 'invalid_request', /realm/],
    [{ ...adaLogin(), realm: 'no-such-connection' }, 400, 'invalid_request', /Unknown realm/],
    [{ ...adaLogin(), credential_type: 'urn:nope' }, 400, 'invalid_request', /credential type/],
    [{ ...adaLogin(), client_id: undefined }, 400, 'invalid_request', /client_id/],
  ];
  for (const [body, status, error, description] of cases) {
    const r = await coAuthenticate(body);
    assert.equal(r.res.status, status, `${JSON.stringify(body)} → ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error, error, JSON.stringify(r.body));
    assert.match(r.body.error_description, description);
    assert.equal(r.body.login_ticket, undefined);
  }
  // An origin the application does not allow gets no CORS headers and no ticket.
  const foreign = await coAuthenticate(adaLogin(), { origin: 'https://evil.example.net' });
  assert.equal(foreign.res.status, 403);
  assert.equal(foreign.res.headers.get('access-control-allow-origin'), null);
  assert.equal(foreign.body.login_ticket, undefined);
  // Malformed JSON is a 400, not a 500.
  const bad = await fetch(`${s.baseUrl}/co/authenticate`, { method: 'POST', body: '{', headers: { 'content-type': 'application/json', origin: APP } });
  assert.equal(bad.status, 400);
  assert.equal((await bad.json() as any).error, 'invalid_request');
});

test('a blocked user gets no ticket', async () => {
  const carl = await createUser(s, 'carl@example.com', 'Carl-pw-12345!');
  assert.equal((await s.api('PATCH', `/users/${encodeURIComponent(carl.user_id)}`, { body: { blocked: true } })).status, 200);
  const r = await coAuthenticate({ ...adaLogin(), username: 'carl@example.com', password: 'Carl-pw-12345!' });
  assert.equal(r.res.status, 401);
  assert.deepEqual(r.body, { error: 'unauthorized', error_description: 'user is blocked' });
});

test('the plain password credential type uses the default directory', async () => {
  const without = await coAuthenticate({ client_id: app.client_id, username: 'ada@example.com', password: 'Ada-pw-12345!', credential_type: 'password' });
  assert.equal(without.res.status, 400);
  assert.match(without.body.error_description, /default connection/);
  assert.equal((await s.api('PATCH', '/tenants/settings', { body: { default_directory: 'Username-Password-Authentication' } })).status, 200);
  try {
    const r = await coAuthenticate({ client_id: app.client_id, username: 'ada@example.com', password: 'Ada-pw-12345!' });
    assert.equal(r.res.status, 200, JSON.stringify(r.body));
    assert.ok(r.body.login_ticket);
  } finally {
    await s.api('PATCH', '/tenants/settings', { body: { default_directory: '' } });
  }
});

test('a passwordless code logs in through /co/authenticate (auth0.js passwordlessLogin)', async () => {
  const conn = await s.api('POST', '/connections', { body: { name: 'email', strategy: 'email', enabled_clients: [app.client_id] } });
  assert.equal(conn.status, 201, JSON.stringify(conn.body));
  const since = outbox(s.dataDir).length;
  const start = await fetch(`${s.baseUrl}/passwordless/start`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_id: app.client_id, client_secret: app.client_secret, connection: 'email', email: 'dora@example.com', send: 'code' }),
  });
  assert.equal(start.status, 200, await start.text());
  const mail = await waitForMail(s.dataDir, 'dora@example.com', { after: since });
  const code = /<b>(\d+)<\/b>/.exec(mail.html)?.[1];
  assert.ok(code, mail.html);
  const otpLogin = { client_id: app.client_id, username: 'dora@example.com', realm: 'email', credential_type: OTP };
  const wrong = await coAuthenticate({ ...otpLogin, otp: code === '000000' ? '111111' : '000000' });
  assert.equal(wrong.res.status, 403, JSON.stringify(wrong.body));
  assert.equal(wrong.body.error, 'access_denied');
  const { res, jar, body } = await coAuthenticate({ ...otpLogin, otp: code });
  assert.equal(res.status, 200, JSON.stringify(body));
  const done = await follow(jar, authorizeUrl(app.client_id, body.login_ticket), s.baseUrl);
  assert.ok(done.url.startsWith(CB), done.url);
  const claims = decodeJwt((await exchangeCode(s, app, CB, done.url)).id_token);
  assert.equal(claims.email, 'dora@example.com');
  assert.match(String(claims.sub), /^email\|/);
});
