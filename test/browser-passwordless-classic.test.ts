import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { startServer, type TestServer } from './helpers/server.ts';
import { browserRig, type BrowserRig } from './helpers/browser.ts';
import { outbox, waitForMail } from './helpers/outbox.ts';

// A customized Classic login page for passwordless, as Auth0's dashboard
// template builds it on auth0.js: passwordlessStart mails a code, and
// passwordlessLogin, run on the tenant's own domain, posts it to
// /passwordless/verify and then sends the browser to
// /passwordless/verify_redirect, which ends the login at the application.

let s: TestServer;
let rig: BrowserRig | undefined;
let app: { client_id: string };
let appOrigin = '';
const AUTH0_JS = readFileSync('node_modules/auth0-js/dist/auth0.min.js', 'utf8');

const passwordlessPage = (origin: string) => `<!doctype html><html><head><meta charset="utf-8"></head><body>
<p id="error"></p>
<script src="${origin}/auth0.js"></script>
<script>
  var config = JSON.parse(decodeURIComponent(escape(window.atob('@@config@@'))));
  var webAuth = new auth0.WebAuth(Object.assign({
    domain: config.auth0Domain, clientID: config.clientID, redirectUri: config.callbackURL, responseType: 'code',
    overrides: { __tenant: config.auth0Tenant, __token_issuer: config.authorizationServer.issuer },
  }, config.internalOptions));
  window.sendCode = function (email) {
    return new Promise(function (resolve) {
      webAuth.passwordlessStart({ connection: 'email', send: 'code', email: email }, function (err) { resolve(err ? err.code + ': ' + err.description : 'sent'); });
    });
  };
  window.logIn = function (email, code) {
    webAuth.passwordlessLogin({ connection: 'email', email: email, verificationCode: code }, function (err) {
      document.getElementById('error').textContent = err.code + ': ' + err.description;
    });
  };
</script></body></html>`;

before(async () => {
  s = await startServer();
  rig = await browserRig(s);
  appOrigin = rig.origin;
  const created = await s.api('POST', '/clients', { body: {
    name: 'Classic passwordless', app_type: 'spa', token_endpoint_auth_method: 'none', callbacks: [`${appOrigin}/callback`], grant_types: ['authorization_code'],
  } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  app = created.body;
  const conn = await s.api('POST', '/connections', { body: { name: 'email', strategy: 'email', enabled_clients: [app.client_id] } });
  assert.equal(conn.status, 201, JSON.stringify(conn.body));
  const globalId = (await s.api('GET', '/clients?is_global=true')).body[0].client_id;
  const page = await s.api('PATCH', `/clients/${globalId}`, { body: { custom_login_page_on: true, custom_login_page: passwordlessPage(appOrigin) } });
  assert.equal(page.status, 200, JSON.stringify(page.body));
  rig.serve((req, res) => {
    if (req.url === '/auth0.js') { res.writeHead(200, { 'content-type': 'text/javascript', 'access-control-allow-origin': '*' }); res.end(AUTH0_JS); return; }
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><p>callback</p>');
  });
});
after(async () => {
  await rig?.close();
  await s?.close();
});

/** The code in the first mail to `to` after the outbox's first `seen` mails. */
async function mailedCode(to: string, seen: number) {
  const mail = await waitForMail(s.dataDir, to, { after: seen });
  const m = /<b>(\d+)<\/b>/.exec(mail.html);
  assert.ok(m, mail.html);
  return m[1];
}

test('auth0.js passwordless on the custom Classic page: a wrong code is shown on the page, the mailed one ends logged in at the application', async () => {
  const verifier = randomBytes(32).toString('base64url');
  const authorize = `${s.baseUrl}/authorize?${new URLSearchParams({
    client_id: app.client_id, redirect_uri: `${appOrigin}/callback`, response_type: 'code', scope: 'openid email', state: 'app-state',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
  })}`;
  const page = await rig!.context.newPage();
  const posts: string[] = [];
  page.on('request', (r) => { if (r.method() === 'POST') posts.push(new URL(r.url()).pathname); });
  await page.goto(authorize);
  await page.waitForFunction(() => typeof (window as any).sendCode === 'function');
  const seen = outbox(s.dataDir).length;
  assert.equal(await page.evaluate(() => (window as any).sendCode('pia@example.com')), 'sent');
  const code = await mailedCode('pia@example.com', seen);

  const wrong = code === '000000' ? '111111' : '000000';
  await page.evaluate((c) => (window as any).logIn('pia@example.com', c), wrong);
  await page.locator('#error').filter({ hasText: /./ }).waitFor({ timeout: 15000 });
  assert.equal(await page.locator('#error').innerText(), 'invalid_grant: Wrong email or verification code.');

  await page.evaluate((c) => (window as any).logIn('pia@example.com', c), code);
  await page.waitForURL((u) => u.href.startsWith(`${appOrigin}/callback`), { timeout: 15000 });
  const callback = new URL(page.url());
  assert.equal(callback.searchParams.get('state'), 'app-state');
  assert.deepEqual(posts, ['/passwordless/start', '/passwordless/verify', '/passwordless/verify']);

  const r = await fetch(`${s.baseUrl}/oauth/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code', client_id: app.client_id, code: callback.searchParams.get('code')!, redirect_uri: `${appOrigin}/callback`, code_verifier: verifier,
    }),
  });
  const tokens = await r.json() as any;
  assert.equal(r.status, 200, JSON.stringify(tokens));
  const jwks = createRemoteJWKSet(new URL(`${s.baseUrl}/.well-known/jwks.json`));
  const { payload } = await jwtVerify(tokens.id_token, jwks, { issuer: s.issuer, audience: app.client_id });
  assert.equal(payload.email, 'pia@example.com');
  assert.match(String(payload.sub), /^email\|/);

  // The verified code's ticket went with that login: the same redirect again finds nothing to spend.
  const again = await page.goto(`${s.baseUrl}/passwordless/verify_redirect?${new URLSearchParams({ client_id: app.client_id, connection: 'email', email: 'pia@example.com', verification_code: code })}`);
  assert.equal(again?.status(), 403);
  await page.close();
});

test('/passwordless/verify refusals: a wrong code, an unknown client, a connection the application does not have', async () => {
  const post = async (body: Record<string, unknown>) => {
    const r = await fetch(`${s.baseUrl}/passwordless/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: r.status, body: await r.json() as any, cookie: r.headers.get('set-cookie') };
  };
  const start = await fetch(`${s.baseUrl}/passwordless/start`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_id: app.client_id, connection: 'email', send: 'code', email: 'quinn@example.com' }),
  });
  assert.equal(start.status, 200);
  const wrong = await post({ client_id: app.client_id, connection: 'email', email: 'quinn@example.com', verification_code: '12' });
  assert.deepEqual({ status: wrong.status, body: wrong.body }, { status: 403, body: { error: 'invalid_grant', error_description: 'Wrong email or verification code.' } });
  assert.equal(wrong.cookie, null);
  const unknown = await post({ client_id: 'nobody', connection: 'email', email: 'quinn@example.com', verification_code: '123456' });
  assert.deepEqual({ status: unknown.status, body: unknown.body }, { status: 401, body: { error: 'invalid_client', error_description: 'Unknown client.' } });
  const noConn = await post({ client_id: app.client_id, connection: 'sms', phone_number: '+15555550100', verification_code: '123456' });
  assert.deepEqual({ status: noConn.status, body: noConn.body }, { status: 400, body: { error: 'bad.connection', error_description: 'Connection does not exist' } });
  const noCode = await post({ client_id: app.client_id, connection: 'email', email: 'quinn@example.com' });
  assert.equal(noCode.status, 400);
  assert.equal(noCode.body.error, 'bad.verification_code');
});
