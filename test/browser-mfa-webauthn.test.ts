import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { BrowserContext, CDPSession, Page } from 'playwright-core';
import { decodeJwt } from 'jose';
import { startServer, type TestServer } from './helpers/server.ts';
import { browserRig, type BrowserRig } from './helpers/browser.ts';
import { createApp, createUser, exchangeCode } from './helpers/login-flow.ts';

// WebAuthn as a second factor in Chromium: the real /u/login and /u/mfa
// pages, their script and CSP, and Chrome's own WebAuthn stack answering
// through a virtual authenticator of the DevTools protocol (a USB security
// key for webauthn-roaming, the device's own for webauthn-platform). The
// application's callback is a bare page beside the server; the test redeems
// its code for the ID token, whose amr must say mfa.

let s: TestServer;
let rig: BrowserRig | undefined;
let context: BrowserContext;
let app: { client_id: string; client_secret?: string };
let CB = '';
const PW = 'Browser-key-pw-1!';
const enc = encodeURIComponent;

before(async () => {
  s = await startServer();
  rig = await browserRig(s);
  context = rig.context;
  CB = `${rig.origin}/callback`;
  rig.serve((_req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('callback'); });
  app = await createApp(s, { name: 'Key RP', app_type: 'regular_web', callbacks: [CB], grant_types: ['authorization_code'] });
  assert.equal((await s.api('PUT', '/guardian/policies', { body: ['all-applications'] })).status, 200);
});
after(async () => {
  await rig?.close();
  await s?.close();
});

async function factors(on: Record<string, boolean>) {
  for (const [name, enabled] of Object.entries(on)) assert.equal((await s.api('PUT', `/guardian/factors/${name}`, { body: { enabled } })).status, 200);
}

/** A page of its own with a virtual authenticator attached (Chrome's WebAuthn testing API). */
async function withAuthenticator(transport: 'usb' | 'internal'): Promise<{ page: Page; cdp: CDPSession; authenticatorId: string }> {
  const page = await context.newPage();
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport, hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return { page, cdp, authenticatorId };
}

const authorize = () => `${s.baseUrl}/authorize?${new URLSearchParams({
  client_id: app.client_id, redirect_uri: CB, response_type: 'code', scope: 'openid email', state: 'st', prompt: 'login',
})}`;

/** The password at /u/login, then the MFA page. */
async function toMfa(page: Page, email: string) {
  await page.goto(authorize());
  await page.waitForURL(/\/u\/login\?state=/);
  await page.fill('#username', email);
  await page.fill('#password', PW);
  await page.click('button[type="submit"]');
  await page.waitForURL(/\/u\/mfa\?state=/);
}

/** Through the recovery code's page when there is one, to the callback; the ID token's claims. */
async function claimsAtCallback(page: Page) {
  await page.waitForURL((u) => u.href.startsWith(CB) || u.pathname === '/u/mfa/webauthn');
  if (!page.url().startsWith(CB)) {
    assert.match(await page.locator('#recovery-code').innerText(), /^[A-Z0-9]{24}$/);
    await page.click('text=I have safely recorded this code, continue');
    await page.waitForURL((u) => u.href.startsWith(CB));
  }
  return decodeJwt((await exchangeCode(s, app, CB, page.url())).id_token);
}

const b64url = (b64: string) => Buffer.from(b64, 'base64').toString('base64url');
const methodsOf = async (userId: string) => (await s.api('GET', `/users/${enc(userId)}/authentication-methods`)).body as any[];

test('a security key (USB, cross-platform) is enrolled at /u/mfa, then challenges a later login; a deleted key is refused', async () => {
  await factors({ otp: true, 'webauthn-roaming': true, 'webauthn-platform': false, 'recovery-code': true });
  const email = 'browser-key@example.com';
  const userId = (await createUser(s, email, PW)).user_id;
  const { page, cdp, authenticatorId } = await withAuthenticator('usb');
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) errors.push(m.text()); });

  // Two factors offered: the choice, then the security key.
  await toMfa(page, email);
  await page.click('text=Security key');
  await page.waitForSelector('#webauthn-start');
  assert.equal(await page.locator('#webauthn-form').getAttribute('data-ceremony'), 'create');
  await page.fill('#name', 'Blue key');
  await page.click('#webauthn-start');
  const enrolled = await claimsAtCallback(page);
  assert.deepEqual(enrolled.amr, ['mfa']);
  assert.equal(enrolled.sub, userId);
  assert.deepEqual(errors, [], 'no CSP violation or script error');

  // The key Chrome made is the one the Management API shows, as Auth0 shows it.
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert.equal(credentials.length, 1);
  assert.equal(credentials[0].rpId, 'localhost');
  const key = (await methodsOf(userId)).find((m) => m.type === 'webauthn-roaming');
  assert.ok(key);
  assert.equal(key.key_id, b64url(credentials[0].credentialId));
  assert.equal(key.name, 'Blue key');
  assert.equal(key.relying_party_identifier, 'localhost');
  assert.equal(key.identity_user_id, userId.split('|')[1]);
  assert.equal(key.credential_device_type, 'single_device');
  assert.equal(key.credential_backed_up, false);
  assert.match(key.public_key, /^[A-Za-z0-9+/]+=*$/);
  assert.ok(key.created_at);
  const enrollments = (await s.api('GET', `/users/${enc(userId)}/enrollments`)).body as any[];
  assert.deepEqual(enrollments.map((e) => [e.auth_method, e.name]), [['webauthn-roaming', 'Blue key']]);
  const signCount = credentials[0].signCount;

  // A fresh login is challenged by the key, and offers the recovery code instead.
  await toMfa(page, email);
  assert.equal(await page.locator('#webauthn-form').getAttribute('data-ceremony'), 'get');
  assert.equal(await page.locator('text=Use a recovery code').count(), 1);
  await page.click('#webauthn-start');
  await page.waitForURL((u) => u.href.startsWith(CB));
  assert.deepEqual(decodeJwt((await exchangeCode(s, app, CB, page.url())).id_token).amr, ['mfa']);
  const after = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials[0];
  assert.ok(after.signCount > signCount, 'the key signed');

  // A challenge page open when the key is deleted: the key still answers, the server no longer takes it.
  await toMfa(page, email);
  assert.equal((await s.api('DELETE', `/users/${enc(userId)}/authentication-methods/${enc(key.id)}`)).status, 204);
  await page.click('#webauthn-start');
  await page.waitForURL(/\/u\/mfa\/webauthn$/);
  assert.match(await page.locator('[role="alert"]').first().innerText(), /no longer valid/);
  assert.ok(!(await methodsOf(userId)).some((m) => m.type === 'webauthn-roaming'));

  // The next login asks to enroll again rather than to use the deleted key.
  await toMfa(page, email);
  assert.equal(await page.locator('text=Choose how you want to verify your identity').count(), 1);
  await page.close();
});

test('device biometrics (webauthn-platform) through the internal authenticator, with user verification', async () => {
  await factors({ otp: false, 'webauthn-roaming': false, 'webauthn-platform': true, 'recovery-code': false });
  const email = 'browser-device@example.com';
  const userId = (await createUser(s, email, PW)).user_id;
  const { page, cdp, authenticatorId } = await withAuthenticator('internal');

  await toMfa(page, email);
  assert.equal(await page.locator('#webauthn-form').getAttribute('data-ceremony'), 'create');
  await page.click('#webauthn-start');
  assert.deepEqual((await claimsAtCallback(page)).amr, ['mfa']);
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  const method = (await methodsOf(userId)).find((m) => m.type === 'webauthn-platform');
  assert.equal(method?.key_id, b64url(credentials[0].credentialId));

  // Without user verification the device's answer does not pass.
  await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: false });
  await toMfa(page, email);
  await page.click('#webauthn-start');
  // Chrome itself refuses a ceremony that requires verification the authenticator cannot give: the page says so and stays.
  await page.waitForSelector('#webauthn-status:not([hidden])');
  assert.match(page.url(), /\/u\/mfa\?state=/);

  await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: true });
  await page.click('#webauthn-start');
  await page.waitForURL((u) => u.href.startsWith(CB));
  assert.deepEqual(decodeJwt((await exchangeCode(s, app, CB, page.url())).id_token).amr, ['mfa']);
  await page.close();
  await factors({ 'webauthn-platform': false });
});
