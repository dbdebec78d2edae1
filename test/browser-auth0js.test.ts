import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { type BrowserContext, type Page } from 'playwright-core';
import { startServer, type TestServer } from './helpers/server.ts';
import { browserRig, type BrowserRig } from './helpers/browser.ts';
import { createApp, createUser } from './helpers/login-flow.ts';

// auth0.js (the SDK of custom embedded login forms, and Lock's engine) in
// headless Chromium: webAuth.login posts the credentials to /co/authenticate
// and follows the login ticket through /authorize; parseHash then checks the
// id_token against the tenant's keys. When the browser drops the ticket's
// cookie, the login goes through the application's cross-origin verification
// page (webAuth.crossOriginVerification) instead.

let s: TestServer;
let context: BrowserContext;
let rig: BrowserRig | undefined;
let appOrigin = '';
let clientId = '';
let userId = '';
const AUTH0_JS = readFileSync('node_modules/auth0-js/dist/auth0.min.js', 'utf8');

before(async () => {
  s = await startServer();
  // Same site as the server (localhost, another port), so the verification page's storage is the app's own.
  rig = await browserRig(s);
  appOrigin = rig.origin;
  context = rig.context;
  const app = await createApp(s, {
    name: 'Embedded form', app_type: 'spa', callbacks: [`${appOrigin}/callback`], allowed_origins: [appOrigin], web_origins: [appOrigin],
    grant_types: ['implicit', 'authorization_code'], cross_origin_authentication: true, cross_origin_loc: `${appOrigin}/verify.html`,
  });
  clientId = app.client_id;
  userId = (await createUser(s, 'fran@example.com', 'Fran-pw-123!', { name: 'Fran' })).user_id;
  const boot = `<script src="/auth0.js"></script><script>window.webAuth = new auth0.WebAuth(${JSON.stringify({
    domain: s.domain, clientID: clientId, redirectUri: `${appOrigin}/callback`, responseType: 'token id_token', scope: 'openid profile email',
  })});</script>`;
  rig.serve((req, res) => {
    if (req.url === '/auth0.js') { res.writeHead(200, { 'content-type': 'text/javascript' }); res.end(AUTH0_JS); return; }
    res.writeHead(200, { 'content-type': 'text/html' });
    if (req.url?.startsWith('/verify.html')) { res.end(`<!doctype html><html><body>${boot}<script>webAuth.crossOriginVerification();</script></body></html>`); return; }
    res.end(`<!doctype html><html><head>${boot}</head><body><p>app</p></body></html>`);
  });
});
after(async () => {
  await rig?.close();
  await s?.close();
});

/** parseHash on the callback page: auth0.js checks the id_token's signature, issuer, audience and nonce. */
async function parsedHash(page: Page) {
  // Polled rather than waitForURL: the verification page's own navigations abort on the way, which waitForURL reports as failures.
  for (let i = 0; i < 150 && !page.url().startsWith(`${appOrigin}/callback`); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(page.url().startsWith(`${appOrigin}/callback`), page.url());
  await page.waitForLoadState('load');
  return page.evaluate(() => new Promise<any>((resolve) => {
    (window as any).webAuth.parseHash((err: any, result: any) => resolve(err ? { err } : { result }));
  }));
}

test('auth0.js webAuth.login: credentials to /co/authenticate, the ticket through /authorize, tokens that parseHash accepts', async () => {
  const page = await context.newPage();
  await page.goto(`${appOrigin}/`);
  const coCalls: string[] = [];
  page.on('request', (r) => { if (r.url().includes('/co/authenticate') && r.method() === 'POST') coCalls.push(r.postData() ?? ''); });
  await page.evaluate(() => {
    (window as any).webAuth.login({ realm: 'Username-Password-Authentication', username: 'fran@example.com', password: 'Fran-pw-123!' }, (err: any) => { (window as any).loginError = err; });
  });
  const parsed = await parsedHash(page);
  assert.equal(parsed.err, undefined, JSON.stringify(parsed.err));
  assert.equal(parsed.result.idTokenPayload.sub, userId);
  assert.equal(parsed.result.idTokenPayload.email, 'fran@example.com');
  assert.ok(parsed.result.accessToken);
  assert.equal(coCalls.length, 1);
  assert.equal(JSON.parse(coCalls[0]).credential_type, 'http://auth0.com/oauth/grant-type/password-realm');
  await page.close();
});

test('auth0.js webAuth.login with a wrong password gets Auth0\'s error in its callback, and stays on the page', async () => {
  const page = await context.newPage();
  await page.goto(`${appOrigin}/`);
  const err = await page.evaluate(() => new Promise<any>((resolve) => {
    (window as any).webAuth.login({ realm: 'Username-Password-Authentication', username: 'fran@example.com', password: 'wrong-pw' }, (e: any) => resolve(e));
  }));
  assert.equal(err.code, 'access_denied', JSON.stringify(err));
  assert.equal(err.description, 'Wrong email or password.');
  assert.equal(new URL(page.url()).origin, appOrigin);
  await page.close();
});

test('auth0.js webAuth.login without the ticket cookie: the verification page hands over the verifier', async () => {
  const page = await context.newPage();
  await page.goto(`${appOrigin}/`);
  // As a browser that blocks third-party cookies would: the ticket's cookie is gone before /authorize.
  await page.exposeFunction('dropTicketCookies', () => context.clearCookies({ name: /^postern_co_/ }));
  const verifyPage = page.waitForRequest((r) => r.url().startsWith(`${appOrigin}/verify.html`));
  // A string, not a function: tsx would name the inline callback with a helper the page lacks.
  await page.evaluate(`webAuth.login({
    realm: 'Username-Password-Authentication', username: 'fran@example.com', password: 'Fran-pw-123!',
    onRedirecting: function (done) { window.dropTicketCookies().then(done); },
  }, function (err) { window.loginError = err; })`);
  await verifyPage;
  const parsed = await parsedHash(page);
  assert.equal(parsed.err, undefined, JSON.stringify(parsed.err));
  assert.equal(parsed.result.idTokenPayload.sub, userId);
  await page.close();
});
