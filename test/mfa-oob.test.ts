import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';
import { AuthClient, isMfaRequiredError } from '@auth0/auth0-auth-js';
import { decodeJwt } from 'jose';
import { startServer, type TestServer } from './helpers/server.ts';
import { managementClient } from './helpers/sdk.ts';
import { Jar, createApp, createUser, decodeEntities, exchangeCode, follow, formFields, go, scriptedLogin } from './helpers/login-flow.ts';
import { outbox, waitForMail } from './helpers/outbox.ts';

// Second factors whose code is sent out of band (Guardian's `sms` and `email`
// factors): through the MFA API, driven by @auth0/auth0-auth-js (enroll a
// phone or an address, challenge it, verify with the mfa-oob grant), and at
// Universal Login (/u/mfa). Codes are read where Postern delivers them: the
// phone outbox, the mail outbox, a Twilio double, or a send-phone-message
// action.

let s: TestServer;
type App = { client_id: string; client_secret?: string };
let app: App;
let twilio: Server;
const twilioSeen: URLSearchParams[] = [];
const CONN = 'Username-Password-Authentication';
const REALM = 'http://auth0.com/oauth/grant-type/password-realm';
const MFA_OOB = 'http://auth0.com/oauth/grant-type/mfa-oob';
const PASSWORD = 'Oob-pw-12345!';
const CB = 'https://oob-rp.example/callback';

const readBody = (req: IncomingMessage) => new Promise<string>((res) => {
  let b = '';
  req.setEncoding('utf8').on('data', (c) => { b += c; }).on('end', () => res(b));
});

before(async () => {
  twilio = createServer(async (req, res) => {
    twilioSeen.push(new URLSearchParams(await readBody(req)));
    res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ sid: 'SM1' }));
  });
  await new Promise<void>((r) => twilio.listen(0, '127.0.0.1', r));
  process.env.POSTERN_TWILIO_API_URL = `http://127.0.0.1:${(twilio.address() as any).port}`;
  s = await startServer(['--rate-limit', '1000000']);
  app = await createApp(s, {
    name: 'OOB app', app_type: 'regular_web', callbacks: [CB],
    grant_types: ['authorization_code', 'password', REALM, 'refresh_token', MFA_OOB, 'http://auth0.com/oauth/grant-type/mfa-otp'],
  });
  await factors({ sms: true, email: true, 'recovery-code': true, otp: false });
  assert.equal((await s.api('PUT', '/guardian/policies', { body: ['all-applications'] })).status, 200);
});
after(async () => {
  delete process.env.POSTERN_TWILIO_API_URL;
  await s?.close();
  await new Promise((r) => twilio?.close(r));
});

async function factors(on: Record<string, boolean>) {
  for (const [name, enabled] of Object.entries(on)) assert.equal((await s.api('PUT', `/guardian/factors/${name}`, { body: { enabled } })).status, 200);
}

const auth = () => new AuthClient({ domain: s.domain, clientId: app.client_id, clientSecret: app.client_secret! });

async function mfaRequired(email: string) {
  try {
    await auth().getTokenByPassword({ username: email, password: PASSWORD, realm: CONN, scope: 'openid email' } as any);
  } catch (e: any) {
    assert.ok(isMfaRequiredError(e), `expected mfa_required, got ${e?.cause?.error}`);
    return { mfaToken: e.cause.mfa_token as string, requirements: e.cause.mfa_requirements };
  }
  assert.fail('the password grant issued tokens without a second factor');
}

async function raw(path: string, init: { body?: Record<string, string>; json?: unknown; bearer?: string } = {}) {
  const headers: Record<string, string> = {};
  let body: string | undefined;
  if (init.body) { headers['content-type'] = 'application/x-www-form-urlencoded'; body = new URLSearchParams(init.body).toString(); }
  if (init.json !== undefined) { headers['content-type'] = 'application/json'; body = JSON.stringify(init.json); }
  if (init.bearer !== undefined) headers.authorization = `Bearer ${init.bearer}`;
  const r = await fetch(`${s.baseUrl}${path}`, { method: body ? 'POST' : 'GET', headers, body });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
}
const oobGrant = (mfaToken: string, oobCode: string, bindingCode?: string) => raw('/oauth/token', {
  body: { grant_type: MFA_OOB, client_id: app.client_id, client_secret: app.client_secret!, mfa_token: mfaToken, oob_code: oobCode, ...(bindingCode !== undefined ? { binding_code: bindingCode } : {}) },
});

const phoneOutbox = () => {
  const dir = join(s.dataDir, 'outbox', 'phone');
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8'))) : [];
};
/** The code of the newest text message to `to`, and the message. */
function lastSms(to: string) {
  const msg = phoneOutbox().filter((m) => m.to === to).at(-1);
  assert.ok(msg, `no message to ${to} in the phone outbox`);
  return { code: /(\d{6})/.exec(msg.text)![1], msg };
}
async function mailedCode(to: string, after: number) {
  const mail = await waitForMail(s.dataDir, to, { after });
  return { code: /<b>(\d+)<\/b>/.exec(mail.html)![1], mail };
}
const wrong = (code: string) => (code === '000000' ? '111111' : '000000');

test('SMS enrollment: mfa_required asks to enroll phone or email; associate texts a code; the mfa-oob grant with it gives tokens and keeps the phone', async () => {
  const { user_id } = await createUser(s, 'sam@example.com', PASSWORD);
  const { mfaToken, requirements } = await mfaRequired('sam@example.com');
  assert.deepEqual(requirements, { enroll: [{ type: 'phone' }, { type: 'email' }] });

  const enrollment: any = await auth().mfa.enrollAuthenticator({ authenticatorTypes: ['oob'], oobChannels: ['sms'], phoneNumber: '+15550100001', mfaToken } as any);
  assert.equal(enrollment.authenticatorType, 'oob');
  assert.equal(enrollment.oobChannel, 'sms');
  assert.equal(enrollment.bindingMethod, 'prompt');
  assert.ok(enrollment.oobCode.length >= 32);
  assert.match(enrollment.recoveryCodes?.[0] ?? '', /^[A-Z0-9]{24}$/);
  const { code, msg } = lastSms('+15550100001');
  assert.equal(msg.delivery_method, 'text');
  assert.match(msg.text, new RegExp(`^${code} is your verification code for .*Please enter this code to verify your enrollment\\.$`));

  // Not enrolled until the code comes back.
  assert.deepEqual((await s.api('GET', `/users/${encodeURIComponent(user_id)}/authentication-methods`)).body.filter((m: any) => m.type === 'phone'), []);
  const bad = await oobGrant(mfaToken, enrollment.oobCode, wrong(code));
  assert.equal(bad.status, 403);
  assert.deepEqual(bad.body, { error: 'invalid_grant', error_description: 'Invalid binding_code.' });
  const missing = await oobGrant(mfaToken, enrollment.oobCode);
  assert.equal(missing.status, 400);
  assert.equal(missing.body.error, 'invalid_request');

  const tokens: any = await auth().mfa.verify({ mfaToken, factorType: 'oob', oobCode: enrollment.oobCode, bindingCode: code } as any);
  assert.equal(decodeJwt(tokens.idToken).sub, user_id);
  assert.deepEqual(decodeJwt(tokens.idToken).amr, ['mfa']);
  // A code works once.
  assert.equal((await oobGrant(mfaToken, enrollment.oobCode, code)).body.error, 'invalid_grant');

  const methods = (await s.api('GET', `/users/${encodeURIComponent(user_id)}/authentication-methods`)).body;
  const phone = methods.find((m: any) => m.type === 'phone');
  assert.equal(phone.phone_number, '+15550100001');
  const listed = await auth().mfa.listAuthenticators({ mfaToken });
  const sms: any = listed.find((a: any) => a.authenticatorType === 'oob');
  assert.equal(sms.id, phone.id.replace(/^phone\|/, 'sms|'));
  assert.equal(sms.name, 'XXXXXXXX0001', 'the number is masked for the mfa_token holder');
  assert.equal(sms.active, true);
  const log = (await s.api('GET', '/logs?q=type:gd_enrollment_complete&per_page=50')).body;
  assert.ok(log.some((l: any) => l.user_id === user_id && /\(sms\)/.test(l.description)), 'the enrollment is logged');
});

test('SMS challenge: the next login asks to challenge the phone; challenge texts a verification code; three wrong codes use it up', async () => {
  const { mfaToken, requirements } = await mfaRequired('sam@example.com');
  assert.deepEqual(requirements, { challenge: [{ type: 'phone' }] });
  const challenge: any = await auth().mfa.challengeAuthenticator({ challengeType: 'oob', mfaToken } as any);
  assert.equal(challenge.challengeType, 'oob');
  assert.equal(challenge.bindingMethod, 'prompt');
  const { code, msg } = lastSms('+15550100001');
  assert.match(msg.text, new RegExp(`^${code} is your verification code for [^.]+$`));
  assert.equal(msg.message_type, 'otp_verify');

  for (let i = 0; i < 3; i++) assert.equal((await oobGrant(mfaToken, challenge.oobCode, wrong(code))).body.error, 'invalid_grant');
  const spent = await oobGrant(mfaToken, challenge.oobCode, code);
  assert.equal(spent.status, 429);
  assert.equal(spent.body.error, 'too_many_attempts');

  // A new challenge, named by the MFA API's id, sends a new code.
  const [sms]: any = (await auth().mfa.listAuthenticators({ mfaToken })).filter((a: any) => a.authenticatorType === 'oob');
  const again: any = await auth().mfa.challengeAuthenticator({ challengeType: 'oob', authenticatorId: sms.id, mfaToken } as any);
  const fresh = lastSms('+15550100001').code;
  const tokens: any = await auth().mfa.verify({ mfaToken, factorType: 'oob', oobCode: again.oobCode, bindingCode: fresh } as any);
  assert.deepEqual(decodeJwt(tokens.idToken).amr, ['mfa']);

  // Another user's mfa_token cannot spend this user's code.
  await createUser(s, 'tess@example.com', PASSWORD);
  const other = await mfaRequired('tess@example.com');
  const third: any = await auth().mfa.challengeAuthenticator({ challengeType: 'oob', mfaToken } as any);
  assert.equal((await oobGrant(other.mfaToken, third.oobCode, lastSms('+15550100001').code)).body.error, 'invalid_grant');
});

test('email enrollment and challenge: the code comes by mail, in the tenant\'s mfa_oob_code template when it is enabled', async () => {
  await createUser(s, 'eve@example.com', PASSWORD);
  const { mfaToken } = await mfaRequired('eve@example.com');
  let seen = outbox(s.dataDir).length;
  const enrollment: any = await auth().mfa.enrollAuthenticator({ authenticatorTypes: ['oob'], oobChannels: ['email'], email: 'eve.mfa@example.com', mfaToken } as any);
  assert.equal(enrollment.oobChannel, 'email');
  const first = await mailedCode('eve.mfa@example.com', seen);
  assert.match(first.mail.subject, /verification code/);
  await auth().mfa.verify({ mfaToken, factorType: 'oob', oobCode: enrollment.oobCode, bindingCode: first.code } as any);

  assert.equal((await s.api('POST', '/email-templates', {
    body: { template: 'mfa_oob_code', enabled: true, syntax: 'liquid', from: 'security@example.com', subject: 'Code for {{ application.name }}', body: '<p>Hello {{ user.email }}, use <b>{{ code }}</b></p>' },
  })).status, 200);
  const next = await mfaRequired('eve@example.com');
  assert.deepEqual(next.requirements, { challenge: [{ type: 'email' }] });
  seen = outbox(s.dataDir).length;
  const challenge: any = await auth().mfa.challengeAuthenticator({ challengeType: 'oob', mfaToken: next.mfaToken } as any);
  const second = await mailedCode('eve.mfa@example.com', seen);
  assert.equal(second.mail.subject, 'Code for OOB app');
  assert.equal(second.mail.from, 'security@example.com');
  assert.match(second.mail.html, /Hello eve@example\.com, use/);
  const tokens: any = await auth().mfa.verify({ mfaToken: next.mfaToken, factorType: 'oob', oobCode: challenge.oobCode, bindingCode: second.code } as any);
  assert.deepEqual(decodeJwt(tokens.idToken).amr, ['mfa']);
  const listed: any = (await auth().mfa.listAuthenticators({ mfaToken: next.mfaToken })).find((a: any) => a.authenticatorType === 'oob');
  assert.equal(listed.name, 'ev***@example.com');
  assert.equal((await s.api('PATCH', '/email-templates/mfa_oob_code', { body: { enabled: false } })).status, 200);
});

test('bad input: malformed numbers and addresses, channels not offered, voice only when Guardian allows it, enrolled twice', async () => {
  await createUser(s, 'vic@example.com', PASSWORD);
  const { mfaToken } = await mfaRequired('vic@example.com');
  const associate = (json: unknown) => raw('/mfa/associate', { bearer: mfaToken, json });
  const cases: [unknown, number, string][] = [
    [{ authenticator_types: ['oob'], oob_channels: ['sms'], phone_number: '5550100' }, 400, 'invalid_request'],
    [{ authenticator_types: ['oob'], oob_channels: ['sms'] }, 400, 'invalid_request'],
    [{ authenticator_types: ['oob'], oob_channels: ['email'], email: 'not-an-address' }, 400, 'invalid_request'],
    [{ authenticator_types: ['oob'], oob_channels: ['auth0'] }, 400, 'unsupported_challenge_type'],
    [{ authenticator_types: ['oob'] }, 400, 'invalid_request'],
    [{ authenticator_types: ['oob'], oob_channels: ['voice'], phone_number: '+15550100002' }, 400, 'unsupported_challenge_type'],
    [{ authenticator_types: ['otp'] }, 400, 'unsupported_challenge_type'],
    [{ authenticator_types: ['push'] }, 400, 'unsupported_challenge_type'],
  ];
  for (const [json, status, error] of cases) {
    const r = await associate(json);
    assert.equal(r.status, status, JSON.stringify(json));
    assert.equal(r.body.error, error, JSON.stringify(json));
    assert.equal(typeof r.body.error_description, 'string');
  }
  const noChallenge = await raw('/mfa/challenge', { json: { mfa_token: mfaToken, client_id: app.client_id, challenge_type: 'oob' } });
  assert.equal(noChallenge.status, 403);
  assert.equal(noChallenge.body.error, 'access_denied');
  assert.equal((await oobGrant(mfaToken, 'no-such-oob-code', '123456')).body.error, 'invalid_grant');

  // With voice among Guardian's message types, a voice enrollment calls the number.
  assert.equal((await s.api('PUT', '/guardian/factors/phone/message-types', { body: { message_types: ['sms', 'voice'] } })).status, 200);
  const voice = await associate({ authenticator_types: ['oob'], oob_channels: ['voice'], phone_number: '+15550100002' });
  assert.equal(voice.status, 200);
  assert.equal(voice.body.oob_channel, 'voice');
  const { code, msg } = lastSms('+15550100002');
  assert.equal(msg.delivery_method, 'voice');
  assert.equal((await oobGrant(mfaToken, voice.body.oob_code, code)).status, 200);
  const again = await associate({ authenticator_types: ['oob'], oob_channels: ['sms'], phone_number: '+15550100003' });
  assert.equal(again.status, 403);
  assert.equal(again.body.error, 'access_denied');
  const listed = await auth().mfa.listAuthenticators({ mfaToken });
  assert.ok(listed.some((a: any) => a.id.startsWith('voice|dev_')));
  assert.equal((await s.api('PUT', '/guardian/factors/phone/message-types', { body: { message_types: ['sms'] } })).status, 200);
});

test('Guardian providers: twilio sends with Guardian\'s own account; phone-message-hook runs the send-phone-message actions', async () => {
  await createUser(s, 'tom@example.com', PASSWORD);
  const { mfaToken } = await mfaRequired('tom@example.com');
  assert.equal((await s.api('PUT', '/guardian/factors/sms/providers/twilio', { body: { sid: 'ACguardian', auth_token: 'guardian-token', from: '+15550199999' } })).status, 200);
  assert.equal((await s.api('PUT', '/guardian/factors/sms/selected-provider', { body: { provider: 'twilio' } })).status, 200);
  try {
    const before = twilioSeen.length;
    const enrollment: any = await auth().mfa.enrollAuthenticator({ authenticatorTypes: ['oob'], oobChannels: ['sms'], phoneNumber: '+15550100004', mfaToken } as any);
    assert.equal(twilioSeen.length, before + 1);
    const sent = twilioSeen.at(-1)!;
    assert.equal(sent.get('To'), '+15550100004');
    assert.equal(sent.get('From'), '+15550199999');
    const code = /(\d{6})/.exec(sent.get('Body')!)![1];
    assert.equal((await oobGrant(mfaToken, enrollment.oobCode, code)).status, 200);

    const mc = managementClient(s);
    const a: any = await mc.actions.create({
      name: 'sms-hook', supported_triggers: [{ id: 'send-phone-message', version: 'v2' }],
      code: `exports.onExecuteSendPhoneMessage = async (event) => {
        const m = event.message_options;
        throw new Error('hook saw [' + [m.action, m.message_type, m.recipient, /^\\d{6} is your verification code/.test(m.text), m.code.length, event.user.email, event.client.name].join('|') + ']');
      };`,
    } as any);
    await mc.actions.deploy(a.id);
    assert.equal((await s.api('PUT', '/guardian/factors/sms/selected-provider', { body: { provider: 'phone-message-hook' } })).status, 200);
    const next = await mfaRequired('tom@example.com');
    const unbound = await raw('/mfa/challenge', { json: { mfa_token: next.mfaToken, client_id: app.client_id, client_secret: app.client_secret, challenge_type: 'oob' } });
    assert.equal(unbound.status, 400);
    assert.match(unbound.body.error_description, /no action is bound to the send-phone-message trigger/);
    await mc.actions.triggers.bindings.updateMany('send-phone-message', { bindings: [{ ref: { type: 'action_id', value: a.id } }] } as any);
    // The trigger's bindings are cached for five seconds per process.
    let r: any;
    for (let i = 0; i < 60; i++) {
      r = await raw('/mfa/challenge', { json: { mfa_token: next.mfaToken, client_id: app.client_id, client_secret: app.client_secret, challenge_type: 'oob' } });
      if (/hook saw/.test(r.body?.error_description ?? '')) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(r.status, 400);
    assert.equal(r.body.error_description, 'The send-phone-message action failed: hook saw [second-factor-authentication|sms|+15550100004|true|6|tom@example.com|OOB app]');
    await mc.actions.triggers.bindings.updateMany('send-phone-message', { bindings: [] } as any);
  } finally {
    assert.equal((await s.api('PUT', '/guardian/factors/sms/selected-provider', { body: { provider: 'auth0' } })).status, 200);
  }
});

// ---- Universal Login ----

const authorize = () => `${s.baseUrl}/authorize?${new URLSearchParams({ client_id: app.client_id, redirect_uri: CB, response_type: 'code', scope: 'openid email', state: 'st' })}`;

async function post(jar: Jar, path: string, fields: Record<string, string>) {
  return go(jar, `${s.baseUrl}${path}`, { method: 'POST', body: new URLSearchParams(fields), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
}

async function toMfaPage(email: string, jar = new Jar()) {
  const r = await scriptedLogin(s, authorize(), email, PASSWORD, jar);
  assert.match(r.url, /\/u\/mfa\?state=/, r.url);
  return { jar, url: r.url, html: await r.res.text() };
}

/** After the code: a recovery code to keep first when `recovery`, then the callback's code exchanged for the ID token. */
async function finish(jar: Jar, res: Response, recovery: boolean) {
  assert.ok([200, 303].includes(res.status), String(res.status));
  let next: string;
  if (recovery) {
    const html = await res.text();
    assert.match(html, /<code id="recovery-code"[^>]*>[A-Z0-9]{24}<\/code>/);
    next = decodeEntities(/<a href="([^"]+)" autofocus>I have safely recorded/.exec(html)![1]);
  } else {
    assert.equal(res.status, 303);
    next = res.headers.get('location')!;
  }
  const done = await follow(jar, new URL(next, s.baseUrl).toString(), s.baseUrl);
  assert.ok(done.url.startsWith(CB), done.url);
  return decodeJwt((await exchangeCode(s, app, CB, done.url)).id_token);
}

test('Universal Login: a choice of factors, SMS enrollment (a mistyped number is asked again), then an SMS challenge at the next login', async () => {
  const { user_id } = await createUser(s, 'uma@example.com', PASSWORD);
  const { jar, url, html } = await toMfaPage('uma@example.com');
  assert.match(html, /Choose how you want to verify/);
  const smsUrl = decodeEntities(/<a href="([^"]+)">SMS<\/a>/.exec(html)![1]);
  assert.match(html, />Email<\/a>/);
  assert.doesNotMatch(html, />Authenticator app<\/a>/, 'otp is off');

  const form = await go(jar, new URL(smsUrl, s.baseUrl).toString());
  const formHtml = await form.text();
  assert.match(formHtml, /action="\/u\/mfa\/oob\/enroll"/);
  const typo = await post(jar, '/u/mfa/oob/enroll', { ...formFields(formHtml), address: '555-0100' });
  assert.equal(typo.status, 400);
  const typoHtml = await typo.text();
  assert.match(typoHtml, /role="alert"[^>]*>phone_number must be a phone number in E\.164/);

  const sent = await post(jar, '/u/mfa/oob/enroll', { ...formFields(typoHtml), address: '+15550100010' });
  assert.equal(sent.status, 200);
  const codeHtml = await sent.text();
  assert.match(codeHtml, /sent a text message with your code to <strong>XXXXXXXX0010<\/strong>/);
  const { code } = lastSms('+15550100010');
  const bad = await post(jar, '/u/mfa/oob', { ...formFields(codeHtml), code: wrong(code) });
  assert.equal(bad.status, 401);
  const badHtml = await bad.text();
  assert.match(badHtml, /The code you entered is invalid/);
  assert.match(badHtml, /XXXXXXXX0010/);
  const claims = await finish(jar, await post(jar, '/u/mfa/oob', { ...formFields(badHtml), code }), true);
  assert.equal(claims.sub, user_id);
  assert.deepEqual(claims.amr, ['mfa']);
  assert.ok(url.includes('state='));

  // Next login (a new browser): the code is texted at once.
  const again = await toMfaPage('uma@example.com');
  assert.match(again.html, /sent a text message with your code to <strong>XXXXXXXX0010<\/strong>/);
  assert.match(again.html, /Use a recovery code/);
  const claims2 = await finish(again.jar, await post(again.jar, '/u/mfa/oob', { ...formFields(again.html), code: lastSms('+15550100010').code }), false);
  assert.deepEqual(claims2.amr, ['mfa']);
});

test('Universal Login: email enrollment starts from the user\'s own address; with the app and SMS enrolled too, the page offers the others', async () => {
  await createUser(s, 'ula@example.com', PASSWORD);
  await factors({ otp: false, sms: false });
  try {
    const { jar, html } = await toMfaPage('ula@example.com');
    assert.match(html, /action="\/u\/mfa\/oob\/enroll"/, 'email alone is offered: no choice page');
    assert.match(html, /value="ula@example\.com"/);
    const seen = outbox(s.dataDir).length;
    const sent = await post(jar, '/u/mfa/oob/enroll', { ...formFields(html), address: 'ula@example.com' });
    const sentHtml = await sent.text();
    assert.match(sentHtml, /sent an email with your code to <strong>ul\*\*\*@example\.com<\/strong>/);
    const { code } = await mailedCode('ula@example.com', seen);
    const claims = await finish(jar, await post(jar, '/u/mfa/oob', { ...formFields(sentHtml), code }), true);
    assert.deepEqual(claims.amr, ['mfa']);
  } finally {
    await factors({ sms: true });
  }
  // SMS on as well: the enrolled email is challenged, and SMS is not offered as another method until enrolled.
  const next = await toMfaPage('ula@example.com');
  assert.match(next.html, /sent an email/);
  assert.doesNotMatch(next.html, />SMS<\/a>/);
});

test('Universal Login: "Remember this browser" skips the second factor at the next login in that browser, until the Management API forgets it', async () => {
  const { user_id } = await createUser(s, 'rita@example.com', PASSWORD);
  await createUser(s, 'rob@example.com', PASSWORD);
  const jar = new Jar();
  const first = await toMfaPage('rita@example.com', jar);
  const enroll = await go(jar, new URL(decodeEntities(/<a href="([^"]+)">SMS<\/a>/.exec(first.html)![1]), s.baseUrl).toString());
  const sent = await post(jar, '/u/mfa/oob/enroll', { ...formFields(await enroll.text()), address: '+15550100020' });
  const sentHtml = await sent.text();
  assert.match(sentHtml, /<input id="remember" name="remember" type="checkbox" value="1">/, 'shown, unticked by default (Guardian settings)');
  await finish(jar, await post(jar, '/u/mfa/oob', { ...formFields(sentHtml), code: lastSms('+15550100020').code, remember: '1' }), true);

  // A fresh login in the same browser: the password, and no second factor.
  const again = await scriptedLogin(s, `${authorize()}&prompt=login`, 'rita@example.com', PASSWORD, jar);
  assert.ok(again.url.startsWith(CB), again.url);
  // The remembering cookie names one user: a browser holding only it remembers Rita, not Rob.
  const remembered = [...jar.cookies].filter(([name]) => name.startsWith('postern_mfa_rb_'));
  assert.equal(remembered.length, 1);
  const carrying = () => { const j = new Jar(); j.cookies.set(...remembered[0]); return j; };
  assert.ok((await scriptedLogin(s, authorize(), 'rita@example.com', PASSWORD, carrying())).url.startsWith(CB));
  await toMfaPage('rob@example.com', carrying());
  // Another browser is not remembered, nor is a forged cookie.
  await toMfaPage('rita@example.com');
  const forged = new Jar();
  forged.cookies.set(remembered[0][0], `${remembered[0][1].slice(0, -4)}AAAA`);
  await toMfaPage('rita@example.com', forged);

  assert.equal((await s.api('POST', `/users/${encodeURIComponent(user_id)}/multifactor/actions/invalidate-remember-browser`)).status, 204);
  const forgotten = await scriptedLogin(s, `${authorize()}&prompt=login`, 'rita@example.com', PASSWORD, jar);
  assert.match(forgotten.url, /\/u\/mfa\?state=/, 'forgotten: the second factor is asked again');
  const html = await forgotten.res.text();
  // Not ticked this time: the next login asks again.
  await finish(jar, await post(jar, '/u/mfa/oob', { ...formFields(html), code: lastSms('+15550100020').code }), false);
  assert.match((await scriptedLogin(s, `${authorize()}&prompt=login`, 'rita@example.com', PASSWORD, jar)).url, /\/u\/mfa\?state=/);
});
