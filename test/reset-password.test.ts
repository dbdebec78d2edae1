import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ManagementClient } from 'auth0';
import { startServer, type TestServer } from './helpers/server.ts';
import { managementClient } from './helpers/sdk.ts';
import { getPage, outbox, postForm, waitForMail } from './helpers/outbox.ts';
import { verifyPassword } from '../src/tenant/users.ts';

// Forgot password → outbox mail → reset page, with the connection's password
// policy and history, CSRF, single use, and escaping of reflected parameters.

let s: TestServer;
let mc: ManagementClient;
const CONN = 'reset-db';
const EMAIL = 'reset.user@example.com';
const OLD = 'Old-Passw0rd!';
let userId: string;

before(async () => {
  s = await startServer();
  mc = managementClient(s);
  const conn = await s.api('POST', '/connections', { body: { name: CONN, strategy: 'auth0', options: { passwordPolicy: 'good', password_history: { enable: true, size: 3 } } } });
  assert.equal(conn.status, 201, JSON.stringify(conn.body));
  const u = await s.api('POST', '/users', { body: { connection: CONN, email: EMAIL, password: OLD } });
  assert.equal(u.status, 201, JSON.stringify(u.body));
  userId = u.body.user_id;
});
after(async () => { await s?.close(); });

const user = () => s.runtime.env.store.getUser(userId);

async function requestReset(email: string) {
  const form = await getPage(`${s.baseUrl}/u/reset-password/request?connection=${CONN}`);
  assert.equal(form.status, 200);
  assert.match(form.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
  assert.match(form.html, /<label for="email">/);
  assert.ok(form.fields._csrf, 'the form carries a CSRF token');
  return postForm(`${s.baseUrl}/u/reset-password/request`, form.cookie, { ...form.fields, email });
}

describe('forgot password request page', () => {
  test('answers the same for a known and an unknown email, and mails only the known one', async () => {
    const before = outbox(s.dataDir).length;
    const known = await requestReset(EMAIL);
    const unknown = await requestReset('nobody@example.com');
    assert.equal(known.status, 200);
    assert.equal(unknown.status, 200);
    assert.equal(known.html.replaceAll(EMAIL, 'X'), unknown.html.replaceAll('nobody@example.com', 'X'));
    const mail = await waitForMail(s.dataDir, EMAIL, { after: before });
    assert.match(mail.subject, /Reset your .* password/);
    assert.ok(mail.link.startsWith(`${s.issuer}u/reset-password?ticket=`), mail.link);
    assert.ok(mail.text.includes(mail.link));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(outbox(s.dataDir).slice(before).filter((m) => m.to === 'nobody@example.com').length, 0);
  });

  test('a POST without the CSRF cookie and token is refused', async () => {
    const r = await postForm(`${s.baseUrl}/u/reset-password/request`, '', { email: EMAIL });
    assert.equal(r.status, 403);
    const form = await getPage(`${s.baseUrl}/u/reset-password/request`);
    const wrong = await postForm(`${s.baseUrl}/u/reset-password/request`, form.cookie, { _csrf: 'x'.repeat(43), email: EMAIL });
    assert.equal(wrong.status, 403);
  });

  test('coming from the login page, the state is kept and links back to it', async () => {
    const form = await getPage(`${s.baseUrl}/u/reset-password/request?state=abcDEF123_-xyz&client_id=c1`);
    assert.equal(form.fields.state, 'abcDEF123_-xyz');
    const decoded = form.html.replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)));
    assert.match(decoded, /<a href="\/u\/login\?state=abcDEF123_-xyz">Back to log in<\/a>/);
    const r = await postForm(`${s.baseUrl}/u/reset-password/request`, form.cookie, { ...form.fields, email: 'nobody@example.com' });
    assert.equal(r.status, 200);
    assert.match(r.html, /Back to log in/);
    const bad = await getPage(`${s.baseUrl}/u/reset-password/request?state=${encodeURIComponent('"><b>x</b>')}`);
    assert.equal(bad.fields.state, undefined);
    assert.ok(!bad.html.includes('<b>x'));
  });

  test('an invalid email is a 400 form, escaped', async () => {
    const form = await getPage(`${s.baseUrl}/u/reset-password/request`);
    const r = await postForm(`${s.baseUrl}/u/reset-password/request`, form.cookie, { ...form.fields, email: '"><script>alert(1)</script>' });
    assert.equal(r.status, 400);
    assert.ok(!r.html.includes('<script>alert(1)'));
  });
});

describe('reset page from the emailed link', () => {
  let link: string;
  before(async () => {
    const n = outbox(s.dataDir).length;
    await requestReset(EMAIL);
    link = (await waitForMail(s.dataDir, EMAIL, { after: n })).link;
  });

  test('weak password, mismatch and a reused password are 400 pages and keep the ticket usable; a good one resets once', async () => {
    const page = await getPage(link);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    assert.match(page.html, /<label for="password">/);
    assert.match(page.html, /At least 8 characters/);
    const post = (fields: Record<string, string>) => postForm(`${s.baseUrl}/u/reset-password`, page.cookie, { ...page.fields, ...fields });

    const weak = await post({ password: 'abc', confirm_password: 'abc' });
    assert.equal(weak.status, 400);
    assert.match(weak.html, /too weak/i);
    assert.match(weak.html, /At least 8 characters/);

    const mismatch = await post({ password: 'New-Passw0rd!1', confirm_password: 'New-Passw0rd!2' });
    assert.equal(mismatch.status, 400);
    assert.match(mismatch.html, /do not match/);

    const reused = await post({ password: OLD, confirm_password: OLD });
    assert.equal(reused.status, 400);
    assert.match(reused.html, /previously been used/);

    const noCsrf = await postForm(`${s.baseUrl}/u/reset-password`, '', { ticket: page.fields.ticket, password: 'New-Passw0rd!1', confirm_password: 'New-Passw0rd!1' });
    assert.equal(noCsrf.status, 403);

    assert.equal(await verifyPassword(await user(), OLD), true, 'nothing changed yet');
    const ok = await post({ password: 'New-Passw0rd!1', confirm_password: 'New-Passw0rd!1' });
    assert.equal(ok.status, 200, ok.html);
    assert.match(ok.html, /Password changed/);
    assert.equal(await verifyPassword(await user(), 'New-Passw0rd!1'), true);
    assert.equal(await verifyPassword(await user(), OLD), false);

    const again = await post({ password: 'Other-Passw0rd!2', confirm_password: 'Other-Passw0rd!2' });
    assert.equal(again.status, 400);
    assert.match(again.html, /already been used/);
    assert.equal((await getPage(link)).status, 400);
    assert.equal(await verifyPassword(await user(), 'New-Passw0rd!1'), true);
  });

  test('two concurrent submissions of one ticket: exactly one wins', async () => {
    const n = outbox(s.dataDir).length;
    await requestReset(EMAIL);
    const page = await getPage((await waitForMail(s.dataDir, EMAIL, { after: n })).link);
    const results = await Promise.all(['Race-Passw0rd!A', 'Race-Passw0rd!B'].map((p) =>
      postForm(`${s.baseUrl}/u/reset-password`, page.cookie, { ...page.fields, password: p, confirm_password: p })));
    assert.deepEqual(results.map((r) => r.status).sort(), [200, 400]);
  });
});

describe('password-change tickets from the Management API', () => {
  test('mc.tickets.changePassword: result_url redirect, mark_email_as_verified, ttl', async () => {
    const { ticket } = await mc.tickets.changePassword({ user_id: userId, result_url: 'https://app.example.com/done?x=1', mark_email_as_verified: true, includeEmailInRedirect: true });
    assert.ok(ticket!.startsWith(`${s.issuer}u/reset-password?ticket=`));
    assert.equal((await user())!.email_verified, 0);
    const page = await getPage(ticket!);
    assert.equal(page.status, 200);
    const r = await postForm(`${s.baseUrl}/u/reset-password`, page.cookie, { ...page.fields, password: 'Ticket-Passw0rd!', confirm_password: 'Ticket-Passw0rd!' });
    assert.equal(r.status, 303);
    const loc = new URL(r.headers.get('location')!);
    assert.equal(loc.origin + loc.pathname, 'https://app.example.com/done');
    assert.equal(loc.searchParams.get('x'), '1');
    assert.equal(loc.searchParams.get('success'), 'true');
    assert.equal(loc.searchParams.get('email'), EMAIL);
    assert.equal((await user())!.email_verified, 1);
    assert.equal(await verifyPassword(await user(), 'Ticket-Passw0rd!'), true);
  });

  test('by email and connection_id; unknown user is 404; missing both is 400', async () => {
    const conn = (await s.api('GET', `/connections?name=${CONN}`)).body[0];
    const r = await s.api('POST', '/tickets/password-change', { body: { email: EMAIL, connection_id: conn.id } });
    assert.equal(r.status, 201);
    assert.match(r.body.ticket, /\/u\/reset-password\?ticket=[\w-]{43}#$/);
    const missing = await s.api('POST', '/tickets/password-change', { body: { email: 'no@example.com', connection_id: conn.id } });
    assert.equal(missing.status, 404);
    assert.equal((await s.api('POST', '/tickets/password-change', { body: { user_id: 'auth0|nope' } })).status, 404);
    assert.equal((await s.api('POST', '/tickets/password-change', { body: {} })).status, 400);
    assert.equal((await s.api('POST', '/tickets/password-change', { body: { user_id: userId, client_id: 'nope' } })).status, 404);
  });

  test('an expired ticket is refused', async () => {
    const r = await s.api('POST', '/tickets/password-change', { body: { user_id: userId, ttl_sec: 1 } });
    await new Promise((res) => setTimeout(res, 1100));
    assert.equal((await getPage(r.body.ticket)).status, 400);
  });
});

describe('reflected parameters are escaped', () => {
  const probes = ['"><script>alert(1)</script>', "'><img src=x onerror=alert(1)>", 'javascript:alert(1)', '</title><svg onload=alert(1)>'];
  for (const p of probes) {
    test(`probe ${p}`, async () => {
      const q = encodeURIComponent(p);
      for (const url of [`/u/reset-password/request?email=${q}&connection=${q}&client_id=${q}&state=${q}`, `/u/reset-password?ticket=${q}`, `/u/email-verification?ticket=${q}`]) {
        const r = await getPage(`${s.baseUrl}${url}`);
        assert.ok(r.status === 200 || r.status === 400, `${url}: ${r.status}`);
        assert.ok(!/<script>alert|<img src=x|<svg onload/i.test(r.html), `${url} reflects markup`);
        if (/[<>"']/.test(p)) assert.ok(!r.html.includes(p), `${url} reflects the probe unescaped`);
      }
    });
  }
});
