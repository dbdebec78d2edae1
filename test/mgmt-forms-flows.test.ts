import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ManagementClient } from 'auth0';
import { startServer, type TestServer } from './helpers/server.ts';
import { collect as all, managementClient } from './helpers/sdk.ts';
import { assertError } from './helpers/assert.ts';

// Forms, flows (and their executions), self-service profiles, the phone
// provider and phone templates, a user's authentication methods and MFA
// enrollments, and IP blocks: through the official SDK where it has a method,
// and plain fetch for the negative cases. Provider credentials are checked
// where they rest: in the store's row and in the data directory.

let s: TestServer;
let mc: ManagementClient;
before(async () => {
  s = await startServer();
  mc = managementClient(s);
});
after(async () => { await s?.close(); });

const store = () => s.runtime.env.store;
const enc = encodeURIComponent;

function assertNotInDataDir(plain: string) {
  const walk = (dir: string): string[] => readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
  for (const file of walk(s.dataDir)) {
    assert.ok(!readFileSync(file).includes(Buffer.from(plain)), `${file} holds a secret in plain text`);
  }
}

// --- forms ---------------------------------------------------------------------------

const FORM = {
  name: 'progressive-profile',
  languages: { primary: 'en' },
  style: { css: 'h1 { color: red; }' },
  ending: { resume_flow: true },
};

test('forms: create, read, update (null removes a key), delete, with Auth0 ids', async () => {
  const f: any = await mc.forms.create(FORM as any);
  assert.match(f.id, /^ap_[A-Za-z0-9]{22}$/);
  assert.equal(f.name, FORM.name);
  assert.deepEqual(f.style, FORM.style);
  assert.deepEqual(f.ending, FORM.ending);
  assert.ok(!Number.isNaN(Date.parse(f.created_at)) && f.updated_at);
  assert.deepEqual(await mc.forms.get(f.id), f);
  // `hydrate` is accepted (and ignored).
  assert.equal((await s.api('GET', `/forms/${f.id}?hydrate=flow_count&hydrate=links`)).status, 200);

  const up: any = await mc.forms.update(f.id, { name: 'renamed', style: null } as any);
  assert.equal(up.name, 'renamed');
  assert.ok(!('style' in up), 'null removes the key');
  assert.deepEqual(up.languages, FORM.languages, 'keys not in the PATCH stay');
  assert.equal(up.created_at, f.created_at);
  assert.deepEqual(await mc.forms.get(f.id), up);

  await mc.forms.delete(f.id);
  assertError(await s.api('GET', `/forms/${f.id}`), 404, 'The form does not exist.', 'inexistent_form');
  assertError(await s.api('PATCH', `/forms/${f.id}`, { body: { name: 'x' } }), 404);
  assertError(await s.api('DELETE', `/forms/${f.id}`), 404);
});

test('forms: the list is a summary, pages with totals, and the SDK pages through it', async () => {
  const made: any[] = [];
  for (let i = 0; i < 5; i++) made.push(await mc.forms.create({ ...FORM, name: `list-${i}` } as any));
  const p0 = await s.api('GET', '/forms?per_page=2&page=0&include_totals=true');
  assert.equal(p0.status, 200);
  assert.deepEqual({ ...p0.body, forms: undefined }, { start: 0, limit: 2, length: 2, total: 5, forms: undefined });
  assert.deepEqual(p0.body.forms.map((f: any) => f.name), ['list-0', 'list-1'], 'oldest first');
  assert.deepEqual(Object.keys(p0.body.forms[0]).sort(), ['created_at', 'id', 'name', 'updated_at']);
  const p2 = await s.api('GET', '/forms?per_page=2&page=2&include_totals=true');
  assert.deepEqual(p2.body.forms.map((f: any) => f.name), ['list-4']);
  const plain = await s.api('GET', '/forms');
  assert.ok(Array.isArray(plain.body) && plain.body.length === 5);
  const viaSdk = await all(await mc.forms.list({ per_page: 2 }));
  assert.deepEqual(viaSdk.map((f: any) => f.id), made.map((f) => f.id));
  for (const f of made) await mc.forms.delete(f.id);
  assert.deepEqual((await s.api('GET', '/forms')).body, []);
});

test('forms: bad input is a 400 in the error shape', async () => {
  assertError(await s.api('POST', '/forms', { body: {} }), 400, "Payload validation error: 'Missing required property: name'.", 'invalid_body');
  assertError(await s.api('POST', '/forms', { body: { name: 'x'.repeat(151) } }), 400, /^Payload validation error/);
  assertError(await s.api('POST', '/forms', { body: { name: 'x', owner: 'me' } }), 400, /Additional properties not allowed: owner/);
  assertError(await s.api('POST', '/forms', { body: { name: 'x', style: { css: 5 } } }), 400, /^Payload validation error/);
  assertError(await s.api('GET', '/forms?per_page=101'), 400, undefined, 'invalid_query_string');
  assertError(await s.api('GET', '/forms?hydrate=everything'), 400, undefined, 'invalid_query_string');
  const f: any = await mc.forms.create({ name: 'valid' });
  assertError(await s.api('PATCH', `/forms/${f.id}`, { body: { name: null } }), 400, /^Payload validation error/);
  assertError(await s.api('PATCH', `/forms/${f.id}`, { body: { name: '' } }), 400, /^Payload validation error/);
  assert.equal((await mc.forms.get(f.id) as any).name, 'valid');
  await mc.forms.delete(f.id);
});

test('forms: concurrent PATCHes of different keys both land', async () => {
  const f: any = await mc.forms.create({ name: 'race' });
  const results = await Promise.all([
    s.api('PATCH', `/forms/${f.id}`, { body: { style: { css: 'p {}' } } }),
    s.api('PATCH', `/forms/${f.id}`, { body: { languages: { primary: 'fr' } } }),
    s.api('PATCH', `/forms/${f.id}`, { body: { name: 'race-renamed' } }),
  ]);
  assert.deepEqual(results.map((r) => r.status), [200, 200, 200]);
  const got: any = await mc.forms.get(f.id);
  assert.deepEqual([got.name, got.style, got.languages], ['race-renamed', { css: 'p {}' }, { primary: 'fr' }]);
  await mc.forms.delete(f.id);
});

// --- flows ---------------------------------------------------------------------------

const ACTION = { id: 'store_it', type: 'FLOW', action: 'STORE_VARS', allow_failure: false, mask_output: false, params: { vars: { a: 'b' } } };

test('flows: create, read, update, delete; nothing ever executes', async () => {
  const f: any = await mc.flows.create({ name: 'enrich', actions: [ACTION] } as any);
  assert.match(f.id, /^af_[A-Za-z0-9]{22}$/);
  assert.deepEqual(f.actions, [ACTION]);
  assert.deepEqual(await mc.flows.get(f.id), f);
  const up: any = await mc.flows.update(f.id, { name: 'enrich-2', actions: null } as any);
  assert.equal(up.name, 'enrich-2');
  assert.ok(!('actions' in up));

  const listed = await s.api('GET', '/flows?include_totals=true');
  assert.equal(listed.body.total, 1);
  assert.deepEqual(listed.body.flows, [{ id: f.id, name: 'enrich-2', created_at: f.created_at, updated_at: up.updated_at }]);

  assert.deepEqual(await all(await mc.flows.executions.list(f.id)), []);
  assert.deepEqual((await s.api('GET', `/flows/${f.id}/executions?from=&take=10`)).body, { executions: [] });
  assert.deepEqual((await s.api('GET', `/flows/${f.id}/executions?include_totals=true`)).body, { start: 0, limit: 50, length: 0, total: 0, executions: [] });
  assertError(await s.api('GET', `/flows/${f.id}/executions/afe_x`), 404, undefined, 'inexistent_flow_execution');
  assertError(await s.api('DELETE', `/flows/${f.id}/executions/afe_x`), 404, undefined, 'inexistent_flow_execution');
  assertError(await s.api('GET', '/flows/af_unknown/executions'), 404, 'The flow does not exist.', 'inexistent_flow');

  assert.deepEqual((await s.api('GET', '/flows/vault/connections')).body, []);
  assertError(await s.api('GET', '/flows/vault/connections/ac_x'), 404);

  await mc.flows.delete(f.id);
  assertError(await s.api('GET', `/flows/${f.id}`), 404, 'The flow does not exist.', 'inexistent_flow');
  assertError(await s.api('DELETE', `/flows/${f.id}`), 404);
  assertError(await s.api('GET', `/flows/${f.id}/executions`), 404);
});

test('flows: bad input is a 400', async () => {
  assertError(await s.api('POST', '/flows', { body: { actions: [] } }), 400, /Missing required property: name/);
  assertError(await s.api('POST', '/flows', { body: { name: 'x', actions: [{ type: 'NOPE' }] } }), 400, /^Payload validation error/);
  assertError(await s.api('POST', '/flows', { body: { name: 'x', actions: 'all' } }), 400, /^Payload validation error/);
  assertError(await s.api('GET', '/flows?page=1001'), 400, undefined, 'invalid_query_string');
  assert.deepEqual((await s.api('GET', '/flows')).body, [], 'nothing was created');
});

// --- self-service profiles ---------------------------------------------------------------

test('self-service profiles: defaults, update, branding reset, delete', async () => {
  const p: any = await mc.selfServiceProfiles.create({ name: 'acme-sso' });
  assert.match(p.id, /^ssp_[A-Za-z0-9]{22}$/);
  assert.deepEqual({ ...p, id: undefined, created_at: undefined, updated_at: undefined },
    { id: undefined, name: 'acme-sso', user_attributes: [], created_at: undefined, updated_at: undefined });

  const attrs = [{ name: 'email', description: 'Work email', is_optional: false }];
  const up: any = await mc.selfServiceProfiles.update(p.id, {
    description: 'For ACME', user_attributes: attrs, allowed_strategies: ['oidc', 'samlp'],
    branding: { logo_url: 'https://acme.example/logo.png', colors: { primary: '#0059d6' } },
  } as any);
  assert.equal(up.description, 'For ACME');
  assert.deepEqual(up.user_attributes, attrs);
  assert.deepEqual(up.allowed_strategies, ['oidc', 'samlp']);
  assert.deepEqual(up.branding, { logo_url: 'https://acme.example/logo.png', colors: { primary: '#0059d6' } });
  assert.deepEqual(await mc.selfServiceProfiles.get(p.id), up);

  const reset: any = await mc.selfServiceProfiles.update(p.id, { branding: null, user_attributes: null } as any);
  assert.ok(!('branding' in reset));
  assert.deepEqual(reset.user_attributes, []);
  assert.equal(reset.description, 'For ACME');

  const listed = await s.api('GET', '/self-service-profiles?include_totals=true');
  assert.equal(listed.body.total, 1);
  assert.deepEqual(listed.body.self_service_profiles, [reset], 'the list shows whole profiles');
  assert.deepEqual((await all(await mc.selfServiceProfiles.list())).map((x: any) => x.id), [p.id]);

  await mc.selfServiceProfiles.delete(p.id);
  assertError(await s.api('GET', `/self-service-profiles/${p.id}`), 404, 'The self-service profile does not exist.', 'inexistent_self_service_profile');
  assertError(await s.api('DELETE', `/self-service-profiles/${p.id}`), 404);
});

test('self-service profiles: custom text is kept per page, inside the profile, and never listed with it', async () => {
  const p: any = await mc.selfServiceProfiles.create({ name: 'texts' });
  assert.deepEqual(await mc.selfServiceProfiles.customText.list(p.id, 'en', 'get-started'), {});
  const text = { introduction: 'Welcome, ${companyName}.' };
  assert.deepEqual(await mc.selfServiceProfiles.customText.set(p.id, 'en', 'get-started', text), text);
  assert.deepEqual(await mc.selfServiceProfiles.customText.list(p.id, 'en', 'get-started'), text);
  assert.deepEqual((await store().selfServiceProfiles.get(p.id))!.data.custom_text, { en: { 'get-started': text } });
  assert.ok(!('custom_text' in (await mc.selfServiceProfiles.get(p.id) as any)));
  // A PUT replaces the page's texts; a profile PATCH keeps them.
  await mc.selfServiceProfiles.customText.set(p.id, 'en', 'get-started', { other: 'x' });
  await mc.selfServiceProfiles.update(p.id, { name: 'texts-2' });
  assert.deepEqual(await mc.selfServiceProfiles.customText.list(p.id, 'en', 'get-started'), { other: 'x' });

  assertError(await s.api('GET', `/self-service-profiles/${p.id}/custom-text/de/get-started`), 404);
  assertError(await s.api('PUT', `/self-service-profiles/${p.id}/custom-text/en/other-page`, { body: {} }), 404);
  assertError(await s.api('PUT', `/self-service-profiles/${p.id}/custom-text/en/get-started`, { body: { a: 5 } }), 400);
  assertError(await s.api('PUT', `/self-service-profiles/${p.id}/custom-text/en/get-started`, { body: { a: 'x'.repeat(2001) } }), 400);
  assertError(await s.api('GET', '/self-service-profiles/ssp_nope/custom-text/en/get-started'), 404, undefined, 'inexistent_self_service_profile');
  assertError(await s.api('PUT', '/self-service-profiles/ssp_nope/custom-text/en/get-started', { body: {} }), 404);
  await mc.selfServiceProfiles.delete(p.id);
});

test('self-service profiles: bad input is a 400', async () => {
  for (const body of [
    {}, { name: '' }, { name: 'x'.repeat(101) }, { name: 'x', allowed_strategies: ['auth0'] }, { name: 'x', allowed_strategies: [] },
    { name: 'x', branding: { logo_url: 'http://insecure.example/logo.png' } }, { name: 'x', branding: { colors: { primary: 'blue' } } },
    { name: 'x', user_attributes: [{ name: 'email', is_optional: true }] }, { name: 'x', sso: true },
  ]) {
    assertError(await s.api('POST', '/self-service-profiles', { body }), 400, /^Payload validation error/, 'invalid_body');
  }
  assert.deepEqual((await s.api('GET', '/self-service-profiles')).body, [], 'nothing was created');
});

// --- phone provider ----------------------------------------------------------------------

const TWILIO_TOKEN = 'twilio-auth-token-plaintext-7f3a9c';

test('phone provider: one per tenant, credentials sealed at rest and never returned', async () => {
  const created: any = await mc.branding.phone.providers.create({
    name: 'twilio', credentials: { auth_token: TWILIO_TOKEN },
    configuration: { sid: 'AC123', default_from: '+15551234567', delivery_methods: ['text', 'voice'] },
  } as any);
  assert.match(created.id, /^pro_[A-Za-z0-9]{22}$/);
  assert.equal(created.name, 'twilio');
  assert.equal(created.channel, 'phone');
  assert.equal(created.disabled, false);
  assert.equal(typeof created.tenant, 'string');
  assert.deepEqual(created.configuration, { sid: 'AC123', default_from: '+15551234567', delivery_methods: ['text', 'voice'] });
  assert.ok(!('credentials' in created));

  const raw = await store().phoneProviders.get(created.id);
  assert.ok(raw && raw.data.credentials.auth_token.startsWith('enc:v1:'));
  assert.ok(!JSON.stringify(raw).includes(TWILIO_TOKEN));
  assert.equal(s.runtime.env.box.open(raw.data.credentials.auth_token), TWILIO_TOKEN, 'the sealed token opens to what was sent');

  // A second provider, of either kind, is refused.
  for (const body of [
    { name: 'custom', credentials: {}, configuration: { delivery_methods: ['text'] } },
    { name: 'twilio', credentials: { auth_token: 'other' }, configuration: { sid: 'AC9', delivery_methods: ['text'] } },
  ]) {
    assertError(await s.api('POST', '/branding/phone/providers', { body }), 409, undefined, 'phone_provider_conflict');
  }

  const listed: any = await mc.branding.phone.providers.list();
  assert.deepEqual(listed, { providers: [created] });
  assert.deepEqual((await s.api('GET', '/branding/phone/providers?disabled=true')).body, { providers: [] });
  assert.deepEqual(await mc.branding.phone.providers.get(created.id), created);

  const rotated = `${TWILIO_TOKEN}-rotated`;
  const up: any = await mc.branding.phone.providers.update(created.id, { credentials: { auth_token: rotated }, disabled: true } as any);
  assert.equal(up.disabled, true);
  assert.ok(!('credentials' in up));
  const after = await store().phoneProviders.get(created.id);
  assert.equal(s.runtime.env.box.open(after!.data.credentials.auth_token), rotated);
  assert.deepEqual((await s.api('GET', '/branding/phone/providers?disabled=true')).body.providers.map((p: any) => p.id), [created.id]);

  // Switching to a custom provider drops the token.
  const custom: any = await mc.branding.phone.providers.update(created.id, { name: 'custom', configuration: { delivery_methods: ['text'] } } as any);
  assert.equal(custom.name, 'custom');
  assert.deepEqual((await store().phoneProviders.get(created.id))!.data.credentials, {});
  assertNotInDataDir(TWILIO_TOKEN);

  for (const r of [await s.api('GET', '/branding/phone/providers'), await s.api('GET', `/branding/phone/providers/${created.id}`)]) {
    assert.ok(!JSON.stringify(r.body).includes('credentials'));
  }
  await mc.branding.phone.providers.delete(created.id);
  assertError(await s.api('GET', `/branding/phone/providers/${created.id}`), 404, 'The phone provider does not exist.', 'inexistent_phone_provider');
  assertError(await s.api('PATCH', `/branding/phone/providers/${created.id}`, { body: { disabled: false } }), 404);
  assertError(await s.api('DELETE', `/branding/phone/providers/${created.id}`), 404);
  assert.deepEqual((await s.api('GET', '/branding/phone/providers')).body, { providers: [] });
});

test('phone provider: concurrent creates let exactly one through', async () => {
  const results = await Promise.all([0, 1, 2, 3].map((i) => s.api('POST', '/branding/phone/providers', {
    body: { name: 'custom', credentials: {}, configuration: { delivery_methods: ['text'] }, disabled: i % 2 === 0 },
  })));
  assert.deepEqual(results.map((r) => r.status).sort(), [201, 409, 409, 409]);
  const listed = (await s.api('GET', '/branding/phone/providers')).body.providers;
  assert.equal(listed.length, 1);
  await mc.branding.phone.providers.delete(listed[0].id);
});

test('phone provider: bad input is a 400, and the provider named must match its configuration and credentials', async () => {
  const cases: [unknown, RegExp][] = [
    [{ name: 'twilio' }, /Missing required property: credentials/],
    [{ name: 'nexmo', credentials: {} }, /^Payload validation error/],
    [{ name: 'twilio', credentials: { auth_token: '' }, configuration: { sid: 'AC1', delivery_methods: ['text'] } }, /^Payload validation error/],
    [{ name: 'twilio', credentials: {}, configuration: { sid: 'AC1', delivery_methods: ['text'] } }, /auth_token/],
    [{ name: 'twilio', credentials: { auth_token: 't' }, configuration: { delivery_methods: ['text'] } }, /sid/],
    [{ name: 'twilio', credentials: { auth_token: 't' } }, /configuration/],
    [{ name: 'custom', credentials: { auth_token: 't' }, configuration: { delivery_methods: ['text'] } }, /no credentials/],
    [{ name: 'custom', credentials: {}, configuration: { sid: 'AC1', delivery_methods: ['text'] } }, /sid/],
    [{ name: 'custom', credentials: {}, configuration: { delivery_methods: ['fax'] } }, /^Payload validation error/],
    [{ name: 'custom', credentials: { password: 'x' }, configuration: { delivery_methods: ['text'] } }, /^Payload validation error/],
  ];
  for (const [body, message] of cases) {
    assertError(await s.api('POST', '/branding/phone/providers', { body }), 400, message, 'invalid_body');
  }
  assert.deepEqual((await s.api('GET', '/branding/phone/providers')).body, { providers: [] }, 'nothing was created');

  const p: any = await mc.branding.phone.providers.create({ name: 'custom', credentials: {}, configuration: { delivery_methods: ['text'] } } as any);
  assertError(await s.api('PATCH', `/branding/phone/providers/${p.id}`, { body: {} }), 400, /^Payload validation error/);
  // Becoming a Twilio provider needs a token and a Twilio configuration.
  assertError(await s.api('PATCH', `/branding/phone/providers/${p.id}`, { body: { name: 'twilio' } }), 400, /sid|auth_token/);
  assertError(await s.api('PATCH', `/branding/phone/providers/${p.id}`, { body: { name: 'twilio', configuration: { sid: 'AC1', delivery_methods: ['text'] } } }), 400, /auth_token/);
  assert.equal((await mc.branding.phone.providers.get(p.id) as any).name, 'custom');
  const tw: any = await mc.branding.phone.providers.update(p.id, { name: 'twilio', credentials: { auth_token: 'tok' }, configuration: { sid: 'AC1', delivery_methods: ['voice'] } } as any);
  assert.equal(tw.name, 'twilio');
  await mc.branding.phone.providers.delete(p.id);
});

// --- phone templates ----------------------------------------------------------------------

test('phone templates: one per type, PATCH merges the bodies, delete', async () => {
  const t: any = await mc.branding.phone.templates.create({ type: 'otp_verify', content: { from: '+15550001111', body: { text: 'Code: {{ code }}', voice: 'Your code is {{ code }}' } } } as any);
  assert.match(t.id, /^tem_[A-Za-z0-9]{22}$/);
  assert.deepEqual({ ...t, id: undefined, tenant: undefined }, {
    id: undefined, tenant: undefined, channel: 'phone', customizable: true, type: 'otp_verify', disabled: false,
    content: { from: '+15550001111', body: { text: 'Code: {{ code }}', voice: 'Your code is {{ code }}' } },
  });
  assertError(await s.api('POST', '/branding/phone/templates', { body: { type: 'otp_verify', content: { body: { text: 'again' } } } }), 409, undefined, 'phone_template_conflict');
  const second: any = await mc.branding.phone.templates.create({ type: 'otp_enroll', disabled: true, content: { body: { text: 'Enroll {{ code }}' } } } as any);

  const up: any = await mc.branding.phone.templates.update(t.id, { content: { body: { text: 'New code: {{ code }}' } } } as any);
  assert.deepEqual(up.content, { from: '+15550001111', body: { text: 'New code: {{ code }}', voice: 'Your code is {{ code }}' } });
  assert.deepEqual(await mc.branding.phone.templates.get(t.id), up);

  const listed: any = await mc.branding.phone.templates.list();
  assert.deepEqual(listed.templates.map((x: any) => x.type).sort(), ['otp_enroll', 'otp_verify']);
  assert.deepEqual((await s.api('GET', '/branding/phone/templates?disabled=true')).body.templates.map((x: any) => x.id), [second.id]);

  await mc.branding.phone.templates.delete(t.id);
  assertError(await s.api('GET', `/branding/phone/templates/${t.id}`), 404, 'The phone template does not exist.', 'inexistent_phone_template');
  assertError(await s.api('PATCH', `/branding/phone/templates/${t.id}`, { body: { disabled: true } }), 404);
  assertError(await s.api('DELETE', `/branding/phone/templates/${t.id}`), 404);
  for (const id of ['__proto__', 'constructor', 'toString']) assertError(await s.api('GET', `/branding/phone/templates/${id}`), 404);
  // Its type is free again.
  const again: any = await mc.branding.phone.templates.create({ type: 'otp_verify', content: { body: { text: 'x' } } } as any);
  assertError(await s.api('POST', '/branding/phone/templates', { body: { content: { body: { text: 'x' } } } }), 400, /Missing required property: type/);
  assertError(await s.api('POST', '/branding/phone/templates', { body: { type: 'change_password' } }), 400, /Missing required property: content/);
  assertError(await s.api('POST', '/branding/phone/templates', { body: { type: 'marketing', content: { body: { text: 'x' } } } }), 400, /^Payload validation error/);
  assertError(await s.api('POST', '/branding/phone/templates', { body: { type: 'change_password', content: { from: 'x'.repeat(17) } } }), 400, /^Payload validation error/);
  for (const x of [second, again]) await mc.branding.phone.templates.delete(x.id);
});

// --- authentication methods, enrollments, IP blocks ---------------------------------------

test('authentication methods: a database user has exactly its password, with a stable id', async () => {
  const u: any = await mc.users.create({ connection: 'Username-Password-Authentication', email: 'methods@example.com', password: 'Methods-passw0rd!' });
  const page = await s.api('GET', `/users/${enc(u.user_id)}/authentication-methods`);
  assert.equal(page.status, 200);
  assert.equal(page.body.length, 1);
  const [m] = page.body;
  assert.deepEqual(Object.keys(m).sort(), ['created_at', 'id', 'type']);
  assert.equal(m.type, 'password');
  assert.equal(m.created_at, u.created_at);
  assert.deepEqual((await s.api('GET', `/users/${enc(u.user_id)}/authentication-methods`)).body, [m], 'the same id on every read');

  const viaSdk = await all(await mc.users.authenticationMethods.list(u.user_id));
  assert.deepEqual(viaSdk, [m]);
  assert.deepEqual(await mc.users.authenticationMethods.get(u.user_id, m.id), m);
  assert.deepEqual((await s.api('GET', `/users/${enc(u.user_id)}/authentication-methods?include_totals=true&per_page=10`)).body,
    { start: 0, limit: 10, length: 1, total: 1, authenticators: [m] });
  assert.deepEqual((await s.api('GET', `/users/${enc(u.user_id)}/authentication-methods?include_totals=true&page=1&per_page=1`)).body.authenticators, []);

  // Another user's password is another method.
  const v: any = await mc.users.create({ connection: 'Username-Password-Authentication', email: 'methods2@example.com', password: 'Methods-passw0rd!' });
  const [other] = (await s.api('GET', `/users/${enc(v.user_id)}/authentication-methods`)).body;
  assert.notEqual(other.id, m.id);
  assertError(await s.api('GET', `/users/${enc(v.user_id)}/authentication-methods/${enc(m.id)}`), 404, undefined, 'inexistent_authentication_method');

  assertError(await s.api('GET', '/users/auth0%7Cnobody/authentication-methods'), 404, 'The user does not exist.', 'inexistent_user');
  assertError(await s.api('GET', `/users/auth0%7Cnobody/authentication-methods/${enc(m.id)}`), 404, undefined, 'inexistent_user');
  assertError(await s.api('GET', `/users/${enc(u.user_id)}/authentication-methods?per_page=101`), 400, undefined, 'invalid_query_string');

  await mc.users.delete(u.user_id);
  assertError(await s.api('GET', `/users/${enc(u.user_id)}/authentication-methods`), 404);
  await mc.users.delete(v.user_id);
});

test('enrollments and IP blocks: no MFA enrollment and no blocked IP exist', async () => {
  const u: any = await mc.users.create({ connection: 'Username-Password-Authentication', email: 'enrol@example.com', password: 'Enrol-passw0rd!' });
  assert.deepEqual(await mc.users.enrollments.get(u.user_id), []);
  assertError(await s.api('GET', '/users/auth0%7Cnobody/enrollments'), 404, undefined, 'inexistent_user');
  assertError(await s.api('GET', '/guardian/enrollments/dev_0000000000000001'), 404, undefined, 'inexistent_enrollment');
  await mc.users.delete(u.user_id);

  for (const ip of ['203.0.113.7', '2001:db8::1']) {
    assertError(await s.api('GET', `/anomaly/blocks/ips/${enc(ip)}`), 404, /not currently blocked/);
    assert.equal((await s.api('DELETE', `/anomaly/blocks/ips/${enc(ip)}`)).status, 204);
  }
  await mc.anomaly.blocks.unblockIp('198.51.100.1');
  assertError(await s.api('DELETE', '/anomaly/blocks/ips/not-an-ip'), 400);
});

// --- scopes -------------------------------------------------------------------------------

test('each operation needs its own scope (403), and a read scope reads', async () => {
  const read = await s.token('read:forms read:flows read:phone_providers read:self_service_profiles read:authentication_methods');
  for (const path of ['/forms', '/flows', '/branding/phone/providers', '/self-service-profiles']) {
    assert.equal((await s.api('GET', path, { token: read })).status, 200, path);
  }
  for (const [method, path, scope] of [
    ['POST', '/forms', 'create:forms'], ['PATCH', '/forms/ap_x', 'update:forms'], ['DELETE', '/flows/af_x', 'delete:flows'],
    ['POST', '/branding/phone/providers', 'create:phone_providers'], ['GET', '/branding/phone/templates', 'read:phone_templates'],
    ['PUT', '/self-service-profiles/ssp_x/custom-text/en/get-started', 'update:self_service_profile_custom_texts'],
    ['GET', '/flows/af_x/executions', 'read:flows_executions'], ['GET', '/guardian/enrollments/x', 'read:guardian_enrollments'],
    ['DELETE', '/anomaly/blocks/ips/203.0.113.7', 'delete:anomaly_blocks'],
  ]) {
    const r = await s.api(method, path, { token: read, body: method === 'GET' || method === 'DELETE' ? undefined : { name: 'x' } });
    assertError(r, 403, `Insufficient scope, expected any of: ${scope}`, 'insufficient_scope');
  }
  assert.deepEqual((await s.api('GET', '/forms')).body, [], 'nothing was created');
});
