import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import { decodeJwt } from 'jose';
import { type BrowserContext, type Page } from 'playwright-core';
import { startServer, type TestServer } from './helpers/server.ts';
import { browserRig, type BrowserRig } from './helpers/browser.ts';
import { createApp, createUser, exchangeCode } from './helpers/login-flow.ts';

// Lock 14 and auth0.js in headless Chromium, as Auth0 customers run them:
// - a Classic Universal Login page the tenant customized (the global client's
//   custom_login_page), with Lock or with auth0.js's "custom login form": the
//   page posts to /usernamepassword/login and the answer's form goes through
//   /login/callback to the application;
// - Lock embedded in the application's own page (/client/{id}.js for its
//   connections, then /co/authenticate and the login ticket).
// Lock is bundled from its npm package with esbuild and served by a stand-in
// for the application (and the CDN the page loads it from).

let s: TestServer;
let context: BrowserContext;
let rig: BrowserRig | undefined;
let appOrigin = '';
let app: { client_id: string; client_secret?: string };
let spa: { client_id: string };
let globalId = '';
let userId = '';
const PW = 'Lock-pw-123!';
const AUTH0_JS = readFileSync('node_modules/auth0-js/dist/auth0.min.js', 'utf8');

/** The page templates Auth0's dashboard offers, cut down: Lock, and auth0.js's custom login form. */
const lockPage = (origin: string) => `<!doctype html><html><head><meta charset="utf-8"><title>Sign In</title></head><body>
<script src="${origin}/lock.js"></script>
<script>
  var config = JSON.parse(decodeURIComponent(escape(window.atob('@@config@@'))));
  var lock = new Auth0Lock(config.clientID, config.auth0Domain, {
    auth: { redirectUrl: config.callbackURL, responseType: (config.internalOptions || {}).response_type || 'code', params: config.internalOptions },
    configurationBaseUrl: config.clientConfigurationBaseUrl,
    overrides: { __tenant: config.auth0Tenant, __token_issuer: config.authorizationServer.issuer },
    assetsUrl: config.assetsUrl, rememberLastLogin: true, closable: false, avatar: null,
    prefill: config.extraParams.login_hint ? { email: config.extraParams.login_hint } : null,
  });
  lock.show();
</script></body></html>`;

const formPage = (origin: string) => `<!doctype html><html><head><meta charset="utf-8"></head><body>
<p id="error"></p>
<script src="${origin}/auth0.js"></script>
<script>
  var config = JSON.parse(decodeURIComponent(escape(window.atob('@@config@@'))));
  var webAuth = new auth0.WebAuth(Object.assign({
    domain: config.auth0Domain, clientID: config.clientID, redirectUri: config.callbackURL, responseType: 'code',
    overrides: { __tenant: config.auth0Tenant, __token_issuer: config.authorizationServer.issuer },
  }, config.internalOptions));
  window.signIn = function (username, password) {
    webAuth.login({ realm: 'Username-Password-Authentication', username: username, password: password }, function (err) {
      document.getElementById('error').textContent = err.code + ': ' + err.description;
    });
  };
</script></body></html>`;

before(async () => {
  s = await startServer();
  rig = await browserRig(s);
  appOrigin = rig.origin;
  context = rig.context;
  app = await createApp(s, { name: 'Classic app', app_type: 'regular_web', callbacks: [`${appOrigin}/callback`], grant_types: ['authorization_code'] });
  spa = await createApp(s, {
    name: 'Embedded Lock', app_type: 'spa', callbacks: [`${appOrigin}/callback`], allowed_origins: [appOrigin], web_origins: [appOrigin],
    grant_types: ['implicit', 'authorization_code'], cross_origin_authentication: true,
  });
  userId = (await createUser(s, 'lou@example.com', PW, { name: 'Lou' })).user_id;
  globalId = (await s.api('GET', '/clients?is_global=true')).body[0].client_id;

  const bundle = await build({
    entryPoints: ['node_modules/auth0-lock/lib/index.js'], bundle: true, format: 'iife', globalName: 'Auth0LockModule', write: false,
    platform: 'browser', define: { 'process.env.NODE_ENV': '"production"' }, logLevel: 'error',
    // auth0-js's main file is a UMD script in a "type": "module" package, which a bundler reads as an empty module; its ESM build is what Lock's own build uses.
    plugins: [{
      name: 'auth0-js-esm',
      setup(b) { b.onResolve({ filter: /^auth0-js$/ }, (a) => ({ path: join(dirname(createRequire(a.importer).resolve('auth0-js')), 'auth0.min.esm.js') })); },
    }],
    footer: { js: 'window.Auth0Lock = Auth0LockModule.default;' },
  });
  const lockJs = bundle.outputFiles[0].text;
  const embedded = `<!doctype html><html><head><meta charset="utf-8"></head><body><script src="/lock.js"></script><script>
    window.lock = new Auth0Lock(${JSON.stringify(spa.client_id)}, ${JSON.stringify(s.domain)}, {
      auth: { redirectUrl: ${JSON.stringify(`${appOrigin}/callback`)}, responseType: 'token id_token', params: { scope: 'openid email' } },
      closable: false, avatar: null,
    });
    lock.show();
  </script></body></html>`;
  rig.serve((req, res) => {
    const js = req.url === '/lock.js' ? lockJs : req.url === '/auth0.js' ? AUTH0_JS : undefined;
    if (js) { res.writeHead(200, { 'content-type': 'text/javascript', 'access-control-allow-origin': '*' }); res.end(js); return; }
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(req.url === '/embedded' ? embedded : '<!doctype html><p>callback</p>');
  });
});
after(async () => {
  await rig?.close();
  await s?.close();
});

async function setCustomPage(html: string) {
  const r = await s.api('PATCH', `/clients/${globalId}`, { body: { custom_login_page_on: true, custom_login_page: html } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

const authorizeUrl = (extra: Record<string, string> = {}) => `${s.baseUrl}/authorize?${new URLSearchParams({
  client_id: app.client_id, redirect_uri: `${appOrigin}/callback`, response_type: 'code', scope: 'openid email', state: 'app-state', ...extra,
})}`;

async function callbackUrl(page: Page) {
  await page.waitForURL((u) => u.href.startsWith(`${appOrigin}/callback`), { timeout: 15000 });
  return page.url();
}

async function fillLock(page: Page, email: string, password: string) {
  await page.locator('input[name="email"]').fill(email);
  await page.locator('input[name="password"]').fill(password);
  await page.locator('button.auth0-lock-submit').click();
}

test('Lock on the tenant\'s custom login page: a wrong password is shown in Lock, the right one ends at the application with a code', async () => {
  await setCustomPage(lockPage(appOrigin));
  const page = await context.newPage();
  const posts: string[] = [];
  page.on('request', (r) => { if (r.method() === 'POST') posts.push(new URL(r.url()).pathname); });
  await page.goto(authorizeUrl({ login_hint: 'lou@example.com' }));
  await page.locator('input[name="password"]').waitFor({ timeout: 15000 });
  assert.equal(await page.locator('input[name="email"]').inputValue(), 'lou@example.com', 'the login_hint reached Lock through @@config@@');
  await fillLock(page, 'lou@example.com', 'not-the-password');
  const error = page.locator('.auth0-global-message-error');
  await error.waitFor({ timeout: 15000 });
  assert.match(await error.innerText(), /wrong/i);

  await fillLock(page, 'lou@example.com', PW);
  const url = await callbackUrl(page);
  assert.equal(new URL(url).searchParams.get('state'), 'app-state');
  assert.deepEqual(posts.filter((p) => p !== '/usernamepassword/challenge'), ['/usernamepassword/login', '/usernamepassword/login', '/login/callback']);
  const tokens = await exchangeCode(s, app, `${appOrigin}/callback`, url);
  assert.equal(decodeJwt(tokens.id_token).sub, userId);

  // Back with a session, asked to log in again: Lock asks /user/ssodata and offers the last login.
  const ssodata = page.waitForResponse((r) => r.url().startsWith(`${s.baseUrl}/user/ssodata`));
  await page.goto(authorizeUrl({ prompt: 'login' }));
  assert.equal((await (await ssodata).json()).lastUsedUserID, userId);
  await page.locator('.auth0-lock-last-login-pane').getByText('lou@example.com').waitFor({ timeout: 15000 });
  await page.close();
});

test('auth0.js custom login form on the tenant\'s page: webAuth.login goes through /usernamepassword/login', async () => {
  await setCustomPage(formPage(appOrigin));
  const page = await context.newPage();
  await page.goto(authorizeUrl({ prompt: 'login' }));
  await page.waitForFunction('typeof window.signIn === "function"');
  await page.evaluate('signIn("lou@example.com", "wrong-password")');
  await page.locator('#error').filter({ hasText: 'invalid_user_password' }).waitFor({ timeout: 15000 });
  await page.evaluate(`signIn("lou@example.com", ${JSON.stringify(PW)})`);
  const url = await callbackUrl(page);
  const tokens = await exchangeCode(s, app, `${appOrigin}/callback`, url);
  assert.equal(decodeJwt(tokens.id_token).sub, userId);
  await page.close();
});

test('Lock embedded in the application\'s page: its connections from /client/{id}.js, the login through /co/authenticate', async () => {
  const page = await context.newPage();
  const seen: string[] = [];
  page.on('request', (r) => seen.push(new URL(r.url()).pathname));
  await page.goto(`${appOrigin}/embedded`);
  await page.locator('input[name="password"]').waitFor({ timeout: 15000 });
  assert.ok(seen.includes(`/client/${spa.client_id}.js`));
  await fillLock(page, 'lou@example.com', PW);
  const url = await callbackUrl(page);
  assert.ok(seen.includes('/co/authenticate'));
  const hash = new URLSearchParams(new URL(url).hash.slice(1));
  assert.equal(decodeJwt(hash.get('id_token')!).sub, userId);
  await page.close();
});
