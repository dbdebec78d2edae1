import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ManagementClient } from 'auth0';
import { freePort, startServer, type TestServer } from './helpers/server.ts';
import { managementClient } from './helpers/sdk.ts';
import { assertError } from './helpers/assert.ts';

// Sending phone messages from the Management API: trying a phone provider,
// trying a phone template, and resetting a template to Postern's texts. A
// message goes to the phone outbox in the data dir with no provider (or a
// disabled one), to Twilio (here a fake on loopback, through
// POSTERN_TWILIO_API_URL) or to the tenant's custom-phone-provider actions.

interface Received { method: string; path: string; authorization?: string; form: URLSearchParams }

let s: TestServer;
let mc: ManagementClient;
let twilio: Server;
let twilioUrl: string;
const received: Received[] = [];
let twilioAnswer: { status: number; body: unknown } = { status: 201, body: { sid: 'SM0001', status: 'queued' } };

const readBody = (req: IncomingMessage) => new Promise<string>((res) => {
  let b = '';
  req.setEncoding('utf8').on('data', (c) => { b += c; }).on('end', () => res(b));
});

before(async () => {
  twilio = createServer(async (req, res) => {
    received.push({ method: req.method!, path: req.url!, authorization: req.headers.authorization, form: new URLSearchParams(await readBody(req)) });
    res.writeHead(twilioAnswer.status, { 'content-type': 'application/json' }).end(JSON.stringify(twilioAnswer.body));
  });
  await new Promise<void>((r) => twilio.listen(0, '127.0.0.1', r));
  twilioUrl = `http://127.0.0.1:${(twilio.address() as any).port}`;
  process.env.POSTERN_TWILIO_API_URL = twilioUrl;
  s = await startServer(['--rate-limit', '1000000']);
  mc = managementClient(s);
});
after(async () => {
  delete process.env.POSTERN_TWILIO_API_URL;
  await s?.close();
  await new Promise((r) => twilio?.close(r));
});

/** The SDK's error, for a call that must be refused. */
const refused = (status: number, message?: RegExp) => (e: any) => {
  assert.equal(e.statusCode, status, JSON.stringify(e.body));
  if (message) assert.match(e.body.message, message);
  return true;
};

const phoneOutbox = () => {
  const dir = join(s.dataDir, 'outbox', 'phone');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => ({ file: join(dir, f), ...JSON.parse(readFileSync(join(dir, f), 'utf8')) }));
};

async function template(type: string, content: Record<string, unknown>) {
  const existing = ((await mc.branding.phone.templates.list()) as any).templates.find((t: any) => t.type === type);
  if (existing) await mc.branding.phone.templates.delete(existing.id);
  return await mc.branding.phone.templates.create({ type, content } as any) as any;
}

async function withoutProvider() {
  for (const p of ((await mc.branding.phone.providers.list()) as any).providers) await mc.branding.phone.providers.delete(p.id);
}

test('with no phone provider, a template try lands in the phone outbox with the code filled in', async () => {
  await withoutProvider();
  const t = await template('otp_verify', { body: { text: 'Code {{code}} for {{ friendly_name }} @{{domain}} #{{code}} {{unknown}}' } });
  const before = phoneOutbox().length;
  const r = await mc.branding.phone.templates.test(t.id, { to: '+15550001111' });
  assert.equal(typeof (r as any).message, 'string');
  const mail = phoneOutbox().slice(before);
  assert.equal(mail.length, 1);
  assert.equal(mail[0].to, '+15550001111');
  assert.equal(mail[0].delivery_method, 'text');
  assert.equal(mail[0].message_type, 'otp_verify');
  assert.equal(mail[0].text, `Code 123456 for Postern @${s.domain.replace(/:\d+$/, '')} #123456 {{unknown}}`);
  assert.equal(statSync(mail[0].file).mode & 0o777, 0o600, 'the outbox file is readable by its owner only');
  assert.ok(!readdirSync(join(s.dataDir, 'outbox', 'phone')).some((f) => f.endsWith('.tmp')));

  // A template with no voice body still tries by voice, in Postern's default voice text.
  await mc.branding.phone.templates.test(t.id, { to: '+15550001112', delivery_method: 'voice' });
  const voice = phoneOutbox().find((m) => m.to === '+15550001112');
  assert.equal(voice.delivery_method, 'voice');
  assert.match(voice.text, /123456/);
  assert.doesNotMatch(voice.text, /\{\{/);
});

test('tries and resets of unknown ids are 404s', async () => {
  await withoutProvider();
  await assert.rejects(mc.branding.phone.providers.test('pro_nope', { to: '+15550001111' }), refused(404));
  assertError(await s.api('POST', '/branding/phone/providers/pro_nope/try', { body: { to: '+15550001111' } }), 404, undefined, 'inexistent_phone_provider');
  assertError(await s.api('POST', '/branding/phone/templates/tem_nope/try', { body: { to: '+15550001111' } }), 404, undefined, 'inexistent_phone_template');
  assertError(await s.api('PATCH', '/branding/phone/templates/tem_nope/reset', { body: {} }), 404, undefined, 'inexistent_phone_template');
  assertError(await s.api('POST', '/branding/phone/templates/__proto__/try', { body: { to: '+15550001111' } }), 404);
});

test('bodies are checked against the spec: `to` is required and short, the delivery method is text or voice', async () => {
  const t = await template('otp_enroll', { body: { text: 'enroll {{code}}' } });
  for (const [path, body] of [
    ['/branding/phone/providers/pro_any/try', {}],
    ['/branding/phone/providers/pro_any/try', { to: '+1555000111122223333' }],
    ['/branding/phone/providers/pro_any/try', { to: '+15550001111', delivery_method: 'fax' }],
    ['/branding/phone/providers/pro_any/try', { to: '+15550001111', extra: true }],
    [`/branding/phone/templates/${t.id}/try`, { delivery_method: 'text' }],
    [`/branding/phone/templates/${t.id}/try`, { to: '+15550001111', delivery_method: 'pigeon' }],
  ] as const) {
    assertError(await s.api('POST', path, { body }), 400, undefined, 'invalid_body');
  }
  // A token without the operation's scope is refused before anything is sent.
  const read = await s.token('read:phone_providers read:phone_templates');
  assertError(await s.api('POST', `/branding/phone/templates/${t.id}/try`, { token: read, body: { to: '+15550001111' } }), 403, /create:phone_templates/);
  assertError(await s.api('PATCH', `/branding/phone/templates/${t.id}/reset`, { token: read, body: {} }), 403, /update:phone_templates/);
});

test('reset puts back Postern\'s default texts and keeps the id, type, sender and disabled flag', async () => {
  const t = await template('change_password', { from: '+15550002222', body: { text: 'mine {{code}}', voice: 'my voice {{code}}' } });
  await mc.branding.phone.templates.update(t.id, { disabled: true } as any);
  const reset: any = await mc.branding.phone.templates.reset(t.id, {});
  assert.equal(reset.id, t.id);
  assert.equal(reset.type, 'change_password');
  assert.equal(reset.disabled, true);
  assert.equal(reset.content.from, '+15550002222');
  assert.match(reset.content.body.text, /\{\{code\}\}/);
  assert.match(reset.content.body.voice, /\{\{code\}\}/);
  assert.notEqual(reset.content.body.text, 'mine {{code}}');
  assert.notEqual(reset.content.body.voice, 'my voice {{code}}');
  assert.deepEqual(await mc.branding.phone.templates.get(t.id), reset);

  // Each type has its own default text.
  const other: any = await mc.branding.phone.templates.reset((await template('password_breach', { body: { text: 'x' } })).id);
  assert.equal(other.type, 'password_breach');
  assert.notEqual(other.content.body.text, reset.content.body.text);
  assert.notEqual(other.content.body.text, 'x');
});

test('twilio: a try posts the form to the Messages API with Basic auth; failures are 400s without the token', async () => {
  await withoutProvider();
  const p: any = await mc.branding.phone.providers.create({
    name: 'twilio', disabled: true,
    configuration: { sid: 'AC0123456789', default_from: '+15550000000', delivery_methods: ['text', 'voice'] },
    credentials: { auth_token: 'tw-secret-token' },
  } as any);
  received.length = 0;
  twilioAnswer = { status: 201, body: { sid: 'SM0001', status: 'queued' } };
  const r: any = await mc.branding.phone.providers.test(p.id, { to: '+15551230000' });
  assert.equal(r.code, 202);
  assert.equal(typeof r.message, 'string');
  assert.equal(received.length, 1, 'a disabled provider is still tried');
  const [sms] = received;
  assert.equal(sms.method, 'POST');
  assert.equal(sms.path, '/2010-04-01/Accounts/AC0123456789/Messages.json');
  assert.equal(sms.authorization, `Basic ${Buffer.from('AC0123456789:tw-secret-token').toString('base64')}`);
  assert.equal(sms.form.get('To'), '+15551230000');
  assert.equal(sms.form.get('From'), '+15550000000');
  assert.match(sms.form.get('Body')!, /test message/i);

  // By voice, Twilio places a call that speaks the text.
  received.length = 0;
  await mc.branding.phone.providers.test(p.id, { to: '+15551230001', delivery_method: 'voice' });
  assert.equal(received[0].path, '/2010-04-01/Accounts/AC0123456789/Calls.json');
  assert.match(received[0].form.get('Twiml')!, /^<Response><Say>.*test message.*<\/Say><\/Response>$/i);

  // While disabled, template tries go to the outbox, not to Twilio.
  const t = await template('otp_verify', { from: '+15550003333', body: { text: 'Twilio says {{code}}' } });
  received.length = 0;
  const outboxBefore = phoneOutbox().length;
  await mc.branding.phone.templates.test(t.id, { to: '+15551230002' });
  assert.equal(received.length, 0);
  assert.equal(phoneOutbox().length, outboxBefore + 1);

  // Enabled, they go to Twilio, from the template's own sender.
  await mc.branding.phone.providers.update(p.id, { disabled: false } as any);
  await mc.branding.phone.templates.test(t.id, { to: '+15551230003' });
  assert.equal(received.length, 1);
  assert.equal(received[0].form.get('Body'), 'Twilio says 123456');
  assert.equal(received[0].form.get('From'), '+15550003333');

  // A messaging service picks its own number when nothing names one.
  await mc.branding.phone.providers.update(p.id, { configuration: { sid: 'AC0123456789', mssid: 'MG0001', delivery_methods: ['text'] } } as any);
  received.length = 0;
  await mc.branding.phone.providers.test(p.id, { to: '+15551230004' });
  assert.equal(received[0].form.get('MessagingServiceSid'), 'MG0001');
  assert.equal(received[0].form.get('From'), null);
  // ...and a delivery method the provider does not offer is refused before anything is sent.
  assertError(await s.api('POST', `/branding/phone/providers/${p.id}/try`, { body: { to: '+15551230005', delivery_method: 'voice' } }), 400);
  assert.equal(received.length, 1);

  // Twilio refusing (here a wrong token) is the caller's 400, naming the fault, never echoing the token.
  twilioAnswer = { status: 401, body: { code: 20003, message: 'Authenticate', status: 401 } };
  const no = await s.api('POST', `/branding/phone/providers/${p.id}/try`, { body: { to: '+15551230006' } });
  assertError(no, 400, /twilio.*401.*Authenticate/, 'phone_provider_error');
  assert.doesNotMatch(JSON.stringify(no.body), /tw-secret-token/);
  twilioAnswer = { status: 500, body: 'oops' };
  assertError(await s.api('POST', `/branding/phone/templates/${t.id}/try`, { body: { to: '+15551230007' } }), 400, /twilio.*500/);

  // Twilio unreachable is a 400 too.
  const closed = await freePort();
  process.env.POSTERN_TWILIO_API_URL = `http://127.0.0.1:${closed}`;
  try {
    assertError(await s.api('POST', `/branding/phone/providers/${p.id}/try`, { body: { to: '+15551230008' } }), 400, /could not be reached/, 'phone_provider_error');
  } finally {
    process.env.POSTERN_TWILIO_API_URL = twilioUrl;
    twilioAnswer = { status: 201, body: { sid: 'SM0002' } };
  }
});

/** A deployed custom-phone-provider action: Auth0 binds it to the provider, not through trigger bindings. */
async function deployProviderAction(code: string) {
  const a: any = await mc.actions.create({ name: `sms-${Math.random().toString(36).slice(2, 8)}`, supported_triggers: [{ id: 'custom-phone-provider', version: 'v1' }], code } as any);
  await mc.actions.deploy(a.id);
  return a.id as string;
}

test('custom: messages go to the deployed custom-phone-provider action, whose failure is a 400', async () => {
  await withoutProvider();
  const p: any = await mc.branding.phone.providers.create({ name: 'custom', configuration: { delivery_methods: ['text', 'voice'] }, credentials: {} } as any);
  const t = await template('otp_enroll', { from: '+15550004444', body: { text: 'Enroll with {{code}}' } });

  // No action yet: nothing can deliver.
  assertError(await s.api('POST', `/branding/phone/providers/${p.id}/try`, { body: { to: '+15550009999' } }), 400, /custom-phone-provider/, 'phone_provider_error');

  // Like Auth0, trigger bindings do not take this trigger: the provider runs the deployed action itself.
  assertError(await s.api('PATCH', '/actions/triggers/custom-phone-provider/bindings', { body: { bindings: [] } }), 400);
  const first = await deployProviderAction('exports.onExecuteCustomPhoneProvider = async () => { throw new Error("the older action ran"); };');
  await deployProviderAction(`exports.onExecuteCustomPhoneProvider = async (event, api) => {
    const n = event.notification;
    if (n.recipient === '+15550009999') {
      throw new Error('gateway saw [' + [n.as_text, n.delivery_method, n.message_type, n.from, n.code, event.tenant.id, event.secrets ? 'secrets' : 'none'].join('|') + ']');
    }
    if (n.recipient === '+15550008888') api.access.deny('number is on the deny list');
  };`);
  const host = s.domain.replace(/:\d+$/, '');
  // Success: the action ran and did not fail.
  assert.equal(((await mc.branding.phone.providers.test(p.id, { to: '+15550001234' })) as any).code, 202);
  assert.equal(((await mc.branding.phone.templates.test(t.id, { to: '+15550001234' })) as any).message.length > 0, true);

  // The action's own error reaches the caller, proving what its event held.
  await assert.rejects(mc.branding.phone.providers.test(p.id, { to: '+15550009999', delivery_method: 'voice' }),
    refused(400, new RegExp(`gateway saw \\[This is a test message[^|]*\\|voice\\|otp_verify\\|\\|\\|${host}\\|secrets\\]`)));
  const viaTemplate = await s.api('POST', `/branding/phone/templates/${t.id}/try`, { body: { to: '+15550009999' } });
  assertError(viaTemplate, 400, `The custom phone provider action failed: gateway saw [Enroll with 123456|text|otp_enroll|+15550004444|123456|${host}|secrets]`, 'phone_provider_error');
  assertError(await s.api('POST', `/branding/phone/templates/${t.id}/try`, { body: { to: '+15550008888' } }), 400, /number is on the deny list/);

  // A disabled custom provider leaves template tries to the outbox, where the action is not run.
  await mc.branding.phone.providers.update(p.id, { disabled: true } as any);
  const before = phoneOutbox().length;
  assert.ok(await mc.branding.phone.templates.test(t.id, { to: '+15550009999' }));
  assert.equal(phoneOutbox().length, before + 1);

  // With one such action left, that one runs.
  await mc.branding.phone.providers.update(p.id, { disabled: false } as any);
  const newer = (await s.api('GET', '/actions/actions?triggerId=custom-phone-provider')).body.actions.find((a: any) => a.id !== first);
  assert.equal((await s.api('DELETE', `/actions/actions/${newer.id}?force=true`)).status, 204);
  assertError(await s.api('POST', `/branding/phone/providers/${p.id}/try`, { body: { to: '+15550001234' } }), 400, /the older action ran/);
});

test('with actions turned off, a custom provider has nothing to deliver through', async () => {
  const off = await startServer(['--actions', 'off']);
  try {
    const p = await off.api('POST', '/branding/phone/providers', { body: { name: 'custom', configuration: { delivery_methods: ['text'] }, credentials: {} } });
    assert.equal(p.status, 201, JSON.stringify(p.body));
    // A deployed action that would deliver; with actions off it is not run.
    const a = await off.api('POST', '/actions/actions', { body: { name: 'sms', supported_triggers: [{ id: 'custom-phone-provider', version: 'v1' }], code: 'exports.onExecuteCustomPhoneProvider = async () => {};' } });
    assert.equal(a.status, 201, JSON.stringify(a.body));
    assert.equal((await off.api('POST', `/actions/actions/${a.body.id}/deploy`)).status, 202);
    assertError(await off.api('POST', `/branding/phone/providers/${p.body.id}/try`, { body: { to: '+15550001111' } }), 400, /actions are turned off/, 'phone_provider_error');
  } finally {
    await off.close();
  }
});
