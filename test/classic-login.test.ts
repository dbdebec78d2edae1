import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { startServer, type TestServer } from './helpers/server.ts';
import { Jar, createApp, createUser, decodeEntities, exchangeCode, follow, formFields, go } from './helpers/login-flow.ts';

// Classic Universal Login on the wire: the tenant's global client ("All
// Applications") carries a custom login page; /authorize then serves it with
// `@@config@@` filled in, the page posts credentials to
// /usernamepassword/login, and the form that answers posts a one-time result
// to /login/callback, which ends at the application's callback. Plus what Lock
// reads around it: /user/ssodata and /client/{id}.js.

let s: TestServer;
let app: { client_id: string; client_secret?: string };
let globalId = '';
let userId = '';
const CB = 'https://classic-rp.example/callback';
const PW = 'Classic-pw-123!';
const TEMPLATE = '<!doctype html><html><body><script>var config = "@@config@@";</script><p>custom page</p></body></html>';

before(async () => {
  s = await startServer();
  app = await createApp(s, { name: 'Classic RP', app_type: 'regular_web', callbacks: [CB], grant_types: ['authorization_code'] });
  userId = (await createUser(s, 'cleo@example.com', PW)).user_id;
  const all = await s.api('GET', '/clients?is_global=true');
  globalId = all.body[0]?.client_id;
});
after(async () => { await s?.close(); });

const authorizeUrl = (extra: Record<string, string> = {}) => `${s.baseUrl}/authorize?${new URLSearchParams({
  client_id: app.client_id, redirect_uri: CB, response_type: 'code', scope: 'openid email', state: 'rp-state', nonce: 'rp-nonce', ...extra,
})}`;

async function setCustomPage(on: boolean, html = TEMPLATE) {
  const r = await s.api('PATCH', `/clients/${globalId}`, { body: { custom_login_page_on: on, custom_login_page: html } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

/** Opens /authorize and returns the served custom page's decoded config. */
async function openPage(jar: Jar, extra: Record<string, string> = {}) {
  const { res, url } = await follow(jar, authorizeUrl(extra), s.baseUrl);
  const html = await res.text();
  const m = /var config = "([^"]+)"/.exec(html);
  assert.ok(m, `custom page expected at ${url}: ${html.slice(0, 200)}`);
  return JSON.parse(Buffer.from(m[1], 'base64').toString('utf8'));
}

const postLogin = (jar: Jar, body: Record<string, unknown>) => go(jar, `${s.baseUrl}/usernamepassword/login`, {
  method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
});

function credentials(config: any, extra: Record<string, unknown> = {}) {
  return {
    client_id: config.clientID, redirect_uri: config.callbackURL, tenant: config.auth0Tenant, response_type: 'code',
    state: config.internalOptions.state, _csrf: config.internalOptions._csrf, _intstate: 'deprecated',
    connection: 'Username-Password-Authentication', username: 'cleo@example.com', password: PW, ...extra,
  };
}

test('the tenant has one global client: listed, not deletable, not an application anyone logs in to', async () => {
  const all = await s.api('GET', '/clients?is_global=true');
  assert.equal(all.status, 200);
  assert.equal(all.body.length, 1);
  assert.equal(all.body[0].name, 'All Applications');
  assert.equal(all.body[0].global, true);
  assert.equal(all.body[0].custom_login_page_on, false);
  const del = await s.api('DELETE', `/clients/${globalId}`);
  assert.equal(del.status, 400);
  assert.equal(del.body.errorCode, 'operation_not_supported');
  const authorize = await fetch(`${s.baseUrl}/authorize?${new URLSearchParams({ client_id: globalId, redirect_uri: CB, response_type: 'code', scope: 'openid' })}`, { redirect: 'manual' });
  assert.equal(authorize.status, 400, 'the engine does not know the global client');
  const cc = await fetch(`${s.baseUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: 'client_credentials', client_id: globalId, client_secret: all.body[0].client_secret, audience: s.audience }) });
  assert.equal(cc.status, 401);
});

test('without a custom page, /authorize shows Postern\'s own login page', async () => {
  await setCustomPage(false);
  const { res, url } = await follow(new Jar(), authorizeUrl(), s.baseUrl);
  assert.ok(url.startsWith(`${s.baseUrl}/u/login`));
  const html = await res.text();
  assert.ok(!html.includes('custom page'));
  assert.ok(formFields(html)._csrf);
});

test('the custom page gets @@config@@: the application, its callback and this login transaction', async () => {
  await setCustomPage(true);
  const config = await openPage(new Jar(), { login_hint: 'cleo@example.com', audience: s.audience });
  assert.equal(config.clientID, app.client_id);
  assert.equal(config.auth0Domain, s.domain);
  assert.equal(config.callbackURL, CB);
  assert.equal(config.authorizationServer.issuer, s.issuer);
  assert.equal(config.extraParams.login_hint, 'cleo@example.com');
  assert.equal(config.internalOptions.response_type, 'code');
  assert.equal(config.internalOptions.nonce, 'rp-nonce');
  assert.equal(config.internalOptions.audience, s.audience);
  assert.notEqual(config.internalOptions.state, 'rp-state', 'the page gets the transaction, not the application\'s state');
  assert.ok(config.internalOptions._csrf);
});

test('/usernamepassword/login answers a form that /login/callback turns into the application\'s code, once', async () => {
  await setCustomPage(true);
  const jar = new Jar();
  const config = await openPage(jar);
  const res = await postLogin(jar, credentials(config));
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/html/);
  const html = await res.text();
  assert.ok(decodeEntities(html).startsWith(`<form method="post" name="hiddenform" action="${s.baseUrl}/login/callback">`), html);
  const fields = formFields(html);
  assert.equal(fields.wa, 'wsignin1.0');
  const posted = () => follow(jar, `${s.baseUrl}/login/callback`, s.baseUrl, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields),
  });
  const done = await posted();
  assert.ok(done.url.startsWith(CB), done.url);
  assert.equal(new URL(done.url).searchParams.get('state'), 'rp-state');
  const tokens = await exchangeCode(s, app, CB, done.url);
  const claims = decodeJwt(tokens.id_token);
  assert.equal(claims.sub, userId);
  assert.equal(claims.nonce, 'rp-nonce');

  const again = await posted();
  assert.ok(!again.url.startsWith(CB), 'a result is spent once');
});

test('/usernamepassword/login refusals in the legacy shape Lock reads', async () => {
  await setCustomPage(true);
  const jar = new Jar();
  const config = await openPage(jar);
  const wrong = await postLogin(jar, credentials(config, { password: 'nope' }));
  assert.equal(wrong.status, 401);
  assert.deepEqual(await wrong.json(), { name: 'ValidationError', code: 'invalid_user_password', description: 'Wrong email or password.', statusCode: 401 });
  const forged = await postLogin(jar, credentials(config, { _csrf: 'forged' }));
  assert.equal(forged.status, 403);
  assert.equal((await forged.json()).code, 'invalid_request');
  const otherClient = await postLogin(jar, credentials(config, { client_id: s.clientId }));
  assert.equal(otherClient.status, 403);
  const unknownState = await postLogin(jar, credentials(config, { state: 'x'.repeat(20) }));
  assert.equal(unknownState.status, 403);
  const missing = await postLogin(jar, credentials(config, { password: undefined }));
  assert.equal(missing.status, 400);
  assert.equal((await missing.json()).code, 'invalid_request');
  const badConn = await postLogin(jar, credentials(config, { connection: 'No-Such-Connection' }));
  assert.equal(badConn.status, 400);
  const notJson = await go(jar, `${s.baseUrl}/usernamepassword/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
  assert.equal(notJson.status, 400);
  // A result lifted into another login transaction is refused.
  const good = formFields(await (await postLogin(jar, credentials(config))).text());
  const other = new Jar();
  const otherConfig = await openPage(other);
  const lifted = await go(other, `${s.baseUrl}/login/callback`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...good, wctx: JSON.stringify({ state: otherConfig.internalOptions.state }) }),
  });
  assert.equal(lifted.status, 400);
  assert.match(await lifted.text(), /expired or was already used/);
});

test('/user/ssodata says whether the browser has a session, and with whom', async () => {
  await setCustomPage(true);
  const jar = new Jar();
  const before = await go(jar, `${s.baseUrl}/user/ssodata`);
  assert.equal(before.status, 200);
  assert.deepEqual(await before.json(), { sso: false });
  const config = await openPage(jar);
  const fields = formFields(await (await postLogin(jar, credentials(config))).text());
  await follow(jar, `${s.baseUrl}/login/callback`, s.baseUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) });
  const after = await (await go(jar, `${s.baseUrl}/user/ssodata`)).json();
  assert.equal(after.sso, true);
  assert.equal(after.lastUsedUserID, userId);
  assert.equal(after.lastUsedUsername, 'cleo@example.com');
  assert.deepEqual(after.lastUsedConnection, { name: 'Username-Password-Authentication', strategy: 'auth0' });
  assert.ok(after.sessionClients.includes(app.client_id));
});

test('an application\'s own custom page wins over the global one', async () => {
  await setCustomPage(true);
  const own = await s.api('PATCH', `/clients/${app.client_id}`, { body: { custom_login_page: TEMPLATE.replace('custom page', 'app page') } });
  assert.equal(own.status, 200);
  try {
    const { res } = await follow(new Jar(), authorizeUrl(), s.baseUrl);
    assert.match(await res.text(), /app page/);
  } finally {
    await s.api('PATCH', `/clients/${app.client_id}`, { body: { custom_login_page: '' } });
  }
});

test('/client/{id}.js tells Lock the application\'s connections', async () => {
  const r = await fetch(`${s.baseUrl}/client/${app.client_id}.js?t123`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /javascript/);
  const text = await r.text();
  const m = /^Auth0\.setClient\((.*)\);$/s.exec(text);
  assert.ok(m, text);
  const settings = JSON.parse(m[1]);
  assert.equal(settings.id, app.client_id);
  const db = settings.strategies.find((x: any) => x.name === 'auth0');
  assert.deepEqual(db.connections.map((c: any) => c.name), ['Username-Password-Authentication']);
  assert.equal(db.connections[0].showSignup, true);
  assert.equal((await fetch(`${s.baseUrl}/client/${globalId}.js`)).status, 404);
  assert.equal((await fetch(`${s.baseUrl}/client/nope.js`)).status, 404);
  assert.equal((await fetch(`${s.baseUrl}/client/${app.client_id}.json`)).status, 404);
});
