import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from './helpers/server.ts';
import { getPage, outbox, waitForMail } from './helpers/outbox.ts';

// /dbconnections/signup and /dbconnections/change_password with JSON and form
// bodies, Auth0's legacy error shape, and the mails they send.

let s: TestServer;
let clientId: string;
let otherClient: string;
const CONN = 'dbc-main';

before(async () => {
  s = await startServer();
  clientId = (await s.api('POST', '/clients', { body: { name: 'dbc app', app_type: 'regular_web' } })).body.client_id;
  otherClient = (await s.api('POST', '/clients', { body: { name: 'dbc other', app_type: 'spa' } })).body.client_id;
  const mk = async (name: string, options: object) => {
    const r = await s.api('POST', '/connections', { body: { name, strategy: 'auth0', enabled_clients: [clientId], options } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  };
  await mk(CONN, { passwordPolicy: 'good' });
  await mk('dbc-dict', { passwordPolicy: 'low', password_dictionary: { enable: true, dictionary: ['correcthorse'] } });
  await mk('dbc-username', { passwordPolicy: 'low', requires_username: true });
  await mk('dbc-closed', { passwordPolicy: 'low', disable_signup: true });
});
after(async () => { await s?.close(); });

async function post(path: string, body: Record<string, any>, form = false) {
  const r = await fetch(`${s.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json' },
    body: form ? new URLSearchParams(body).toString() : JSON.stringify(body),
  });
  const text = await r.text();
  let json: any;
  try { json = JSON.parse(text); } catch { /* text */ }
  return { status: r.status, text, body: json, type: r.headers.get('content-type') ?? '' };
}
const signup = (body: Record<string, any>, form = false) => post('/dbconnections/signup', { client_id: clientId, connection: CONN, ...body }, form);
const userCount = async () => (await s.api('GET', '/users?include_totals=true&per_page=1&search_engine=v3')).body.total;

describe('POST /dbconnections/signup', () => {
  test('JSON body: 200 with Auth0 fields, the user exists, a verification mail is sent and its link verifies', async () => {
    const r = await signup({ email: 'Json.User@example.com', password: 'Str0ng-pass!', given_name: 'Jay', family_name: 'Son', nickname: 'jj', user_metadata: { plan: 'pro' } });
    assert.equal(r.status, 200, r.text);
    assert.match(r.body._id, /^[0-9a-f]{24}$/);
    assert.equal(r.body.email, 'Json.User@example.com');
    assert.equal(r.body.email_verified, false);
    assert.equal(r.body.given_name, 'Jay');
    assert.equal(r.body.family_name, 'Son');
    assert.deepEqual(r.body.user_metadata, { plan: 'pro' });
    assert.equal(r.body.password, undefined);
    const u = await s.api('GET', `/users/${encodeURIComponent(`auth0|${r.body._id}`)}`);
    assert.equal(u.status, 200);
    assert.equal(u.body.email_verified, false);
    assert.equal(u.body.identities[0].connection, CONN);

    const mail = await waitForMail(s.dataDir, 'Json.User@example.com', { subject: /Verify/ });
    assert.ok(mail.link.startsWith(`${s.issuer}u/email-verification?ticket=`), mail.link);
    const page = await getPage(mail.link);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    assert.match(page.html, /verified/);
    assert.equal((await s.api('GET', `/users/${encodeURIComponent(`auth0|${r.body._id}`)}`)).body.email_verified, true);
    assert.equal((await getPage(mail.link)).status, 400, 'the link works once');
  });

  test('form body: 200, and user_metadata may come as a JSON string', async () => {
    const r = await signup({ email: 'form.user@example.com', password: 'Str0ng-pass!', name: 'Form User', user_metadata: JSON.stringify({ a: 'b' }) }, true);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.email, 'form.user@example.com');
    assert.equal(r.body.name, 'Form User');
    assert.deepEqual(r.body.user_metadata, { a: 'b' });
  });

  test('user_exists in the legacy shape, JSON and form', async () => {
    for (const form of [false, true]) {
      const r = await signup({ email: 'json.user@example.com', password: 'Str0ng-pass!' }, form);
      assert.equal(r.status, 400);
      assert.deepEqual(r.body, { name: 'BadRequestError', code: 'user_exists', description: 'The user already exists.', statusCode: 400 });
    }
  });

  test('username_exists', async () => {
    const first = await post('/dbconnections/signup', { client_id: clientId, connection: 'dbc-username', email: 'u1@example.com', username: 'taken', password: 'abcdefgh' });
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body.username, 'taken');
    const r = await post('/dbconnections/signup', { client_id: clientId, connection: 'dbc-username', email: 'u2@example.com', username: 'taken', password: 'abcdefgh' });
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 'username_exists');
    assert.equal(r.body.name, 'BadRequestError');
  });

  test('a weak password is a PasswordStrengthError with rules and policy, and creates nothing', async () => {
    const before = await userCount();
    for (const form of [false, true]) {
      const r = await signup({ email: 'weak@example.com', password: 'short' }, form);
      assert.equal(r.status, 400);
      assert.equal(r.body.name, 'PasswordStrengthError');
      assert.equal(r.body.code, 'invalid_password');
      assert.equal(r.body.message, 'Password is too weak');
      assert.equal(r.body.statusCode, 400);
      assert.equal(r.body.description.verified, false);
      const length = r.body.description.rules.find((x: any) => x.code === 'lengthAtLeast');
      assert.deepEqual(length, { message: 'At least %d characters in length', format: [8], code: 'lengthAtLeast', verified: false });
      assert.match(r.body.policy, /At least 8 characters in length/);
    }
    assert.equal(await userCount(), before);
  });

  test('dictionary password', async () => {
    const r = await post('/dbconnections/signup', { client_id: clientId, connection: 'dbc-dict', email: 'dict@example.com', password: 'correcthorse' });
    assert.equal(r.status, 400);
    assert.equal(r.body.name, 'PasswordDictionaryError');
    assert.equal(r.body.code, 'password_dictionary_error');
  });

  test('bad requests are 400 legacy errors, never 500', async () => {
    const cases: [Record<string, any>, string][] = [
      [{ password: 'Str0ng-pass!' }, 'invalid_signup'],
      [{ email: 'x@example.com' }, 'invalid_signup'],
      [{ email: 'not-an-email', password: 'Str0ng-pass!' }, 'invalid_signup'],
      [{ email: 'x@example.com', password: 12345678 }, 'invalid_signup'],
      [{ email: 'x@example.com', password: 'Str0ng-pass!', user_metadata: { n: 1 } }, 'invalid_signup'],
      [{ email: 'x@example.com', password: 'Str0ng-pass!', connection: 'nope' }, 'invalid_connection'],
      [{ email: 'x@example.com', password: 'Str0ng-pass!', connection: 'Username-Password-Authentication' }, 'invalid_connection'],
      [{ email: 'x@example.com', password: 'Str0ng-pass!', client_id: otherClient }, 'invalid_connection'],
      [{ email: 'x@example.com', password: 'Str0ng-pass!', client_id: 'unknown-client' }, 'invalid_client'],
      [{ email: 'x@example.com', password: 'Str0ng-pass!', client_id: undefined }, 'invalid_signup'],
    ];
    for (const [body, code] of cases) {
      const r = await signup(body);
      assert.equal(r.status, 400, `${JSON.stringify(body)} → ${r.text}`);
      assert.equal(r.body.code, code, JSON.stringify(body));
      assert.equal(r.body.statusCode, 400);
      assert.equal(typeof r.body.description, 'string');
    }
    const raw = await fetch(`${s.baseUrl}/dbconnections/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' });
    assert.equal(raw.status, 400);
    assert.equal((await raw.json() as any).statusCode, 400);
    assert.equal((await s.api('GET', `/users?q=${encodeURIComponent('email:"x@example.com"')}&search_engine=v3`)).body.length, 0);
  });

  test('disable_signup on the connection refuses signups', async () => {
    const r = await post('/dbconnections/signup', { client_id: clientId, connection: 'dbc-closed', email: 'closed@example.com', password: 'abcdef' });
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 'operation_not_allowed');
    assert.equal(r.body.description, 'public signup is disabled');
  });
});

describe('POST /dbconnections/change_password', () => {
  const TEXT = "We've just sent you an email to reset your password.";
  test('same text/plain answer for a known and an unknown email (JSON and form); only the known one gets mail', async () => {
    const n = outbox(s.dataDir).length;
    for (const form of [false, true]) {
      for (const email of ['form.user@example.com', 'ghost@example.com']) {
        const r = await post('/dbconnections/change_password', { client_id: clientId, email, connection: CONN }, form);
        assert.equal(r.status, 200);
        assert.match(r.type, /^text\/plain/);
        assert.equal(r.text, TEXT);
      }
    }
    const mail = await waitForMail(s.dataDir, 'form.user@example.com', { subject: /Reset/, after: n });
    assert.ok(mail.link.startsWith(`${s.issuer}u/reset-password?ticket=`));
    assert.equal((await getPage(mail.link)).status, 200);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(outbox(s.dataDir).slice(n).filter((m) => m.to === 'ghost@example.com').length, 0);
    assert.equal(outbox(s.dataDir).slice(n).filter((m) => m.to === 'form.user@example.com').length, 2);
  });

  test('missing email and unknown connection are legacy 400s', async () => {
    const a = await post('/dbconnections/change_password', { client_id: clientId, connection: CONN });
    assert.equal(a.status, 400);
    assert.equal(a.body.name, 'BadRequestError');
    const b = await post('/dbconnections/change_password', { client_id: clientId, email: 'a@example.com', connection: 'nope' });
    assert.equal(b.status, 400);
    assert.equal(b.body.code, 'invalid_connection');
  });
});
