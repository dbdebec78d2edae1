import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { ManagementClient } from 'auth0';
import { startServer, type TestServer } from './helpers/server.ts';
import { collect as all, managementClient } from './helpers/sdk.ts';
import { assertError } from './helpers/assert.ts';
import { outbox } from './helpers/outbox.ts';

// Guardian (MFA) configuration and a user's MFA enrollments, as Auth0
// customers and security scanners drive them: the factors' provider settings
// (credentials write-only and sealed where they rest), enrollment tickets and
// their mail, and a user's authentication methods, enrollments and recovery
// code. Through the official SDK where it has the method, plain fetch otherwise.

let s: TestServer;
let mc: ManagementClient;
before(async () => {
  s = await startServer();
  mc = managementClient(s);
});
after(async () => { await s?.close(); });

const enc = encodeURIComponent;
const store = () => s.runtime.env.store;
let n = 0;
const uniq = (p: string) => `${p}${++n}${Math.random().toString(36).slice(2, 8)}`;
async function newUser(extra: Record<string, unknown> = {}) {
  return (await mc.users.create({ connection: 'Username-Password-Authentication', email: `${uniq('mfa')}@example.com`, password: 'Mfa-passw0rd!!', ...extra } as any)) as any;
}
/** The user's row data as stored, for checking what rests where. */
const rowData = async (userId: string) => (await store().getUser(userId))!.data;
const mfaStored = async (userId: string) => JSON.parse(await rowData(userId)).mfa;
const TOTP = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

// --- factor providers --------------------------------------------------------------

test('providers: Auth0\'s defaults before anything is written', async () => {
  assert.deepEqual(await mc.guardian.factors.duo.settings.get(), {});
  assert.deepEqual(await mc.guardian.factors.email.get(), { otp_length: 6, otp_expiration_time: 300 });
  const twilioDefaults = { from: null, messaging_service_sid: null, sid: null };
  assert.deepEqual(await mc.guardian.factors.phone.getTwilioProvider(), twilioDefaults);
  assert.deepEqual(await mc.guardian.factors.sms.getTwilioProvider(), twilioDefaults);
  assert.deepEqual(await mc.guardian.factors.pushNotification.getApnsProvider(), { sandbox: false, bundle_id: null, enabled: false });
  assert.deepEqual(await mc.guardian.factors.pushNotification.getSnsProvider(),
    { aws_access_key_id: null, aws_region: null, sns_apns_platform_application_arn: null, sns_gcm_platform_application_arn: null });
  for (const doc of ['guardian.duo', 'guardian.twilio', 'guardian.apns', 'guardian.sns', 'guardian.email_settings']) {
    assert.equal(await store().getTenantDoc(doc), undefined, `a read wrote nothing to ${doc}`);
  }
  // The email factor's PUT has no scope in Auth0's op table, so it is not served.
  assert.equal((await s.api('PUT', '/guardian/factors/email/settings', { body: { otp_length: 8, otp_expiration_time: 60 } })).status, 404);
  assert.deepEqual(await mc.guardian.factors.email.get(), { otp_length: 6, otp_expiration_time: 300 });
});

test('duo: PUT replaces, PATCH merges; skey is sealed at rest and never answered', async () => {
  const put = await mc.guardian.factors.duo.settings.set({ ikey: 'DIXXXXXXXXXXXXXXXXXX', skey: 'plain-duo-secret', host: 'api-123.duosecurity.com' });
  assert.deepEqual(put, { ikey: 'DIXXXXXXXXXXXXXXXXXX', host: 'api-123.duosecurity.com' });
  assert.deepEqual(await mc.guardian.factors.duo.settings.get(), put);
  const stored = await store().getTenantDoc('guardian.duo');
  assert.ok(!JSON.stringify(stored).includes('plain-duo-secret'), 'the secret key is not stored in the clear');
  assert.equal(s.runtime.env.box.open(stored.skey), 'plain-duo-secret', 'it is sealed with the master key');

  const patched = await mc.guardian.factors.duo.settings.update({ host: 'api-456.duosecurity.com' });
  assert.deepEqual(patched, { ikey: 'DIXXXXXXXXXXXXXXXXXX', host: 'api-456.duosecurity.com' });
  assert.equal(s.runtime.env.box.open((await store().getTenantDoc('guardian.duo')).skey), 'plain-duo-secret', 'a PATCH keeps the secret it does not name');

  assert.deepEqual(await mc.guardian.factors.duo.settings.set({ host: 'api-789.duosecurity.com' }), { host: 'api-789.duosecurity.com' });
  assert.deepEqual(await store().getTenantDoc('guardian.duo'), { host: 'api-789.duosecurity.com' }, 'a PUT replaces the whole document, secret included');

  assertError(await s.api('PUT', '/guardian/factors/duo/settings', { body: { host: 'x', bogus: 1 } }), 400, /Additional properties not allowed: bogus/, 'invalid_body');
  assertError(await s.api('PATCH', '/guardian/factors/duo/settings', { body: { ikey: 5 } }), 400, /must be string/, 'invalid_body');
  assert.deepEqual(await mc.guardian.factors.duo.settings.get(), { host: 'api-789.duosecurity.com' }, 'refused writes changed nothing');
});

test('twilio: the phone and the older sms paths are one document; auth_token is write-only', async () => {
  const body = { from: '+15550100', sid: 'AC0123456789', auth_token: 'plain-twilio-token', messaging_service_sid: null };
  const put = await mc.guardian.factors.phone.setTwilioProvider(body);
  assert.deepEqual(put, { from: '+15550100', sid: 'AC0123456789', messaging_service_sid: null });
  assert.deepEqual(await mc.guardian.factors.sms.getTwilioProvider(), put, 'the sms path reads what the phone path wrote');
  const stored = await store().getTenantDoc('guardian.twilio');
  assert.ok(!JSON.stringify(stored).includes('plain-twilio-token'));
  assert.equal(s.runtime.env.box.open(stored.auth_token), 'plain-twilio-token');

  await mc.guardian.factors.sms.setTwilioProvider({ messaging_service_sid: 'MG0001' });
  assert.deepEqual(await mc.guardian.factors.phone.getTwilioProvider(), { from: null, messaging_service_sid: 'MG0001', sid: null }, 'PUT replaced the document');
  assert.equal((await store().getTenantDoc('guardian.twilio')).auth_token, undefined);

  assertError(await s.api('PUT', '/guardian/factors/phone/providers/twilio', { body: { from: 'x'.repeat(65) } }), 400, /from/, 'invalid_body');
  assertError(await s.api('PUT', '/guardian/factors/sms/providers/twilio', { body: { sid: '' } }), 400, /sid/, 'invalid_body');
  assert.equal((await mc.guardian.factors.phone.getTwilioProvider()).messaging_service_sid, 'MG0001');
});

test('apns: enabled once a certificate is stored; the p12 is sealed and never answered', async () => {
  const put = await mc.guardian.factors.pushNotification.setApnsProvider({ sandbox: true, bundle_id: 'com.acme.app', p12: 'plain-p12-base64' });
  assert.deepEqual(put, { sandbox: true, bundle_id: 'com.acme.app' });
  assert.deepEqual(await mc.guardian.factors.pushNotification.getApnsProvider(), { sandbox: true, bundle_id: 'com.acme.app', enabled: true });
  const stored = await store().getTenantDoc('guardian.apns');
  assert.ok(!JSON.stringify(stored).includes('plain-p12-base64'));
  assert.equal(s.runtime.env.box.open(stored.p12), 'plain-p12-base64');

  assert.deepEqual(await mc.guardian.factors.pushNotification.updateApnsProvider({ sandbox: false }), { sandbox: false, bundle_id: 'com.acme.app' });
  assert.equal((await mc.guardian.factors.pushNotification.getApnsProvider()).enabled, true, 'a PATCH keeps the certificate');
  await mc.guardian.factors.pushNotification.updateApnsProvider({ p12: null });
  assert.deepEqual(await mc.guardian.factors.pushNotification.getApnsProvider(), { sandbox: false, bundle_id: 'com.acme.app', enabled: false });
  assertError(await s.api('PATCH', '/guardian/factors/push-notification/providers/apns', { body: { sandbox: 'yes' } }), 400, /sandbox/, 'invalid_body');
});

test('fcm and fcmv1: the credential is sealed; writes answer an empty object', async () => {
  assert.deepEqual(await mc.guardian.factors.pushNotification.setFcmProvider({ server_key: 'plain-fcm-key' }), {});
  assert.equal(s.runtime.env.box.open((await store().getTenantDoc('guardian.fcm')).server_key), 'plain-fcm-key');
  assert.deepEqual(await mc.guardian.factors.pushNotification.updateFcmProvider({ server_key: 'plain-fcm-key-2' }), {});
  assert.equal(s.runtime.env.box.open((await store().getTenantDoc('guardian.fcm')).server_key), 'plain-fcm-key-2');

  const credentials = JSON.stringify({ type: 'service_account', private_key: 'plain-private-key' });
  assert.deepEqual(await mc.guardian.factors.pushNotification.setFcmv1Provider({ server_credentials: credentials }), {});
  const v1 = await store().getTenantDoc('guardian.fcmv1');
  assert.ok(!JSON.stringify(v1).includes('plain-private-key'));
  assert.equal(s.runtime.env.box.open(v1.server_credentials), credentials);
  assert.deepEqual(await mc.guardian.factors.pushNotification.updateFcmv1Provider({ server_credentials: null }), {});
  assert.deepEqual(await store().getTenantDoc('guardian.fcmv1'), {});
  assertError(await s.api('PUT', '/guardian/factors/push-notification/providers/fcm', { body: { server_key: 'x'.repeat(153) } }), 400, /server_key/);
  assert.equal((await s.api('GET', '/guardian/factors/push-notification/providers/fcm')).status, 404, 'FCM has no read');
});

test('sns: PUT, PATCH, read back; the AWS secret is sealed and never answered; the region is checked', async () => {
  const body = {
    aws_access_key_id: 'AKIAEXAMPLE', aws_secret_access_key: 'plain-aws-secret', aws_region: 'us-west-2',
    sns_apns_platform_application_arn: 'arn:aws:sns:us-west-2:1:app/APNS/acme', sns_gcm_platform_application_arn: 'arn:aws:sns:us-west-2:1:app/GCM/acme',
  };
  const { aws_secret_access_key: _, ...shown } = body;
  assert.deepEqual(await mc.guardian.factors.pushNotification.setSnsProvider(body), shown);
  assert.deepEqual(await mc.guardian.factors.pushNotification.getSnsProvider(), shown);
  const stored = await store().getTenantDoc('guardian.sns');
  assert.ok(!JSON.stringify(stored).includes('plain-aws-secret'));
  assert.equal(s.runtime.env.box.open(stored.aws_secret_access_key), 'plain-aws-secret');

  assert.deepEqual(await mc.guardian.factors.pushNotification.updateSnsProvider({ aws_region: 'eu-west-1' }), { ...shown, aws_region: 'eu-west-1' });
  assertError(await s.api('PATCH', '/guardian/factors/push-notification/providers/sns', { body: { aws_region: 'mars-north-1' } }), 400, /aws_region/, 'invalid_body');
  assert.equal((await mc.guardian.factors.pushNotification.getSnsProvider()).aws_region, 'eu-west-1');
});

// --- enrollment tickets --------------------------------------------------------------

const ticketRow = (ticket: string) => store().findPayload('GuardianEnrollmentTicket', 'id', createHash('sha256').update(ticket).digest('base64url'));

test('tickets: made for an existing user, stored only as a hash, mailed through the outbox when asked', async () => {
  const u = await newUser();
  const before = outbox(s.dataDir).length;
  const t: any = await mc.guardian.enrollments.createTicket({ user_id: u.user_id, factor: 'otp', allow_multiple_enrollments: true });
  assert.match(t.ticket_id, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(t.ticket_url, `${s.issuer}u/guardian/enrollment?ticket=${t.ticket_id}#`);
  const row = await ticketRow(t.ticket_id);
  assert.ok(row, 'the ticket is stored under its hash');
  assert.deepEqual(JSON.parse(row!.payload), { user_id: u.user_id, factor: 'otp', allow_multiple_enrollments: true });
  assert.equal(row!.account_id, u.user_id);
  const days = (row!.expires_at! - Date.now() / 1000) / 86400;
  assert.ok(days > 4.99 && days <= 5, `expires in five days (${days})`);
  assert.equal(await store().findPayload('GuardianEnrollmentTicket', 'id', t.ticket_id), undefined, 'the ticket itself is not a key');
  assert.equal(outbox(s.dataDir).length, before, 'no mail unless send_mail');

  const mailed: any = await mc.guardian.enrollments.createTicket({ user_id: u.user_id, send_mail: true });
  const mail = outbox(s.dataDir).slice(before).find((m) => m.to === u.email);
  assert.ok(mail, 'the invitation is in the outbox');
  assert.equal(mail!.link, mailed.ticket_url);
  assert.ok(mail!.text.includes(mailed.ticket_url) && /multi-factor/.test(mail!.text));
  assert.notEqual(mailed.ticket_id, t.ticket_id);

  const other = await mc.guardian.enrollments.createTicket({ user_id: u.user_id, send_mail: true, email: 'helpdesk-copy@example.com' });
  const alt = outbox(s.dataDir).find((m) => m.to === 'helpdesk-copy@example.com');
  assert.equal(alt?.link, (other as any).ticket_url, 'an alternate address gets the mail instead');
  assert.equal(outbox(s.dataDir).filter((m) => m.to === u.email).length, 1);
});

test('tickets: unknown users are 404, a mail needs an address, bad bodies are 400; nothing is stored for them', async () => {
  assertError(await s.api('POST', '/guardian/enrollments/ticket', { body: { user_id: 'auth0|nobody' } }), 404, 'The user does not exist.', 'inexistent_user');
  const conn = (await s.api('POST', '/connections', { body: { name: uniq('usernames'), strategy: 'auth0', options: { requires_username: true } } })).body;
  const noMail: any = await mc.users.create({ connection: conn.name, username: uniq('nomail'), password: 'Mfa-passw0rd!!' } as any);
  assert.equal(noMail.email, undefined);
  const before = outbox(s.dataDir).length;
  assertError(await s.api('POST', '/guardian/enrollments/ticket', { body: { user_id: noMail.user_id, send_mail: true } }), 400, 'The user does not have an email address.', 'invalid_body');
  assert.equal(outbox(s.dataDir).length, before);
  const quiet = await s.api('POST', '/guardian/enrollments/ticket', { body: { user_id: noMail.user_id } });
  assert.equal(quiet.status, 200, 'without send_mail no address is needed');

  for (const [body, message] of [
    [{}, /Missing required property: user_id/], [{ user_id: 'x', factor: 'carrier-pigeon' }, /allowed values/],
    [{ user_id: 'x', email: 'not-an-email' }, /email/], [{ user_id: 'x', send_mail: 'yes' }, /must be boolean/], [{ user_id: 'x', ticket: 1 }, /Additional properties/],
  ] as const) assertError(await s.api('POST', '/guardian/enrollments/ticket', { body }), 400, message, 'invalid_body');
});

// --- authentication methods ---------------------------------------------------------

test('authentication methods: create each type, list and read them; secrets are sealed and never answered', async () => {
  const u = await newUser();
  const [password] = await all(await mc.users.authenticationMethods.list(u.user_id));
  assert.equal(password.type, 'password');

  const phone: any = await mc.users.authenticationMethods.create(u.user_id, { type: 'phone', phone_number: '+15551230001', name: 'Work phone', preferred_authentication_method: 'voice' });
  assert.match(phone.id, /^phone\|dev_[A-Za-z0-9]{16}$/);
  assert.deepEqual({ ...phone, id: 0, created_at: 0 }, { id: 0, type: 'phone', name: 'Work phone', phone_number: '+15551230001', preferred_authentication_method: 'voice', created_at: 0 });
  const totp: any = await mc.users.authenticationMethods.create(u.user_id, { type: 'totp', totp_secret: TOTP.toLowerCase() });
  assert.deepEqual(Object.keys(totp).sort(), ['created_at', 'id', 'type'], 'the TOTP secret is not answered');
  const email: any = await mc.users.authenticationMethods.create(u.user_id, { type: 'email', email: 'second@example.com' });
  const key: any = await mc.users.authenticationMethods.create(u.user_id, { type: 'webauthn-roaming', key_id: 'a2V5LWlk', public_key: 'cHVibGljLWtleQ==', name: 'YubiKey' });
  assert.equal(key.relying_party_identifier, 'localhost', 'a credential is for this tenant unless told otherwise');
  const passkey: any = await mc.users.authenticationMethods.create(u.user_id, {
    type: 'passkey', key_id: 'cGFzc2tleQ', public_key: 'cGs=', user_handle: 'aGFuZGxl', credential_device_type: 'multi_device', credential_backed_up: true, transports: ['internal'],
  });

  const listed = await all(await mc.users.authenticationMethods.list(u.user_id));
  assert.deepEqual(listed.map((m: any) => m.type), ['password', 'phone', 'totp', 'email', 'webauthn-roaming', 'passkey']);
  assert.deepEqual(listed[1], { ...phone, confirmed: true }, 'a read shows what the create answered, confirmed');
  assert.deepEqual(listed[5], { ...passkey, confirmed: true });
  assert.deepEqual(await mc.users.authenticationMethods.get(u.user_id, totp.id), { ...totp, confirmed: true });
  assert.deepEqual(await mc.users.authenticationMethods.get(u.user_id, email.id), { ...email, confirmed: true });
  assert.ok(!JSON.stringify(listed).includes(TOTP) && !JSON.stringify(listed).toLowerCase().includes(TOTP.toLowerCase()));

  const data = await rowData(u.user_id);
  assert.ok(!data.toUpperCase().includes(TOTP), 'the TOTP secret is not stored in the clear');
  const stored = JSON.parse(data).mfa.authenticators.find((a: any) => a.id === totp.id);
  assert.equal(s.runtime.env.box.open(stored.totp_secret), TOTP, 'sealed, normalized to upper case');
  assert.deepEqual((await s.api('GET', `/users/${enc(u.user_id)}/authentication-methods?include_totals=true&per_page=2&page=1`)).body,
    { start: 2, limit: 2, length: 2, total: 6, authenticators: listed.slice(2, 4) });
  assert.equal(key.id.split('|')[0], 'webauthn-roaming');
});

test('authentication methods: each type\'s fields and shapes; conflicts are 409; unknown users and ids are 404; nothing half-written', async () => {
  const u = await newUser();
  const path = `/users/${enc(u.user_id)}/authentication-methods`;
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ type: 'phone' }, /Missing required property: phone_number/],
    [{ type: 'totp' }, /Missing required property: totp_secret/],
    [{ type: 'email', name: 'x' }, /Missing required property: email/],
    [{ type: 'webauthn-roaming', key_id: 'a2V5' }, /Missing required property: public_key/],
    [{ type: 'totp', totp_secret: TOTP, phone_number: '+15551230002' }, /Not allowed for type totp' on property phone_number/],
    [{ type: 'email', email: 'a@example.com', preferred_authentication_method: 'sms' }, /Not allowed for type email/],
    [{ type: 'phone', phone_number: '555-0100' }, /E\.164/],
    [{ type: 'totp', totp_secret: 'not base32!' }, /base32/],
    [{ type: 'totp', totp_secret: 'JBSWY3DP' }, /base32/],
    [{ type: 'email', email: 'nobody' }, /email address/],
    [{ type: 'phone', phone_number: '+15551230003', name: 'x'.repeat(21) }, /20 characters/],
    [{ type: 'passkey', key_id: 'a2V5', public_key: 'not base64!' }, /base64/],
    [{ type: 'sms', phone_number: '+15551230004' }, /allowed values/],
    [{ type: 'phone', phone_number: '+15551230005', bogus: 1 }, /Additional properties not allowed: bogus/],
  ];
  for (const [body, message] of bad) assertError(await s.api('POST', path, { body }), 400, message, 'invalid_body');
  assert.equal(await mfaStored(u.user_id), undefined, 'no refused create wrote anything');

  await mc.users.authenticationMethods.create(u.user_id, { type: 'totp', totp_secret: TOTP });
  await mc.users.authenticationMethods.create(u.user_id, { type: 'phone', phone_number: '+15551230006' });
  await mc.users.authenticationMethods.create(u.user_id, { type: 'email', email: 'Same@Example.com' });
  assertError(await s.api('POST', path, { body: { type: 'totp', totp_secret: TOTP } }), 409, 'The user already has a totp authentication method.', 'conflict');
  assertError(await s.api('POST', path, { body: { type: 'phone', phone_number: '+15551230006' } }), 409, /already has this phone/);
  assertError(await s.api('POST', path, { body: { type: 'email', email: 'same@example.com' } }), 409, /already has this email/);
  assert.equal((await mfaStored(u.user_id)).authenticators.length, 3);

  assertError(await s.api('POST', '/users/auth0%7Cnobody/authentication-methods', { body: { type: 'totp', totp_secret: TOTP } }), 404, 'The user does not exist.', 'inexistent_user');
  for (const [method, body] of [['GET', undefined], ['PATCH', { name: 'x' }], ['DELETE', undefined]] as const) {
    assertError(await s.api(method, `${path}/totp%7Cdev_0000000000000000`, { body }), 404, 'The authentication method does not exist.', 'inexistent_authentication_method');
    assertError(await s.api(method, `/users/auth0%7Cnobody/authentication-methods/x`, { body }), 404, 'The user does not exist.');
  }
  // The password changes through the user, never here.
  const [pw] = (await s.api('GET', path)).body;
  assertError(await s.api('PATCH', `${path}/${enc(pw.id)}`, { body: { name: 'x' } }), 400, undefined, 'operation_not_supported');
  assertError(await s.api('DELETE', `${path}/${enc(pw.id)}`), 400, undefined, 'operation_not_supported');
  assert.equal((await s.api('GET', path)).body[0].id, pw.id);
});

test('authentication methods: PATCH renames and sets the phone preference; DELETE removes one', async () => {
  const u = await newUser();
  const phone: any = await mc.users.authenticationMethods.create(u.user_id, { type: 'phone', phone_number: '+15551230007' });
  const totp: any = await mc.users.authenticationMethods.create(u.user_id, { type: 'totp', totp_secret: TOTP });

  const updated: any = await mc.users.authenticationMethods.update(u.user_id, phone.id, { name: 'Mobile', preferred_authentication_method: 'sms' });
  assert.deepEqual(updated, { ...phone, confirmed: true, name: 'Mobile', preferred_authentication_method: 'sms' });
  assert.deepEqual(await mc.users.authenticationMethods.get(u.user_id, phone.id), updated);
  const renamed: any = await mc.users.authenticationMethods.update(u.user_id, totp.id, { name: 'Authy' });
  assert.equal(renamed.name, 'Authy');
  const sealed = (await mfaStored(u.user_id)).authenticators.find((a: any) => a.id === totp.id).totp_secret;
  assert.equal(s.runtime.env.box.open(sealed), TOTP, 'a rename keeps the sealed secret');

  const path = `/users/${enc(u.user_id)}/authentication-methods`;
  assertError(await s.api('PATCH', `${path}/${enc(totp.id)}`, { body: { preferred_authentication_method: 'voice' } }), 400, /phone authentication methods only/);
  assertError(await s.api('PATCH', `${path}/${enc(totp.id)}`, { body: { name: '' } }), 400, /20 characters/);
  assertError(await s.api('PATCH', `${path}/${enc(totp.id)}`, { body: { totp_secret: TOTP } }), 400, /Additional properties not allowed: totp_secret/);
  assert.equal((await mc.users.authenticationMethods.get(u.user_id, totp.id) as any).name, 'Authy');

  await mc.users.authenticationMethods.delete(u.user_id, phone.id);
  assert.deepEqual((await all(await mc.users.authenticationMethods.list(u.user_id))).map((m: any) => m.id).slice(1), [totp.id]);
  assertError(await s.api('DELETE', `${path}/${enc(phone.id)}`), 404, undefined, 'inexistent_authentication_method');
});

test('authentication methods: PUT replaces the whole set at once, refuses it whole, and DELETE clears it', async () => {
  const u = await newUser();
  const old: any = await mc.users.authenticationMethods.create(u.user_id, { type: 'webauthn-roaming', key_id: 'b2xk', public_key: 'b2xk' });
  const set: any[] = await mc.users.authenticationMethods.set(u.user_id, [
    { type: 'phone', phone_number: '+15551230008', preferred_authentication_method: 'sms' },
    { type: 'totp', totp_secret: TOTP, name: 'App' },
    { type: 'email', email: 'set@example.com' },
  ]);
  assert.deepEqual(set.map((m) => m.type), ['phone', 'totp', 'email']);
  assert.ok(set.every((m) => m.totp_secret === undefined && /^(phone|totp|email)\|dev_/.test(m.id)));
  const listed = await all(await mc.users.authenticationMethods.list(u.user_id));
  assert.deepEqual(listed.slice(1).map((m: any) => m.id), set.map((m) => m.id), 'what was enrolled before is gone');
  assert.ok(!listed.some((m: any) => m.id === old.id));

  const path = `/users/${enc(u.user_id)}/authentication-methods`;
  const refused = [
    [[{ type: 'totp', totp_secret: TOTP }, { type: 'totp', totp_secret: TOTP }], 409],
    [[{ type: 'phone', phone_number: '+15551230009' }, { type: 'phone' }], 400],
    [[{ type: 'phone', phone_number: '+15551230010', name: '' }], 400],
    [[{ type: 'webauthn-roaming' }], 400],
    [{ type: 'totp', totp_secret: TOTP }, 400],
  ] as const;
  for (const [body, status] of refused) assert.equal((await s.api('PUT', path, { body })).status, status, JSON.stringify(body));
  assertError(await s.api('PUT', path, { body: [{ type: 'phone', phone_number: '+15551230011' }, { type: 'phone' }] }), 400, "Payload validation error: 'Missing required property: phone_number' on property 1.");
  assert.deepEqual((await all(await mc.users.authenticationMethods.list(u.user_id))).slice(1).map((m: any) => m.id), set.map((m) => m.id), 'a refused PUT changed nothing');

  assertError(await s.api('PUT', path, { body: Array.from({ length: 21 }, (_, i) => ({ type: 'phone', phone_number: `+1555123${String(i).padStart(4, '0')}` })) }), 400, /at most 20/, 'too_many_entities');
  assertError(await s.api('PUT', '/users/auth0%7Cnobody/authentication-methods', { body: [] }), 404, undefined, 'inexistent_user');

  await mc.users.authenticationMethods.deleteAll(u.user_id);
  assert.deepEqual((await all(await mc.users.authenticationMethods.list(u.user_id))).map((m: any) => m.type), ['password']);
  assert.deepEqual((await mfaStored(u.user_id)).authenticators, []);
  assert.deepEqual(await mc.users.authenticationMethods.set(u.user_id, []), []);
});

test('authentication methods: concurrent creates all land; a user made again under a deleted id starts with none', async () => {
  const u = await newUser();
  const results = await Promise.all([1, 2, 3, 4, 5].map((i) => s.api('POST', `/users/${enc(u.user_id)}/authentication-methods`, { body: { type: 'phone', phone_number: `+1555999000${i}` } })));
  assert.deepEqual(results.map((r) => r.status), [201, 201, 201, 201, 201]);
  assert.deepEqual((await mfaStored(u.user_id)).authenticators.map((a: any) => a.phone_number).sort(), [1, 2, 3, 4, 5].map((i) => `+1555999000${i}`));

  const id = uniq('recreated');
  const first: any = await newUser({ user_id: id });
  await mc.users.authenticationMethods.create(first.user_id, { type: 'totp', totp_secret: TOTP });
  await mc.users.delete(first.user_id);
  const again: any = await newUser({ user_id: id });
  assert.equal(again.user_id, first.user_id);
  assert.deepEqual((await all(await mc.users.authenticationMethods.list(again.user_id))).map((m: any) => m.type), ['password'], 'enrollments went with the user');
});

// --- enrollments, recovery codes, resets ----------------------------------------------------

test('enrollments: a user\'s second factors under their dev_ ids; GET and DELETE by id', async () => {
  const u = await newUser();
  const totp: any = await mc.users.authenticationMethods.create(u.user_id, { type: 'totp', totp_secret: TOTP, name: 'App' });
  const phone: any = await mc.users.authenticationMethods.create(u.user_id, { type: 'phone', phone_number: '+15551230012' });
  await mc.users.authenticationMethods.create(u.user_id, { type: 'email', email: 'not-an-enrollment@example.com' });

  const enrollments: any[] = await mc.users.enrollments.get(u.user_id) as any;
  const totpId = totp.id.split('|')[1], phoneId = phone.id.split('|')[1];
  assert.deepEqual(enrollments, [
    { id: totpId, status: 'confirmed', type: 'authenticator', name: 'App', auth_method: 'authenticator', enrolled_at: totp.created_at },
    { id: phoneId, status: 'confirmed', type: 'sms', phone_number: '+15551230012', auth_method: 'sms', enrolled_at: phone.created_at },
  ]);
  assert.deepEqual(await mc.guardian.enrollments.get(phoneId), { id: phoneId, status: 'confirmed', phone_number: '+15551230012', enrolled_at: phone.created_at });

  await mc.guardian.enrollments.delete(totpId);
  assertError(await s.api('GET', `/guardian/enrollments/${totpId}`), 404, 'The enrollment does not exist.', 'inexistent_enrollment');
  assertError(await s.api('DELETE', `/guardian/enrollments/${totpId}`), 404, 'The enrollment does not exist.', 'inexistent_enrollment');
  assertError(await s.api('GET', `/users/${enc(u.user_id)}/authentication-methods/${enc(totp.id)}`), 404);
  assert.deepEqual((await mc.users.enrollments.get(u.user_id) as any[]).map((e) => e.id), [phoneId]);
  assertError(await s.api('GET', '/guardian/enrollments/dev_0000000000000001'), 404, undefined, 'inexistent_enrollment');
  assertError(await s.api('DELETE', '/guardian/enrollments/%25'), 404, undefined, 'inexistent_enrollment');
  const emailId = (await all(await mc.users.authenticationMethods.list(u.user_id))).find((m: any) => m.type === 'email')!.id.split('|')[1];
  assertError(await s.api('DELETE', `/guardian/enrollments/${emailId}`), 404, undefined, 'inexistent_enrollment');
});

test('recovery codes: a new code each time, answered once and kept only as its hash', async () => {
  const u = await newUser();
  const first = await mc.users.regenerateRecoveryCode(u.user_id);
  const second = await mc.users.regenerateRecoveryCode(u.user_id);
  for (const r of [first, second]) assert.match(r.recovery_code!, /^[A-Z0-9]{24}$/);
  assert.notEqual(first.recovery_code, second.recovery_code);

  const codes = (await all(await mc.users.authenticationMethods.list(u.user_id))).filter((m: any) => m.type === 'recovery-code');
  assert.equal(codes.length, 1, 'the new code replaced the old one');
  assert.match(codes[0].id, /^recovery-code\|dev_/);
  assert.deepEqual(Object.keys(codes[0]).sort(), ['confirmed', 'created_at', 'id', 'type']);
  const data = await rowData(u.user_id);
  assert.ok(!data.includes(first.recovery_code!) && !data.includes(second.recovery_code!), 'no code rests in the clear');
  assert.equal(JSON.parse(data).mfa.authenticators[0].recovery_code_hash, createHash('sha256').update(second.recovery_code!).digest('hex'));
  assertError(await s.api('PATCH', `/users/${enc(u.user_id)}/authentication-methods/${enc(codes[0].id)}`, { body: { name: 'x' } }), 400, undefined, 'operation_not_supported');
  assertError(await s.api('POST', '/users/auth0%7Cnobody/recovery-code-regeneration'), 404, 'The user does not exist.', 'inexistent_user');
});

test('resets: a legacy provider, all authenticators, remembered browsers', async () => {
  const u = await newUser();
  const totp: any = await mc.users.authenticationMethods.create(u.user_id, { type: 'totp', totp_secret: TOTP });
  const phone: any = await mc.users.authenticationMethods.create(u.user_id, { type: 'phone', phone_number: '+15551230013' });
  const ids = async () => (await mfaStored(u.user_id)).authenticators.map((a: any) => a.id);

  await mc.users.multifactor.deleteProvider(u.user_id, 'duo');
  assert.deepEqual(await ids(), [totp.id, phone.id], 'Duo holds nothing here');
  await mc.users.multifactor.deleteProvider(u.user_id, 'google-authenticator');
  assert.deepEqual(await ids(), [phone.id], 'the TOTP authenticator is gone, the phone stays');
  assertError(await s.api('DELETE', `/users/${enc(u.user_id)}/multifactor/yubikey`), 404);
  assertError(await s.api('DELETE', '/users/auth0%7Cnobody/multifactor/duo'), 404, 'The user does not exist.');

  await mc.users.regenerateRecoveryCode(u.user_id);
  await mc.users.authenticators.deleteAll(u.user_id);
  assert.deepEqual(await ids(), [], 'every authenticator, the recovery code included');
  assertError(await s.api('DELETE', '/users/auth0%7Cnobody/authenticators'), 404, 'The user does not exist.');

  const t0 = Date.now();
  await mc.users.multifactor.invalidateRememberBrowser(u.user_id);
  const at = Date.parse((await mfaStored(u.user_id)).remember_browser_invalidated_at);
  assert.ok(at >= t0 - 1000 && at <= Date.now(), 'the invalidation is recorded');
  assertError(await s.api('POST', '/users/auth0%7Cnobody/multifactor/actions/invalidate-remember-browser'), 404, 'The user does not exist.');
  const profile: any = await mc.users.get(u.user_id);
  assert.equal(profile.email, u.email, 'the user is otherwise untouched');
  assert.ok(!/authenticators|remember_browser|recovery/.test(JSON.stringify(profile)), 'the MFA state is not part of the profile');
});
