import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import express from 'express';
import * as client from 'openid-client';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { startServer, freePort, type TestServer } from './helpers/server.ts';
import { createApp, createUser } from './helpers/login-flow.ts';
import { waitForMail } from './helpers/outbox.ts';

// Organizations in a real browser: an invitation email's link, through the
// application's login route, to sign-up on Universal Login and back to the
// application as a member of the organization; and organization login with
// the pre-login prompt, where the person types the organization's name.

let s: TestServer;
let server: Server;
let browser: Browser;
let appOrigin = '';
let app: { client_id: string; client_secret?: string };
let org: any;
let adminRole: any;

/**
 * A server-side application the way Auth0 documents one for organizations:
 * its login route passes `invitation` and `organization` on to /authorize,
 * its callback redeems the code and shows the ID token's claims.
 */
async function startApp(port: number) {
  const config = await client.discovery(new URL(s.baseUrl), app.client_id, app.client_secret);
  const pending = new Map<string, { verifier: string; nonce: string }>();
  const web = express();
  web.get('/login', async (req, res) => {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    pending.set(state, { verifier, nonce });
    const extra: Record<string, string> = {};
    for (const k of ['invitation', 'organization']) if (typeof req.query[k] === 'string') extra[k] = req.query[k] as string;
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: `${appOrigin}/callback`, scope: 'openid profile email', state, nonce,
      code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra,
    });
    res.redirect(url.href);
  });
  web.get('/callback', async (req, res) => {
    const state = String(req.query.state ?? '');
    const p = pending.get(state);
    if (!p || req.query.error) { res.status(400).json({ error: req.query.error ?? 'unknown state', error_description: req.query.error_description }); return; }
    pending.delete(state);
    try {
      const tokens = await client.authorizationCodeGrant(config, new URL(req.originalUrl, appOrigin), { pkceCodeVerifier: p.verifier, expectedState: state, expectedNonce: p.nonce });
      res.json({ claims: tokens.claims() });
    } catch (e) {
      res.status(500).json({ error: (e as Error).message });
    }
  });
  return new Promise<Server>((r) => { const srv = web.listen(port, '127.0.0.1', () => r(srv)); });
}

before(async () => {
  s = await startServer();
  const port = await freePort();
  appOrigin = `http://localhost:${port}`;
  app = await createApp(s, {
    name: 'Globex Portal', app_type: 'regular_web', callbacks: [`${appOrigin}/callback`], initiate_login_uri: `${appOrigin}/login`,
    organization_usage: 'require', organization_require_behavior: 'pre_login_prompt',
  });
  const conn = (await s.api('GET', '/connections?name=Username-Password-Authentication')).body[0];
  org = (await s.api('POST', '/organizations', { body: { name: 'globex', display_name: 'Globex Corp', enabled_connections: [{ connection_id: conn.id, assign_membership_on_login: false }] } })).body;
  adminRole = (await s.api('POST', '/roles', { body: { name: 'globex-admin' } })).body;
  server = await startApp(port);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
after(async () => {
  await browser?.close();
  await new Promise((r) => server?.close(r));
  await s?.close();
});

const newContext = (): Promise<BrowserContext> => browser.newContext({ ignoreHTTPSErrors: true });

test('an invitation email leads through sign-up to the application, as a member with the invited roles', async () => {
  const created = await s.api('POST', `/organizations/${org.id}/invitations`, {
    body: { inviter: { name: 'Hank Scorpio' }, invitee: { email: 'homer@example.com' }, client_id: app.client_id, roles: [adminRole.id] },
  });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  const mail = await waitForMail(s.dataDir, 'homer@example.com', { subject: /invited to join Globex Corp/ });
  assert.equal(mail.link, created.body.invitation_url);
  assert.ok(mail.text.includes(created.body.invitation_url));
  assert.match(mail.text, /Hank Scorpio has invited you to join Globex Corp on Globex Portal/);
  assert.ok(mail.link.startsWith(`${appOrigin}/login?`), mail.link);

  const context = await newContext();
  try {
    const page = await context.newPage();
    await page.goto(mail.link);
    await page.waitForURL(/\/u\/signup\?state=/);
    const email = page.locator('#email');
    assert.equal(await email.inputValue(), 'homer@example.com');
    assert.equal(await email.getAttribute('readonly'), '');
    await page.fill('#password', 'Donut-Lover-42!');
    await page.click('button[type=submit]');
    await page.waitForURL((u) => u.href.startsWith(`${appOrigin}/callback`));
    const body = JSON.parse(await page.locator('body').innerText());
    assert.equal(body.error, undefined, JSON.stringify(body));
    assert.equal(body.claims.org_id, org.id);
    assert.equal(body.claims.org_name, 'globex');
    assert.equal(body.claims.email, 'homer@example.com');
    const userId = body.claims.sub;

    const members = (await s.api('GET', `/organizations/${org.id}/members?fields=roles`)).body;
    const homer = members.find((m: any) => m.user_id === userId);
    assert.ok(homer, JSON.stringify(members));
    assert.deepEqual(homer.roles.map((r: any) => r.id), [adminRole.id]);
    const roles = (await s.api('GET', `/organizations/${org.id}/members/${encodeURIComponent(userId)}/roles`)).body;
    assert.deepEqual(roles.map((r: any) => r.name), ['globex-admin']);
    assert.equal((await s.api('GET', `/organizations/${org.id}/invitations/${created.body.id}`)).status, 404);

    // The link is spent: following it again ends at the application with an error.
    const again = await context.newPage();
    await again.goto(mail.link);
    await again.waitForURL((u) => u.href.startsWith(`${appOrigin}/callback`));
    const err = JSON.parse(await again.locator('body').innerText());
    assert.equal(err.error, 'invalid_request');
    assert.match(err.error_description, /already used/);
  } finally {
    await context.close();
  }
});

test('organization login with the pre-login prompt: the person types the organization name, then logs in', async () => {
  const user = await createUser(s, 'marge@example.com', 'Blue-Hair-123!', { name: 'Marge' });
  await s.api('POST', `/organizations/${org.id}/members`, { body: { members: [user.user_id] } });
  const context = await newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${appOrigin}/login`);
    await page.waitForURL(/\/u\/organization\?state=/);
    assert.equal(await page.locator('h1').innerText(), 'Enter your organization');
    // An unknown name is answered on the page.
    await page.fill('#organizationName', 'initech');
    await page.click('button[type=submit]');
    assert.match(await page.locator('[role=alert]').innerText(), /could not find an organization named "initech"/);
    await page.fill('#organizationName', 'Globex');
    await page.press('#organizationName', 'Enter');
    await page.waitForURL(/\/u\/login\?state=/);
    await page.fill('#username', 'marge@example.com');
    await page.fill('#password', 'Blue-Hair-123!');
    await page.click('button[type=submit]');
    await page.waitForURL((u) => u.href.startsWith(`${appOrigin}/callback`));
    const body = JSON.parse(await page.locator('body').innerText());
    assert.equal(body.error, undefined, JSON.stringify(body));
    assert.equal(body.claims.sub, user.user_id);
    assert.equal(body.claims.org_id, org.id);
    assert.equal(body.claims.org_name, 'globex');
  } finally {
    await context.close();
  }
});
