import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AuthClient, type SignUpOptions } from '@auth0/auth0-auth-js';
import { startServer, type TestServer } from './helpers/server.ts';
import { managementClient } from './helpers/sdk.ts';
import { Jar, createApp, follow, formFields, go } from './helpers/login-flow.ts';
import { getPage, postForm, waitForMail } from './helpers/outbox.ts';

// The registration triggers: pre-user-registration actions may refuse a signup
// or add metadata before the user is stored (signups through
// @auth0/auth0-auth-js, the signup page, and the Management API), and
// post-user-registration and post-change-password actions run afterwards. The
// after-the-fact actions report to a local HTTP receiver, which is how a test
// sees that they ran and what their event held.

let s: TestServer;
let app: { client_id: string };
let receiver: Server;
let hookUrl: string;
const received: any[] = [];
const CONN = 'reg-db';
const CB = 'https://app.example.com/callback';

before(async () => {
  s = await startServer();
  app = await createApp(s, { name: 'Registration App', app_type: 'regular_web', callbacks: [CB], client_metadata: { tier: 'gold' } });
  const c = await s.api('POST', '/connections', { body: { name: CONN, strategy: 'auth0', enabled_clients: [app.client_id], metadata: { region: 'eu' } } });
  assert.equal(c.status, 201);
  receiver = createServer((req, res) => {
    let data = '';
    req.on('data', (d) => { data += d; });
    req.on('end', () => { received.push(JSON.parse(data)); res.end('ok'); });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
});
after(async () => { await s?.close(); receiver?.close(); });

async function bind(trigger: string, version: string, ...codes: string[]) {
  const mc = managementClient(s);
  const refs: any[] = [];
  for (const code of codes) {
    const a: any = await mc.actions.create({ name: `${trigger}-${Math.random().toString(36).slice(2, 8)}`, supported_triggers: [{ id: trigger, version }], code } as any);
    await mc.actions.deploy(a.id);
    refs.push({ ref: { type: 'action_id', value: a.id } });
  }
  await mc.actions.triggers.bindings.updateMany(trigger as any, { bindings: refs } as any);
}
const unbind = (trigger: string) => managementClient(s).actions.triggers.bindings.updateMany(trigger as any, { bindings: [] } as any);

const signUp = (email: string, extra: Record<string, unknown> = {}) =>
  new AuthClient({ domain: s.domain, clientId: app.client_id }).database.signUp({ email, password: 'Reg-pw-12345!', connection: CONN, ...extra } as SignUpOptions);
const userIn = async (email: string) => (await s.api('GET', `/users-by-email?email=${encodeURIComponent(email)}`)).body.find((u: any) => u.identities[0].connection === CONN);

/** Waits for the receiver to hear about `key`. */
async function report(key: (r: any) => boolean, timeoutMs = 10_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const hit = received.find(key);
    if (hit) return hit;
    if (Date.now() > until) throw new Error(`no report; received ${JSON.stringify(received)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const PRE = `exports.onExecutePreUserRegistration = async (event, api) => {
  if (event.user.email.endsWith('@closed.example')) return api.access.deny('domain_closed', 'Sign-ups from this domain are closed.');
  if (event.user.email.startsWith('invalid')) return api.validation.error('invalid_email_prefix', 'Pick another address.');
  if (event.user.email.startsWith('broken')) throw new Error('crm unreachable');
  api.user.setAppMetadata('plan', 'trial');
  api.user.setUserMetadata('signed_up_with', event.client ? event.client.name : 'management-api');
  api.user.setUserMetadata('region', event.connection.metadata.region);
  api.user.setUserMetadata('saw_password', JSON.stringify(event.request.body).includes('Reg-pw'));
};`;

test('pre-user-registration: a signup through @auth0/auth0-auth-js gets the metadata the actions set; the next action sees the first one\'s', async () => {
  await bind('pre-user-registration', 'v2', PRE, `exports.onExecutePreUserRegistration = async (event, api) => {
    api.user.setAppMetadata('plan_seen', event.user.app_metadata.plan);
    api.user.setUserMetadata('color', null);
  };`);
  const r = await signUp('new@open.example', { userMetadata: { color: 'blue', keep: 'yes' } });
  assert.equal(r.email, 'new@open.example');
  const u = await userIn('new@open.example');
  assert.deepEqual(u.app_metadata, { plan: 'trial', plan_seen: 'trial' });
  assert.deepEqual(u.user_metadata, { keep: 'yes', signed_up_with: 'Registration App', region: 'eu', saw_password: false });
});

test('pre-user-registration: a denial, a validation error and a failing action refuse the signup and store nothing', async () => {
  await bind('pre-user-registration', 'v2', PRE);
  const refused = async (email: string) => {
    const e: any = await signUp(email).then(() => assert.fail('signed up'), (err) => err);
    assert.equal(e.statusCode, 400, String(e));
    assert.equal(await userIn(email), undefined, 'no user stored');
    return JSON.parse(e.body);
  };
  const denied = await refused('someone@closed.example');
  assert.equal(denied.code, 'extensibility_error');
  assert.equal(denied.description, 'Sign-ups from this domain are closed.');
  assert.equal(denied.statusCode, 400);
  assert.equal((await refused('invalid@open.example')).code, 'invalid_email_prefix');
  const broken = await refused('broken@open.example');
  assert.deepEqual([broken.code, broken.description], ['extensibility_error', 'crm unreachable']);
});

test('pre-user-registration: the Management API create runs the actions too, without a client', async () => {
  await bind('pre-user-registration', 'v2', PRE);
  const made = await managementClient(s).users.create({ connection: CONN, email: 'admin-made@open.example', password: 'Reg-pw-12345!' } as any) as any;
  assert.deepEqual(made.app_metadata, { plan: 'trial' });
  assert.equal(made.user_metadata.signed_up_with, 'management-api');
  const r = await s.api('POST', '/users', { body: { connection: CONN, email: 'x@closed.example', password: 'Reg-pw-12345!' } });
  assert.equal(r.status, 400);
  assert.deepEqual(r.body, { statusCode: 400, error: 'Bad Request', message: 'Sign-ups from this domain are closed.', errorCode: 'extensibility_error' });
  assert.equal(await userIn('x@closed.example'), undefined);
  // The connection's own checks come first: a weak password never reaches the actions.
  const weak = await s.api('POST', '/users', { body: { connection: CONN, email: 'weak@closed.example', password: '1' } });
  assert.equal(weak.status, 400);
  assert.notEqual(weak.body.errorCode, 'extensibility_error');
});

test('pre-user-registration: the signup page shows the action\'s message and logs its reason', async () => {
  await bind('pre-user-registration', 'v2', PRE);
  const authorize = `${s.baseUrl}/authorize?${new URLSearchParams({ client_id: app.client_id, redirect_uri: CB, response_type: 'code', scope: 'openid', screen_hint: 'signup', connection: CONN })}`;
  const submit = async (email: string) => {
    const jar = new Jar();
    const first = await follow(jar, authorize, s.baseUrl);
    return go(jar, `${s.baseUrl}/u/signup`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...formFields(await first.res.text()), email, password: 'Reg-pw-12345!' }) });
  };
  const no = await submit('page@closed.example');
  assert.equal(no.status, 400);
  assert.match(await no.text(), /role="alert"[^>]*>Sign-ups from this domain are closed\./);
  const yes = await submit('page@open.example');
  assert.equal(yes.status, 303);
  const u = await userIn('page@open.example');
  assert.deepEqual(u.user_metadata, { signed_up_with: 'Registration App', region: 'eu', saw_password: false });
  let log: any;
  for (let i = 0; i < 50 && !log; i++) {
    log = (await s.api('GET', '/logs?q=type:fs&per_page=100')).body.find((l: any) => l.user_name === 'page@closed.example');
    if (!log) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(log?.description, 'domain_closed');
});

test('post-user-registration runs after the user is stored, with the stored user; its failure changes nothing', async () => {
  await unbind('pre-user-registration');
  await bind('post-user-registration', 'v2', `exports.onExecutePostUserRegistration = async (event) => {
    await fetch(${JSON.stringify(hookUrl)}, { method: 'POST', body: JSON.stringify({ trigger: 'post-user-registration', user_id: event.user.user_id, email: event.user.email, connection: event.connection.name, client: event.client && event.client.client_id }) });
    throw new Error('the welcome mail bounced');
  };`);
  const r = await signUp('after@open.example');
  const u = await userIn('after@open.example');
  assert.equal(`auth0|${r.id}`, u.user_id);
  const seen = await report((x) => x.trigger === 'post-user-registration' && x.email === 'after@open.example');
  assert.deepEqual(seen, { trigger: 'post-user-registration', user_id: u.user_id, email: 'after@open.example', connection: CONN, client: app.client_id });
  await unbind('post-user-registration');
});

test('post-change-password runs after a Management API password change and after a reset through the emailed link', async () => {
  await bind('post-change-password', 'v2', `exports.onExecutePostChangePassword = async (event) => {
    await fetch(${JSON.stringify(hookUrl)}, { method: 'POST', body: JSON.stringify({ trigger: 'post-change-password', user_id: event.user.user_id, connection: event.connection.name, ip: event.request.ip, body: event.request.body }) });
  };`);
  const u = await managementClient(s).users.create({ connection: CONN, email: 'changer@open.example', password: 'Reg-pw-12345!' } as any) as any;
  // A PATCH without a password changes no password, and runs nothing.
  assert.equal((await s.api('PATCH', `/users/${encodeURIComponent(u.user_id)}`, { body: { user_metadata: { a: '1' } } })).status, 200);
  assert.equal((await s.api('PATCH', `/users/${encodeURIComponent(u.user_id)}`, { body: { password: 'Changed-pw-1234!' } })).status, 200);
  const first = await report((x) => x.trigger === 'post-change-password' && x.user_id === u.user_id);
  assert.equal(first.connection, CONN);
  assert.deepEqual(first.body, {}, 'the new password never reaches the action');
  assert.equal(received.filter((x) => x.trigger === 'post-change-password' && x.user_id === u.user_id).length, 1);

  received.length = 0;
  const form = await getPage(`${s.baseUrl}/u/reset-password/request?connection=${CONN}`);
  assert.equal((await postForm(`${s.baseUrl}/u/reset-password/request`, form.cookie, { ...form.fields, email: 'changer@open.example' })).status, 200);
  const mail = await waitForMail(s.dataDir, 'changer@open.example');
  const reset = await getPage(mail.link.replace(s.issuer, `${s.baseUrl}/`));
  const done = await postForm(`${s.baseUrl}/u/reset-password`, reset.cookie, { ...reset.fields, password: 'Reset-pw-98765!', confirm_password: 'Reset-pw-98765!' });
  assert.equal(done.status, 200);
  const second = await report((x) => x.trigger === 'post-change-password' && x.user_id === u.user_id);
  assert.equal(second.ip, '127.0.0.1');
  await unbind('post-change-password');
});

test('password-reset-post-challenge runs once the reset link is opened, and may refuse the reset', async () => {
  await bind('password-reset-post-challenge', 'v1', `exports.onExecutePostChallenge = async (event, api) => {
    await fetch(${JSON.stringify(hookUrl)}, { method: 'POST', body: JSON.stringify({ trigger: 'post-challenge', user_id: event.user.user_id, connection: event.connection.name }) });
    if (event.user.email.startsWith('locked')) api.access.deny('reset locked by the help desk');
  };`);
  const mc = managementClient(s);
  const open = await mc.users.create({ connection: CONN, email: 'resetter@open.example', password: 'Reg-pw-12345!' } as any) as any;
  const locked = await mc.users.create({ connection: CONN, email: 'locked@open.example', password: 'Reg-pw-12345!' } as any) as any;
  const linkFor = async (email: string) => {
    const form = await getPage(`${s.baseUrl}/u/reset-password/request?connection=${CONN}`);
    assert.equal((await postForm(`${s.baseUrl}/u/reset-password/request`, form.cookie, { ...form.fields, email })).status, 200);
    return (await waitForMail(s.dataDir, email)).link.replace(s.issuer, `${s.baseUrl}/`);
  };
  received.length = 0;

  const page = await getPage(await linkFor('resetter@open.example'));
  assert.equal(page.status, 200);
  assert.deepEqual(await report((x) => x.trigger === 'post-challenge'), { trigger: 'post-challenge', user_id: open.user_id, connection: CONN });
  const done = await postForm(`${s.baseUrl}/u/reset-password`, page.cookie, { ...page.fields, password: 'Reset-pw-55555!', confirm_password: 'Reset-pw-55555!' });
  assert.equal(done.status, 200);
  assert.equal(received.filter((x) => x.trigger === 'post-challenge').length, 1, 'the form shown after the actions does not run them again');

  const link = await linkFor('locked@open.example');
  const refused = await getPage(link);
  assert.equal(refused.status, 403);
  assert.match(refused.html, /Password reset not allowed/);
  assert.doesNotMatch(refused.html, /help desk/, 'the reason is for the log, not the page');
  // A form posted without going through the page runs the actions too.
  const other = await getPage(`${s.baseUrl}/u/reset-password/request`);
  const direct = await postForm(`${s.baseUrl}/u/reset-password`, other.cookie, { _csrf: other.fields._csrf, ticket: new URL(link).searchParams.get('ticket')!, password: 'Reset-pw-66666!', confirm_password: 'Reset-pw-66666!' });
  assert.equal(direct.status, 403);
  let log: any;
  for (let i = 0; i < 50 && !log; i++) {
    log = (await s.api('GET', '/logs?q=type:fcp&per_page=50')).body.find((l: any) => l.user_id === locked.user_id);
    if (!log) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(log?.description, 'reset locked by the help desk');
  assert.ok(log.details.actions.executions.length >= 1);
  await unbind('password-reset-post-challenge');
});

test('with nothing bound, signups are untouched', async () => {
  await unbind('pre-user-registration');
  await signUp('plain@closed.example');
  const u = await userIn('plain@closed.example');
  assert.ok(u, 'the domain the unbound action refused signs up');
  assert.deepEqual([u.app_metadata, u.user_metadata], [undefined, undefined]);
});
