import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { ManagementClient } from 'auth0';
import { startServer, type TestServer } from './helpers/server.ts';
import { managementClient } from './helpers/sdk.ts';
import { getPage, outbox, waitForMail } from './helpers/outbox.ts';
import { startSmtp, unQuotedPrintable, type SmtpServer } from './helpers/smtp.ts';

// The email provider (/emails/provider), delivery over SMTP to a test SMTP
// server, the outbox and its log line when no provider is set, and the
// tickets and jobs endpoints through the official ManagementClient.

let s: TestServer;
let mc: ManagementClient;
let smtp: SmtpServer;
let userId: string;
const EMAIL = 'mail.user@example.com';
const PASSWORD = 'Mail-Passw0rd!';
const SMTP_PASS = 's3cret-smtp-pass';
const logLines: any[] = [];

before(async () => {
  s = await startServer();
  smtp = await startSmtp();
  mc = managementClient(s);
  const u = await s.api('POST', '/users', { body: { connection: 'Username-Password-Authentication', email: EMAIL, password: PASSWORD } });
  assert.equal(u.status, 201, JSON.stringify(u.body));
  userId = u.body.user_id;
  // Capture what the server logs from here on.
  s.runtime.env.log = pino({ level: 'info' }, new Writable({ write(chunk, _e, cb) { logLines.push(JSON.parse(chunk.toString())); cb(); } }));
});
after(async () => { await s?.close(); await smtp?.close(); });

async function expectError(p: Promise<unknown>, status: number) {
  await assert.rejects(p, (e: any) => { assert.equal(e.statusCode, status, e.message); return true; });
}

describe('without an email provider', () => {
  test('GET /emails/provider is 404', async () => {
    await expectError(mc.emails.provider.get(), 404);
  });

  test('mc.jobs.verificationEmail.create: job completed, mail in the outbox, link logged and nothing else secret', async () => {
    const n = outbox(s.dataDir).length;
    const job: any = await mc.jobs.verificationEmail.create({ user_id: userId });
    assert.equal(job.type, 'verification_email');
    assert.equal(job.status, 'completed');
    assert.match(job.id, /^job_[A-Za-z0-9]{16}$/);
    assert.ok(!Number.isNaN(Date.parse(job.created_at)));
    assert.deepEqual(await mc.jobs.get(job.id), job);
    await expectError(mc.jobs.get('job_doesnotexist0000'), 404);

    const mail = await waitForMail(s.dataDir, EMAIL, { after: n, subject: /Verify/ });
    const line = logLines.find((l) => l.link === mail.link);
    assert.ok(line, 'the link is printed to the log');
    assert.equal(line.level, 30);
    const ticket = new URL(mail.link).searchParams.get('ticket')!;
    const rest = JSON.stringify({ ...line, link: undefined });
    assert.ok(!rest.includes(ticket), 'the ticket appears only inside the link');
    for (const secret of [PASSWORD, s.clientSecret, SMTP_PASS]) assert.ok(!JSON.stringify(line).includes(secret));
    assert.ok(!JSON.stringify(logLines).includes(PASSWORD));

    assert.equal((await getPage(mail.link)).status, 200);
    assert.equal((await s.api('GET', `/users/${encodeURIComponent(userId)}`)).body.email_verified, true);
  });

  test('unknown user is 404; missing user_id is 400', async () => {
    await expectError(mc.jobs.verificationEmail.create({ user_id: 'auth0|nobody' }), 404);
    assert.equal((await s.api('POST', '/jobs/verification-email', { body: {} })).status, 400);
  });

  test('mc.tickets.verifyEmail: a single-use link that redirects to result_url', async () => {
    await s.api('PATCH', `/users/${encodeURIComponent(userId)}`, { body: { email_verified: false } });
    const { ticket } = await mc.tickets.verifyEmail({ user_id: userId, result_url: 'https://app.example.com/verified', includeEmailInRedirect: true });
    assert.ok(ticket!.startsWith(`${s.issuer}u/email-verification?ticket=`));
    const r = await getPage(ticket!);
    assert.equal(r.status, 303);
    const loc = new URL(r.headers.get('location')!);
    assert.equal(`${loc.origin}${loc.pathname}`, 'https://app.example.com/verified');
    assert.equal(loc.searchParams.get('success'), 'true');
    assert.equal(loc.searchParams.get('email'), EMAIL);
    assert.equal((await s.api('GET', `/users/${encodeURIComponent(userId)}`)).body.email_verified, true);
    assert.equal((await getPage(ticket!)).status, 400);
    await expectError(mc.tickets.verifyEmail({ user_id: 'auth0|nobody' }), 404);
  });
});

describe('with an SMTP provider', () => {
  test('create returns no password, stores it sealed, and a second create conflicts', async () => {
    const created: any = await mc.emails.provider.create({
      name: 'smtp', enabled: true, default_from_address: 'auth@example.com',
      credentials: { smtp_host: '127.0.0.1', smtp_port: smtp.port, smtp_user: 'mailer', smtp_pass: SMTP_PASS },
    } as any);
    assert.deepEqual(created, { name: 'smtp', enabled: true, default_from_address: 'auth@example.com', credentials: { smtp_host: '127.0.0.1', smtp_port: smtp.port, smtp_user: 'mailer' } });
    const got: any = await mc.emails.provider.get();
    assert.deepEqual(got, created);
    const raw = JSON.stringify(await s.runtime.env.store.getTenantDoc('email_provider'));
    assert.ok(!raw.includes(SMTP_PASS), 'the password is sealed at rest');
    assert.ok(!JSON.stringify((await s.api('GET', '/tenants/settings')).body).includes('mailer'));
    await expectError(mc.emails.provider.create({ name: 'smtp', credentials: { smtp_host: 'x.example.com', smtp_port: 25 } } as any), 409);
    const fields = await s.api('GET', '/emails/provider?fields=name,enabled');
    assert.deepEqual(fields.body, { name: 'smtp', enabled: true });
  });

  test('a reset mail is delivered over SMTP with the stored credentials, not to the outbox', async () => {
    const n = outbox(s.dataDir).length;
    const r = await fetch(`${s.baseUrl}/dbconnections/change_password`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: EMAIL, connection: 'Username-Password-Authentication' }) });
    assert.equal(r.status, 200);
    const deadline = Date.now() + 5000;
    while (!smtp.messages.length && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    assert.equal(smtp.messages.length, 1);
    const m = smtp.messages[0];
    assert.deepEqual(m.auth, { user: 'mailer', pass: SMTP_PASS });
    assert.equal(m.from, 'auth@example.com');
    assert.deepEqual(m.to, [EMAIL]);
    const body = unQuotedPrintable(m.data);
    const link = (/https:\/\/\S+\/u\/reset-password\?ticket=[\w-]{43}/.exec(body) ?? [])[0];
    assert.ok(link, 'the message carries the reset link');
    assert.equal((await getPage(link)).status, 200);
    assert.equal(outbox(s.dataDir).length, n);
    assert.ok(!logLines.some((l) => JSON.stringify(l).includes(link)), 'an SMTP-delivered link is not logged');
  });

  test('PATCH keeps the password when only the host changes; disabled falls back to the outbox', async () => {
    const patched: any = await mc.emails.provider.update({ enabled: false, credentials: { smtp_host: '127.0.0.1' } } as any);
    assert.equal(patched.enabled, false);
    assert.equal(patched.credentials.smtp_user, 'mailer');
    assert.equal(patched.credentials.smtp_pass, undefined);
    const n = outbox(s.dataDir).length;
    const job: any = await mc.jobs.verificationEmail.create({ user_id: userId });
    assert.equal(job.status, 'completed');
    await waitForMail(s.dataDir, EMAIL, { after: n });
    assert.equal(smtp.messages.length, 1);

    await mc.emails.provider.update({ enabled: true } as any);
    await mc.jobs.verificationEmail.create({ user_id: userId });
    assert.equal(smtp.messages.length, 2);
    assert.deepEqual(smtp.messages[1].auth, { user: 'mailer', pass: SMTP_PASS });
  });

  test('an unreachable SMTP server makes the job fail without a 500', async () => {
    await mc.emails.provider.update({ credentials: { smtp_host: '127.0.0.1', smtp_port: 1 } } as any);
    const job: any = await mc.jobs.verificationEmail.create({ user_id: userId });
    assert.equal(job.status, 'failed');
    assert.ok(!JSON.stringify(logLines).includes(SMTP_PASS));
  });

  test('bad provider bodies are 400; DELETE removes it', async () => {
    assert.equal((await s.api('PATCH', '/emails/provider', { body: { credentials: { smtp_host: '' } } })).status, 400);
    assert.equal((await s.api('PATCH', '/emails/provider', { body: { name: 'smtp', credentials: { smtp_user: 'x' } } })).status, 200, 'same name merges credentials');
    assert.equal((await s.api('PATCH', '/emails/provider', { body: { bogus: 1 } })).status, 400);
    await mc.emails.provider.delete();
    await expectError(mc.emails.provider.get(), 404);
    await expectError(mc.emails.provider.delete(), 404);
    await expectError(mc.emails.provider.update({ enabled: true } as any), 404);
    assert.equal((await s.api('POST', '/emails/provider', { body: { name: 'smtp', credentials: { smtp_user: 'x' } } })).status, 400);
  });
});
