import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import express from 'express';
import { auth } from 'express-openid-connect';
import { type BrowserContext } from 'playwright-core';
import { startServer, freePort, type TestServer } from './helpers/server.ts';
import { launchChromium, serverTls } from './helpers/browser.ts';
import { createApp, createUser } from './helpers/login-flow.ts';

// A server-side web app on express-openid-connect, pointed at Postern by
// issuer URL only, logging a person in through the real login page.

let s: TestServer;
let server: Server;
let context: BrowserContext;
let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
let appOrigin = '';

before(async () => {
  s = await startServer();
  const port = await freePort();
  appOrigin = `http://localhost:${port}`;
  const client = await createApp(s, { name: 'Express', app_type: 'regular_web', callbacks: [`${appOrigin}/callback`], allowed_logout_urls: [appOrigin] });
  await createUser(s, 'frank@example.com', 'Frank-pw-123!', { name: 'Frank' });
  const app = express();
  app.use(auth({
    issuerBaseURL: s.baseUrl, baseURL: appOrigin, clientID: client.client_id, clientSecret: client.client_secret,
    secret: 'a-long-enough-cookie-secret-for-the-test-app', authRequired: false, idpLogout: true,
    authorizationParams: { response_type: 'code', scope: 'openid profile email' },
  }));
  app.get('/', (req: any, res) => res.json({ authenticated: req.oidc.isAuthenticated(), user: req.oidc.user ?? null }));
  server = await new Promise((r) => { const srv = app.listen(port, '127.0.0.1', () => r(srv)); });
  browser = await launchChromium();
  context = browser.context;
});
after(async () => {
  await browser?.close();
  await new Promise((r) => server?.close(r));
  await s?.close();
});

test('express-openid-connect logs in through the login page and out through logout', async () => {
  const page = await context.newPage();
  await page.goto(`${appOrigin}/login`);
  await page.waitForURL(/\/u\/login\?state=/);
  // The form works with the keyboard: email, password, then submit in order.
  await page.focus('#username');
  await page.keyboard.type('frank@example.com');
  await page.keyboard.press('Tab');
  await page.keyboard.type('Frank-pw-123!');
  await page.keyboard.press('Enter');
  await page.waitForURL(`${appOrigin}/`);
  const body = JSON.parse(await page.locator('body').innerText());
  assert.equal(body.authenticated, true);
  assert.equal(body.user.email, 'frank@example.com');
  assert.equal(body.user.name, 'Frank');
  assert.match(body.user.sub, /^auth0\|/);

  await page.goto(`${appOrigin}/logout`);
  await page.waitForURL((u) => u.origin === appOrigin);
  const after = JSON.parse(await page.locator('body').innerText());
  assert.equal(after.authenticated, false);
});
