import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, pbkdf2Sync, randomBytes, scryptSync } from 'node:crypto';
import { mkdtempSync, writeFileSync, createReadStream } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { ManagementClient } from 'auth0';
import { hash as argon2Hash } from '@node-rs/argon2';
import { hashPassword, passwordMatches } from '../src/lib/passwords.ts';
import { customHashMatches } from '../src/tenant/custom-password-hash.ts';
import { startServer, TEST_ROOT, type TestServer } from './helpers/server.ts';
import { managementClient } from './helpers/sdk.ts';
import { assertError } from './helpers/assert.ts';
import { createApp, scriptedLogin } from './helpers/login-flow.ts';
import { outbox, waitForMail } from './helpers/outbox.ts';

// Bulk user jobs, the way teams migrate into and out of Auth0: imports of a
// users file (bcrypt and other systems' password hashes, upsert, per-user
// errors) and exports to a gzip file behind a short-lived link. Through the
// official SDK (jobs.usersImports / jobs.usersExports / jobs.get / jobs.errors),
// plain requests for the malformed bodies.

let s: TestServer;
let mc: ManagementClient;
let connId: string;
let app: { client_id: string; client_secret?: string };
const DB = 'Username-Password-Authentication';
const REALM = 'http://auth0.com/oauth/grant-type/password-realm';
const CB = 'https://migrated.example.com/cb';
const OWNER = 'owner@example.com';

before(async () => {
  s = await startServer();
  mc = managementClient(s);
  connId = (await s.api('GET', `/connections?name=${DB}`)).body[0].id;
  app = await createApp(s, { name: 'Migrated', app_type: 'regular_web', callbacks: [CB], grant_types: ['authorization_code', REALM] });
  assert.equal((await s.api('PATCH', '/tenants/settings', { body: { support_email: OWNER } })).status, 200);
});
after(async () => { await s?.close(); });

const store = () => s.runtime.env.store;
const usersFile = (users: unknown) => ({ data: Buffer.isBuffer(users) ? users : Buffer.from(JSON.stringify(users)), filename: 'users.json', contentType: 'application/json' });
const row = (email: string, connection = DB) => store().userByConnectionEmail(connection, email);

async function finished(id: string): Promise<any> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const job: any = await mc.jobs.get(id);
    if (job.status !== 'pending') return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still pending`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
async function runImport(users: unknown, opts: { upsert?: boolean; external_id?: string; send_completion_email?: boolean } = {}) {
  const { data: job, rawResponse } = await mc.jobs.usersImports.create({ users: usersFile(users), connection_id: connId, send_completion_email: false, ...opts } as any).withRawResponse();
  assert.equal(rawResponse.status, 202);
  return { job: job as any, done: await finished((job as any).id) };
}
async function passwordLogin(username: string, password: string) {
  const r = await fetch(`${s.baseUrl}/oauth/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: REALM, client_id: app.client_id, client_secret: app.client_secret!, realm: DB, username, password, scope: 'openid' }),
  });
  return { status: r.status, body: await r.json() as any };
}
/** A multipart body by hand, for what the SDK would never send. */
async function postForm(body: string, contentType: string) {
  const r = await fetch(`${s.baseUrl}/api/v2/jobs/users-imports`, { method: 'POST', headers: { authorization: `Bearer ${await s.token()}`, 'content-type': contentType }, body });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
}
function form(parts: Array<[string, string, string?]>, boundary = 'b0undary') {
  const body = parts.map(([name, value, filename]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"${filename ? `; filename="${filename}"` : ''}\r\n\r\n${value}\r\n`).join('') + `--${boundary}--\r\n`;
  return { body, type: `multipart/form-data; boundary=${boundary}` };
}
const userCount = async () => (await s.api('GET', '/users?per_page=0&include_totals=true')).body.total as number;

// --- imports ---------------------------------------------------------------------

test('import: pending in Auth0\'s shape (202), completed with a summary, and the users read back with their fields', async () => {
  const mailsBefore = outbox(s.dataDir).length;
  const { job, done } = await runImport([
    {
      email: 'Ada@Example.com', email_verified: true, phone_number: '+14155550100', phone_verified: true, user_id: 'legacy-1001', username: 'ada', given_name: 'Ada', family_name: 'Lovelace',
      name: 'Ada Lovelace', nickname: 'countess', picture: 'https://cdn.example.com/ada.png', blocked: false,
      app_metadata: { plan: 'gold', roles: ['admin'] }, user_metadata: { theme: 'dark' },
    },
    { email: 'grace@example.com' },
  ], { external_id: 'batch-7', send_completion_email: true });
  assert.match(job.id, /^job_[A-Za-z0-9]{16}$/);
  assert.deepEqual({ ...job, id: 0, created_at: 0 }, { type: 'users_import', status: 'pending', connection_id: connId, connection: DB, external_id: 'batch-7', id: 0, created_at: 0 });
  assert.ok(!Number.isNaN(Date.parse(job.created_at)));
  assert.deepEqual(done, { ...job, status: 'completed', summary: { failed: 0, updated: 0, inserted: 2, total: 2 } });
  assert.equal((await s.api('GET', `/jobs/${job.id}/errors`)).status, 204, 'a job without errors has none to list');

  const ada: any = await mc.users.get('auth0|legacy-1001');
  assert.deepEqual({ ...ada, created_at: 0, updated_at: 0 }, {
    created_at: 0, updated_at: 0, user_id: 'auth0|legacy-1001', email: 'Ada@Example.com', email_verified: true, username: 'ada',
    phone_number: '+14155550100', phone_verified: true,
    given_name: 'Ada', family_name: 'Lovelace', name: 'Ada Lovelace', nickname: 'countess', picture: 'https://cdn.example.com/ada.png',
    identities: [{ connection: DB, user_id: 'legacy-1001', provider: 'auth0', isSocial: false }],
    app_metadata: { plan: 'gold', roles: ['admin'] }, user_metadata: { theme: 'dark' },
  });
  const grace = await row('grace@example.com');
  assert.match(grace!.user_id, /^auth0\|[0-9a-f]{24}$/);
  assert.deepEqual([grace!.name, grace!.nickname, grace!.email_verified, grace!.password_hash], ['grace@example.com', 'grace', 0, null]);
  assert.match(grace!.picture!, /^https:\/\/s\.gravatar\.com\/avatar\//);

  const mail = await waitForMail(s.dataDir, OWNER, { subject: /users import job completed/, after: mailsBefore });
  assert.match(mail.text, new RegExp(`${job.id}[\\s\\S]*2 users: 2 inserted, 0 updated, 0 failed`));
  await runImport([{ email: 'quiet@example.com' }], { send_completion_email: false });
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(outbox(s.dataDir).filter((m) => m.to === OWNER).length, 1, 'send_completion_email=false sends nothing');
});

test('import: a file streamed from disk, as Auth0\'s docs show it, is imported too', async () => {
  const dir = mkdtempSync(join(TEST_ROOT, 'import-'));
  const path = join(dir, 'users.json');
  writeFileSync(path, JSON.stringify([{ email: 'streamed@example.com', given_name: 'Streamed' }]));
  const job: any = await mc.jobs.usersImports.create({ users: createReadStream(path), connection_id: connId, send_completion_email: false });
  assert.deepEqual((await finished(job.id)).summary, { failed: 0, updated: 0, inserted: 1, total: 1 });
  assert.equal((await row('streamed@example.com'))!.given_name, 'Streamed');
});

const PASSWORD = 'Migrated-pw-42!';
const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');

async function hashedUsers() {
  const pbSalt = randomBytes(12);
  const ldapSalt = randomBytes(8);
  return [
    { email: 'bcrypt@example.com', password_hash: await hashPassword(PASSWORD) },
    { email: 'argon@example.com', custom_password_hash: { algorithm: 'argon2', hash: { value: await argon2Hash(PASSWORD, { algorithm: 2 }) } } },
    {
      email: 'pbkdf2@example.com',
      custom_password_hash: { algorithm: 'pbkdf2', hash: { value: `$pbkdf2-sha256$i=20000,l=32$${b64(pbSalt)}$${b64(pbkdf2Sync(PASSWORD, pbSalt, 20000, 32, 'sha256'))}`, encoding: 'utf8' } },
    },
    {
      email: 'sha256@example.com',
      custom_password_hash: { algorithm: 'sha256', hash: { value: createHash('sha256').update(`s4lt${PASSWORD}`).digest('hex').toUpperCase(), encoding: 'hex' }, salt: { value: 's4lt', position: 'prefix' } },
    },
    {
      email: 'md5@example.com',
      custom_password_hash: { algorithm: 'md5', hash: { value: createHash('md5').update(Buffer.concat([Buffer.from(PASSWORD), Buffer.from('c0ffee', 'hex')])).digest('base64'), encoding: 'base64' }, salt: { value: 'c0ffee', encoding: 'hex', position: 'suffix' } },
    },
    {
      email: 'hmac@example.com',
      custom_password_hash: { algorithm: 'hmac', hash: { value: createHmac('sha512', 'pepper').update(PASSWORD).digest('hex'), encoding: 'hex', digest: 'sha512', key: { value: 'pepper' } } },
    },
    {
      email: 'ldap@example.com',
      custom_password_hash: { algorithm: 'ldap', hash: { value: `{SSHA}${Buffer.concat([createHash('sha1').update(Buffer.concat([Buffer.from(PASSWORD), ldapSalt])).digest(), ldapSalt]).toString('base64')}` } },
    },
    {
      email: 'scrypt@example.com',
      custom_password_hash: { algorithm: 'scrypt', hash: { value: scryptSync(PASSWORD, 'NaCl', 32, { N: 1024 }).toString('base64'), encoding: 'base64' }, salt: { value: 'NaCl' }, keylen: 32, cost: 1024 },
    },
  ];
}

test('passwords: bcrypt and argon2id, pbkdf2, salted sha256 and md5, hmac, ldap and scrypt users log in, and are bcrypt afterwards', async () => {
  const users = await hashedUsers();
  const { done } = await runImport(users);
  assert.deepEqual(done.summary, { failed: 0, updated: 0, inserted: users.length, total: users.length });

  const bcrypt = await row('bcrypt@example.com');
  assert.equal(bcrypt!.password_hash, users[0].password_hash, 'a bcrypt password_hash is stored as it is');
  for (const u of users.slice(1)) {
    const stored = (await row(u.email))!.password_hash!;
    assert.match(stored, /^imported:enc:v1:/, `${u.email}: the imported hash is sealed at rest`);
    const c = (u as any).custom_password_hash;
    assert.ok(!stored.includes(c.hash.value) && !stored.includes('pepper'), `${u.email}: neither the hash nor the key is readable`);
  }

  for (const u of users) {
    const before = (await row(u.email))!.password_hash;
    const wrong = await passwordLogin(u.email, `${PASSWORD}x`);
    assert.deepEqual([wrong.status, wrong.body.error], [403, 'invalid_grant'], `${u.email}: a wrong password fails`);
    assert.equal((await row(u.email))!.password_hash, before, `${u.email}: a failed login changes nothing`);

    const ok = await passwordLogin(u.email, PASSWORD);
    assert.equal(ok.status, 200, `${u.email}: ${JSON.stringify(ok.body)}`);
    assert.ok(ok.body.access_token && ok.body.id_token);
    const after = (await row(u.email))!.password_hash!;
    assert.match(after, /^\$2[aby]\$10\$/, `${u.email}: re-hashed to bcrypt`);
    assert.ok(await passwordMatches(PASSWORD, after));
    assert.equal((await passwordLogin(u.email, PASSWORD)).status, 200, `${u.email}: logs in again through bcrypt`);
    assert.equal((await passwordLogin(u.email, 'Migrated-pw-43!')).status, 403);
  }
});

test('passwords: an imported hash also logs in through the Universal Login page', async () => {
  const salt = randomBytes(16);
  await runImport([{ email: 'page@example.com', custom_password_hash: { algorithm: 'sha512', hash: { value: createHash('sha512').update(Buffer.concat([salt, Buffer.from(PASSWORD)])).digest('base64url'), encoding: 'base64' }, salt: { value: salt.toString('hex'), encoding: 'hex' } } }]);
  const authorize = `${s.baseUrl}/authorize?${new URLSearchParams({ client_id: app.client_id, response_type: 'code', redirect_uri: CB, scope: 'openid', state: 'st' })}`;
  const wrong = await scriptedLogin(s, authorize, 'page@example.com', 'nope-nope-1');
  assert.equal(wrong.res.status, 401);
  assert.match((await row('page@example.com'))!.password_hash!, /^imported:/);
  const { url } = await scriptedLogin(s, authorize, 'page@example.com', PASSWORD);
  assert.match(url, /^https:\/\/migrated\.example\.com\/cb\?code=/);
  assert.match((await row('page@example.com'))!.password_hash!, /^\$2b\$10\$/);
});

test('custom hashes verify as Auth0\'s documented examples say (hmac "test", scrypt "password", bcrypt "hello")', async () => {
  const hmac = { algorithm: 'hmac', hash: { value: 'cg7f42jH39/2EaAU4wNd4s2lKIk=', encoding: 'base64' as const, digest: 'sha1', key: { value: '736868', encoding: 'hex' as const } } };
  const scrypt = { algorithm: 'scrypt', hash: { value: '097f6197e1b41538f723e32aa7a68e8d76227d8e432ce5faa4882a913032db29', encoding: 'hex' as const }, salt: { value: 'abc123', encoding: 'utf8' as const }, keylen: 32, cost: 4096 };
  const bcrypt = { algorithm: 'bcrypt', hash: { value: '$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K' } };
  assert.deepEqual(await Promise.all([customHashMatches(hmac, 'test'), customHashMatches(scrypt, 'password'), customHashMatches(bcrypt, 'hello')]), [true, true, true]);
  assert.deepEqual(await Promise.all([customHashMatches(hmac, 'Test'), customHashMatches(scrypt, 'passwore'), customHashMatches(bcrypt, 'hellO')]), [false, false, false]);
});

test('import: existing users without upsert and bad entries are per-user errors; the others are imported', async () => {
  const before = await row('grace@example.com');
  const { done } = await runImport([
    { email: 'grace@example.com', given_name: 'Not Grace' },
    { email: 'fresh@example.com', password_hash: await hashPassword('Fresh-pw-1!') },
    { email: 'FRESH@example.com' },
    { email: 'other@example.com', user_id: 'legacy-1001' },
    { email: 'not-an-email' },
    { email: 'both@example.com', password_hash: await hashPassword('x'), custom_password_hash: { algorithm: 'md5', hash: { value: 'AA', encoding: 'hex' } } },
    { email: 'extra@example.com', favourite_colour: 'blue' },
    { email: 'badhex@example.com', custom_password_hash: { algorithm: 'md5', hash: { value: 'zz', encoding: 'hex' } } },
    { email: 'reserved@example.com', app_metadata: { plan: 'x', loginsCount: 5 } },
    { email: 'weak@example.com', password_hash: 'plain-text' },
    42,
  ]);
  assert.deepEqual(done.summary, { failed: 10, updated: 0, inserted: 1, total: 11 });
  const errors: any = await mc.jobs.errors.get(done.id);
  assert.ok(Array.isArray(errors));
  const byEmail = Object.fromEntries(errors.map((e: any) => [e.user?.email ?? String(e.user), e.errors]));
  assert.deepEqual(errors[0], { user: { email: 'grace@example.com', given_name: 'Not Grace' }, errors: [{ code: 'DUPLICATED_USER', message: 'The user already exist and upsert parameter is false' }] });
  assert.deepEqual(byEmail['FRESH@example.com'].map((e: any) => e.code), ['DUPLICATED_USER'], 'the same user twice in one file');
  assert.deepEqual(byEmail['other@example.com'].map((e: any) => e.code), ['DUPLICATED_USER'], 'a user_id that exists');
  assert.deepEqual(byEmail['not-an-email'], [{ code: 'INVALID_FORMAT', message: "Object didn't pass validation for format email", path: '#/email' }]);
  assert.deepEqual(byEmail['both@example.com'].map((e: any) => e.code), ['NOT_PASSED']);
  assert.deepEqual(byEmail['extra@example.com'], [{ code: 'OBJECT_ADDITIONAL_PROPERTIES', message: 'Additional properties not allowed: favourite_colour', path: '#/' }]);
  assert.deepEqual(byEmail['badhex@example.com'].map((e: any) => [e.code, e.path]), [['INVALID_FORMAT', '#/custom_password_hash/hash/value']]);
  assert.deepEqual(byEmail['reserved@example.com'].map((e: any) => [e.code, e.path]), [['NOT_PASSED', '#/app_metadata/loginsCount']]);
  assert.deepEqual(byEmail['weak@example.com'].map((e: any) => [e.code, e.path]), [['PATTERN', '#/password_hash']]);
  assert.deepEqual(byEmail['42'], [{ code: 'INVALID_TYPE', message: 'Expected type object but found type integer', path: '#/' }]);
  // Secrets are masked in the list, as Auth0 masks them.
  assert.equal(errors.find((e: any) => e.user?.email === 'both@example.com').user.password_hash, '*****');
  assert.equal(errors.find((e: any) => e.user?.email === 'both@example.com').user.custom_password_hash.hash.value, '*****');
  assert.ok(!JSON.stringify(errors).includes('plain-text'));

  assert.deepEqual(await row('grace@example.com'), before, 'the existing user is untouched');
  assert.equal((await passwordLogin('fresh@example.com', 'Fresh-pw-1!')).status, 200, 'the good user in the same file was imported');
  for (const email of ['not-an-email', 'both@example.com', 'extra@example.com', 'badhex@example.com', 'reserved@example.com', 'weak@example.com']) {
    assert.equal(await row(email), undefined, `${email} was not written`);
  }
});

test('import: upsert updates the upsertable fields by email, and only those', async () => {
  const ada = await row('Ada@Example.com');
  const argonBefore = (await row('argon@example.com'))!.password_hash; // re-hashed to bcrypt by its login above
  const newHash = { algorithm: 'sha1', hash: { value: createHash('sha1').update('Upserted-pw-1!').digest('hex'), encoding: 'hex' } };
  await runImport([{ email: 'unused@example.com', custom_password_hash: { algorithm: 'sha1', hash: { value: createHash('sha1').update('First-pw-1!').digest('hex'), encoding: 'hex' } } }]);
  const { done } = await runImport([
    {
      email: 'ada@example.com', given_name: 'Augusta', name: 'Augusta Ada King', email_verified: false, blocked: true, username: 'ada-new',
      user_metadata: { language: 'en' }, app_metadata: { plan: 'platinum' }, password_hash: await hashPassword('Not-applied-1!'),
    },
    { email: 'argon@example.com', custom_password_hash: newHash },
    { email: 'unused@example.com', custom_password_hash: newHash },
    { email: 'brand-new@example.com', nickname: 'bn' },
  ], { upsert: true });
  assert.deepEqual(done.summary, { failed: 0, updated: 3, inserted: 1, total: 4 });

  const after: any = await mc.users.get(ada!.user_id);
  assert.deepEqual([after.given_name, after.name, after.email_verified, after.family_name, after.nickname], ['Augusta', 'Augusta Ada King', false, 'Lovelace', 'countess']);
  assert.deepEqual(after.user_metadata, { language: 'en' }, 'metadata is replaced whole, not merged');
  assert.deepEqual(after.app_metadata, { plan: 'platinum' });
  assert.deepEqual([after.blocked, after.username, after.email, after.user_id], [undefined, 'ada', 'Ada@Example.com', 'auth0|legacy-1001'], 'blocked, username, email and user_id are not upserted');
  assert.equal((await row('Ada@Example.com'))!.password_hash, ada!.password_hash, 'password_hash is not upserted');
  assert.equal((await row('argon@example.com'))!.password_hash, argonBefore, 'a user who logged in keeps the password they logged in with');
  assert.equal((await passwordLogin('unused@example.com', 'First-pw-1!')).status, 403, 'a not yet used imported hash is replaced');
  assert.equal((await passwordLogin('unused@example.com', 'Upserted-pw-1!')).status, 200);
  assert.equal((await row('brand-new@example.com'))!.nickname, 'bn', 'upsert inserts users that do not exist');

  const { done: clash } = await runImport([{ email: 'someone-else@example.com', user_id: 'legacy-1001' }, { email: 'grace@example.com', username: 'ada' }], { upsert: true });
  assert.deepEqual(clash.summary, { failed: 2, updated: 0, inserted: 0, total: 2 });
  assert.deepEqual((await mc.jobs.errors.get(clash.id) as any).map((e: any) => e.errors[0].code), ['CONFLICT', 'CONFLICT_USERNAME']);
});

test('import: bad requests are 4xx and write nothing; a file that is not JSON fails the job', async () => {
  const count = await userCount();
  const users = JSON.stringify([{ email: 'never@example.com' }]);
  const cases: Array<[{ status: number; body: any }, number, RegExp, string]> = [
    [await postForm('this is not a form', 'multipart/form-data; boundary=xyz'), 400, /^Invalid multipart payload format$/, 'invalid_body'],
    [await postForm('x', 'multipart/form-data'), 400, /^Invalid multipart payload format$/, 'invalid_body'],
    [await (async () => { const f = form([['connection_id', connId]]); return postForm(f.body, f.type); })(), 400, /Missing required property: users/, 'invalid_body'],
    [await (async () => { const f = form([['users', users, 'u.json']]); return postForm(f.body, f.type); })(), 400, /Missing required property: connection_id/, 'invalid_body'],
    [await (async () => { const f = form([['users', users, 'u.json'], ['connection_id', 'con_short']]); return postForm(f.body, f.type); })(), 400, /connection_id/, 'invalid_body'],
    [await (async () => { const f = form([['users', users, 'u.json'], ['connection_id', connId], ['upsert', 'maybe']]); return postForm(f.body, f.type); })(), 400, /upsert/, 'invalid_body'],
    [await (async () => { const f = form([['users', users, 'a.json'], ['users2', users, 'b.json'], ['connection_id', connId]]); return postForm(f.body, f.type); })(), 400, /too many parts/, 'invalid_body'],
    [await (async () => { const f = form([['users', users, 'u.json'], ['connection_id', 'con_AAAAAAAAAAAAAAAA']]); return postForm(f.body, f.type); })(), 400, /^The connection does not exist\.$/, 'inexistent_connection'],
    [await (async () => { const f = form([['users', JSON.stringify([{ email: 'x@example.com', pad: 'x'.repeat(520 * 1024) }]), 'u.json'], ['connection_id', connId]]); return postForm(f.body, f.type); })(), 413, /maximum allowed: 512000/, 'payload_too_large'],
    [await postForm('{"users": ', 'application/json'), 400, /^Invalid request payload JSON format$/, 'invalid_body'],
    [await postForm(JSON.stringify({ users, connection_id: connId }), 'application/json'), 415, /multipart\/form-data/, 'unsupported_media_type'],
  ];
  for (const [r, status, message, code] of cases) assertError(r, status, message, code);

  const social = await s.api('POST', '/connections', { body: { name: 'corp-ad', strategy: 'ad' } });
  assert.equal(social.status, 201, JSON.stringify(social.body));
  const f = form([['users', users, 'u.json'], ['connection_id', social.body.id]]);
  assertError(await postForm(f.body, f.type), 400, 'Users can only be imported into database connections.', 'operation_not_supported');
  await assert.rejects(mc.jobs.usersImports.create({ users: usersFile([]), connection_id: social.body.id }), (e: any) => e.statusCode === 400);
  assert.equal(await userCount(), count, 'no refused request wrote a user');
  assert.equal(await row('never@example.com'), undefined);

  const { done } = await runImport(Buffer.from('{"email": "half'));
  assert.deepEqual([done.status, done.status_details], ['failed', 'Failed to parse users file JSON when importing users. Make sure it is valid JSON.']);
  const errors = await s.api('GET', `/jobs/${done.id}/errors`);
  assert.deepEqual(errors.body, { id: done.id, type: 'users_import', status: 'failed', created_at: done.created_at, connection_id: connId, status_details: done.status_details });
  const { done: notArray } = await runImport({ email: 'object@example.com' });
  assert.equal(notArray.status, 'failed');
  assert.equal(await row('object@example.com'), undefined);
});

test('import: at most two imports run at once (429), as in Auth0', async () => {
  await store().putTenantDoc('jobs:active-users-imports', { job_a: Date.now(), job_b: Date.now() });
  const f = form([['users', '[]', 'u.json'], ['connection_id', connId]]);
  assertError(await postForm(f.body, f.type), 429, 'There are 2 active import users jobs, please wait until some of them are finished and try again', 'too_many_requests');
  await store().putTenantDoc('jobs:active-users-imports', { job_a: Date.now(), job_b: Date.now() - 3 * 3600_000 });
  const ok = await postForm(f.body, f.type);
  assert.equal(ok.status, 202, 'a slot left by a job gone for longer than the timeout is free');
  await finished(ok.body.id);
  assert.deepEqual(Object.keys(await store().getTenantDoc('jobs:active-users-imports') ?? {}), ['job_a'], 'a finished job frees its slot');
  await store().deleteTenantDoc('jobs:active-users-imports');
});

// --- exports ---------------------------------------------------------------------

async function download(location: string) {
  const r = await fetch(location);
  if (r.status !== 200) return { status: r.status, text: await r.text(), headers: r.headers };
  return { status: 200, text: gunzipSync(Buffer.from(await r.arrayBuffer())).toString('utf8'), headers: r.headers };
}
async function runExport(body: Record<string, unknown>) {
  const job: any = await mc.jobs.usersExports.create(body as any);
  return { job, done: await finished(job.id) };
}

test('export json: NDJSON of exactly the connection\'s users and the requested fields', async () => {
  const other = await s.api('POST', '/connections', { body: { name: 'partners-db', strategy: 'auth0' } });
  await s.api('POST', '/users', { body: { connection: 'partners-db', email: 'partner@example.com', password: 'Partner-pw-1!' } });
  const fields = [{ name: 'user_id' }, { name: 'email' }, { name: 'user_metadata' }, { name: 'identities[0].connection', export_as: 'provider' }];
  const { job, done } = await runExport({ connection_id: connId, format: 'json', fields });
  assert.deepEqual({ ...job, id: 0, created_at: 0 }, { type: 'users_export', status: 'pending', connection_id: connId, format: 'json', fields, connection: DB, id: 0, created_at: 0 });
  assert.equal(done.status, 'completed');
  const location = new URL(done.location);
  assert.equal(location.origin, s.baseUrl);
  assert.match(location.pathname, new RegExp(`^/export-files/${job.id}/[^/]+\\.json\\.gz$`));

  const file = await download(done.location);
  assert.equal(file.status, 200);
  assert.equal(file.headers.get('content-type'), 'application/gzip');
  const lines = file.text.trimEnd().split('\n').map((l) => JSON.parse(l));
  const tenant = (await s.api('GET', '/users?per_page=100')).body.filter((u: any) => u.identities[0].connection === DB);
  assert.ok(tenant.length >= 10);
  assert.deepEqual(lines.map((l) => l.user_id).sort(), tenant.map((u: any) => u.user_id).sort(), 'every user of the connection, once, and no other');
  for (const l of lines) {
    const u = tenant.find((x: any) => x.user_id === l.user_id);
    assert.deepEqual(l, { user_id: u.user_id, email: u.email, ...(u.user_metadata ? { user_metadata: u.user_metadata } : {}), provider: DB });
  }
  assert.ok(!file.text.includes('partner@example.com'));

  const all = await runExport({ format: 'json', fields: [{ name: 'email' }] });
  const everyone = (await download(all.done.location)).text.trimEnd().split('\n').map((l) => JSON.parse(l).email);
  assert.ok(everyone.includes('partner@example.com'), 'without connection_id every connection is exported');
  assert.equal(everyone.length, tenant.length + 1);
  const limited = await runExport({ connection_id: other.body.id, format: 'json', limit: 1, fields: [{ name: 'email' }] });
  assert.deepEqual((await download(limited.done.location)).text, '{"email":"partner@example.com"}\n');
  const two = await runExport({ connection_id: connId, format: 'json', limit: 2 });
  assert.equal((await download(two.done.location)).text.trimEnd().split('\n').length, 2, 'limit caps the users');
});

test('export csv: a header, the fields in order, strings escaped against formula injection', async () => {
  await s.api('PATCH', `/users/${encodeURIComponent('auth0|legacy-1001')}`, { body: { user_metadata: { note: '=HYPERLINK("x")' } } });
  const { done } = await runExport({
    connection_id: connId, format: 'csv',
    fields: [{ name: 'email' }, { name: 'app_metadata.plan', export_as: 'plan' }, { name: 'user_metadata.note' }, { name: 'created_at' }, { name: 'email_verified' }],
  });
  assert.match(new URL(done.location).pathname, /\.csv\.gz$/);
  const [header, ...rows] = (await download(done.location)).text.trimEnd().split('\n');
  assert.equal(header, 'email,plan,user_metadata.note,created_at,email_verified');
  const ada: any = await mc.users.get('auth0|legacy-1001');
  assert.ok(rows.includes(`"'Ada@Example.com","'platinum","'=HYPERLINK(""x"")",${ada.created_at},false`), rows.join('\n'));
  assert.equal(rows.length, (await s.api('GET', '/users?per_page=100')).body.filter((u: any) => u.identities[0].connection === DB).length);

  const dflt = await runExport({ connection_id: connId });
  assert.equal(dflt.job.format, 'csv', 'csv is the default format');
  assert.match((await download(dflt.done.location)).text, /^user_id,email,email_verified,username,/);
});

test('export: the location needs no token, cannot be altered, and expires; a read makes a new one', async () => {
  const { done } = await runExport({ connection_id: connId, format: 'json', fields: [{ name: 'email' }] });
  const url = new URL(done.location);
  assert.equal((await download(url.toString())).status, 200);
  const altered = (edit: (u: URL) => void) => { const u = new URL(url); edit(u); return u.toString(); };
  const forged = [
    altered((u) => u.searchParams.set('signature', `${u.searchParams.get('signature')!.slice(0, -2)}AA`)),
    altered((u) => u.searchParams.set('expires', String(Number(u.searchParams.get('expires')) + 3600))),
    altered((u) => u.searchParams.delete('signature')),
    altered((u) => { u.pathname = u.pathname.replace(done.id, 'job_AAAAAAAAAAAAAAAA'); }),
    altered((u) => { u.pathname = u.pathname.replace('.json.gz', '.csv.gz'); }),
    `${s.baseUrl}/export-files/`,
  ];
  for (const f of forged) {
    const r = await download(f);
    assert.equal(r.status, 404, f);
    assert.equal(JSON.parse(r.text).message, 'The export file does not exist or its link has expired.');
  }
  const realNow = Date.now;
  Date.now = () => realNow() + 61_000;
  try {
    assert.equal((await download(url.toString())).status, 404, 'a link older than a minute is refused');
  } finally {
    Date.now = realNow;
  }
  const again: any = await mc.jobs.get(done.id);
  assert.notEqual(again.location, undefined);
  assert.equal((await download(again.location)).status, 200, 'GET /jobs/{id} gives a fresh link');
});

test('export: bad input is 400', async () => {
  const cases: Array<[unknown, RegExp, string?]> = [
    [{ format: 'xml' }, /format/],
    [{ connection_id: 'con_AAAAAAAAAAAAAAAA' }, /^The connection does not exist\.$/, 'inexistent_connection'],
    [{ format: 'csv', fields: [{ name: 'user_metadata' }] }, /cannot include app_metadata or user_metadata whole/],
    [{ format: 'csv', fields: Array.from({ length: 31 }, (_, i) => ({ name: `user_metadata.f${i}` })) }, /limited to 30 fields/],
    [{ limit: 0 }, /limit/],
    [{ fields: [{ export_as: 'x' }] }, /Missing required property: name/],
  ];
  for (const [body, message, code] of cases) assertError(await s.api('POST', '/jobs/users-exports', { body }), 400, message, code ?? 'invalid_body');
});
