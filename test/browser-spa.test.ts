import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startServer, freePort, type TestServer } from './helpers/server.ts';
import { createApp, createUser } from './helpers/login-flow.ts';
import { managementClient } from './helpers/sdk.ts';

// auth0-spa-js 2.x from a static page on its own origin, in headless Chromium:
// loginWithRedirect through the real login page, getTokenSilently through the
// refresh token (JSON/form across CORS), and silent auth in an iframe (web_message).

let s: TestServer;
let web: Server;
let context: BrowserContext;
let profile = '';
let appOrigin = '';
let clientId = '';
const SPA_JS = readFileSync('node_modules/@auth0/auth0-spa-js/dist/auth0-spa-js.production.js', 'utf8');

before(async () => {
  s = await startServer();
  const port = await freePort();
  // Same site as the server (https://localhost, another port): Chromium blocks third-party
  // cookies in cross-site iframes, as it would for a real Auth0 tenant without a custom domain.
  appOrigin = `https://localhost:${port}`;
  const app = await createApp(s, { name: 'SPA', app_type: 'spa', callbacks: [`${appOrigin}/`], web_origins: [appOrigin], allowed_logout_urls: [`${appOrigin}/`] });
  clientId = app.client_id;
  await createUser(s, 'erin@example.com', 'Erin-pw-123!', { name: 'Erin' });
  const tls = { key: readFileSync(join(s.dataDir, 'tls', 'server-localhost-key.pem')), cert: readFileSync(join(s.dataDir, 'tls', 'server-localhost.pem')) };
  web = createServer(tls, (req, res) => {
    if (req.url === '/spa.js') { res.writeHead(200, { 'content-type': 'text/javascript' }); res.end(SPA_JS); return; }
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><html><head><script src="/spa.js"></script></head><body><p>app</p></body></html>`);
  });
  await new Promise<void>((r) => web.listen(port, '127.0.0.1', r));
  // A persistent profile: Playwright's default contexts are incognito, where Chromium blocks third-party cookies.
  profile = mkdtempSync(join(tmpdir(), 'postern-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    ignoreHTTPSErrors: true,
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
after(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await new Promise((r) => web?.close(r));
  await s?.close();
});

/** loginWithRedirect from the app page, then Erin through the real login form, back at the app with a code. */
async function loginThroughPage(page: Page, opts: object, loginParams: Record<string, string> = {}) {
  await page.goto(`${appOrigin}/`);
  await page.evaluate(async ([o, p]) => {
    const c = await (window as any).auth0.createAuth0Client(o);
    await c.loginWithRedirect({ authorizationParams: p });
  }, [opts, loginParams] as const);
  await page.waitForURL(/\/u\/login\?state=/);
  assert.equal(await page.locator('label[for="username"]').count(), 1);
  await page.fill('#username', 'erin@example.com');
  await page.fill('#password', 'Erin-pw-123!');
  await page.click('button[type="submit"]');
  await page.waitForURL((u) => u.origin === appOrigin && u.searchParams.has('code'));
}

test('spa-js: loginWithRedirect, refresh-token renewal across CORS, and iframe silent auth', async () => {
  const page = await context.newPage();
  const opts = { domain: s.domain, clientId, authorizationParams: { redirect_uri: `${appOrigin}/`, scope: 'openid profile email offline_access' }, useRefreshTokens: true, cacheLocation: 'memory' };
  await loginThroughPage(page, opts);

  const result = await page.evaluate(async (o) => {
    const c = await (window as any).auth0.createAuth0Client(o);
    (window as any).c = c;
    await c.handleRedirectCallback();
    const user = await c.getUser();
    const first = await c.getTokenSilently({ detailedResponse: true });
    const refreshed = await c.getTokenSilently({ cacheMode: 'off', detailedResponse: true });
    return { user, first: first.access_token, refreshed: refreshed.access_token, idToken: refreshed.id_token };
  }, opts);
  assert.equal(result.user.email, 'erin@example.com');
  assert.equal(result.user.name, 'Erin');
  assert.ok(result.refreshed && result.refreshed !== result.first, 'a new access token through the refresh token');
  assert.ok(result.idToken);

  // A second client without refresh tokens renews through the hidden iframe (prompt=none, web_message).
  const silent = await page.evaluate(async (o) => {
    const c = await (window as any).auth0.createAuth0Client({ ...o, useRefreshTokens: false });
    const t = await c.getTokenSilently({ cacheMode: 'off', detailedResponse: true });
    return { access: t.access_token, id: t.id_token, user: await c.getUser() };
  }, opts);
  assert.ok(silent.access);
  assert.equal(silent.user.email, 'erin@example.com');

  // After /v2/logout the iframe answers login_required.
  await page.goto(`${s.baseUrl}/v2/logout?${new URLSearchParams({ client_id: clientId, returnTo: `${appOrigin}/` })}`);
  await page.waitForURL(`${appOrigin}/`);
  const err = await page.evaluate(async (o) => {
    const c = await (window as any).auth0.createAuth0Client({ ...o, useRefreshTokens: false });
    try { await c.getTokenSilently({ cacheMode: 'off' }); return 'no error'; } catch (e: any) { return e.error ?? String(e); }
  }, opts);
  assert.equal(err, 'login_required');
});

test('spa-js: post-login action claims reach getIdTokenClaims after login, refresh and silent auth', async () => {
  const ROLES = 'https://spa.example/roles';
  const PROTOCOL = 'https://spa.example/protocol';
  const found = await s.api('GET', '/users-by-email?email=erin@example.com');
  assert.equal(found.status, 200);
  const userId: string = found.body[0].user_id;
  const role = await s.api('POST', '/roles', { body: { name: 'spa-editors' } });
  assert.equal(role.status, 200);
  assert.equal((await s.api('POST', `/users/${encodeURIComponent(userId)}/roles`, { body: { roles: [role.body.id] } })).status, 204);

  const mc = managementClient(s);
  const action: any = await mc.actions.create({
    name: `spa-claims-${Math.random().toString(36).slice(2, 8)}`,
    supported_triggers: [{ id: 'post-login', version: 'v3' }],
    code: `
exports.onExecutePostLogin = async (event, api) => {
  api.idToken.setCustomClaim('${ROLES}', event.authorization.roles);
  api.idToken.setCustomClaim('${PROTOCOL}', event.transaction.protocol);
};`,
  } as any);
  await mc.actions.deploy(action.id);
  await mc.actions.triggers.bindings.updateMany('post-login' as any, { bindings: [{ ref: { type: 'action_id', value: action.id } }] } as any);
  try {
    const page = await context.newPage();
    const opts = { domain: s.domain, clientId, authorizationParams: { redirect_uri: `${appOrigin}/`, scope: 'openid profile email offline_access' }, useRefreshTokens: true, cacheLocation: 'memory' };
    // prompt=login: the login form shows even if the context still holds a session.
    await loginThroughPage(page, opts, { prompt: 'login' });

    // No named helpers inside evaluate: tsx's keepNames would reference a __name the page lacks.
    const claims = await page.evaluate(async (o) => {
      const c = await (window as any).auth0.createAuth0Client(o);
      await c.handleRedirectCallback();
      const login = await c.getIdTokenClaims();
      await c.getTokenSilently({ cacheMode: 'off' });
      const refreshed = await c.getIdTokenClaims();
      // A client without refresh tokens renews through the hidden iframe (prompt=none).
      const s2 = await (window as any).auth0.createAuth0Client({ ...o, useRefreshTokens: false });
      await s2.getTokenSilently({ cacheMode: 'off' });
      const silent = await s2.getIdTokenClaims();
      return { login, refreshed, silent };
    }, opts);
    const pick = (x: any) => ({ email: x?.email, roles: x?.[ROLES], protocol: x?.[PROTOCOL] });

    assert.deepEqual(pick(claims.login), { email: 'erin@example.com', roles: ['spa-editors'], protocol: 'oidc-basic-profile' });
    assert.deepEqual(pick(claims.refreshed), { email: 'erin@example.com', roles: ['spa-editors'], protocol: 'oauth2-refresh-token' });
    assert.deepEqual(pick(claims.silent), { email: 'erin@example.com', roles: ['spa-editors'], protocol: 'oidc-basic-profile' });
  } finally {
    await mc.actions.triggers.bindings.updateMany('post-login' as any, { bindings: [] } as any);
  }
});
