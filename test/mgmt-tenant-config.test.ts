import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ManagementClient } from 'auth0';
import { startServer, type TestServer } from './helpers/server.ts';
import { managementClient } from './helpers/sdk.ts';
import { assertError } from './helpers/assert.ts';

// Tenant configuration singletons (attack protection, Guardian, prompts,
// branding) through the official SDK: Auth0's defaults, PATCH merges, PUT
// replaces, and writes that survive each other. Plain fetch for what the SDK
// would not send.

let s: TestServer;
let mc: ManagementClient;
before(async () => {
  s = await startServer(['--rate-limit', '1000000']);
  mc = managementClient(s);
});
after(async () => { await s?.close(); });

/** The SDK's error, for a call that must be refused. */
const refused = (status: number) => (e: any) => { assert.equal(e.statusCode, status, JSON.stringify(e.body)); return true; };

// --- attack protection --------------------------------------------------------

test('attack protection answers Auth0 defaults before anything is written', async () => {
  assert.deepEqual(await mc.attackProtection.bruteForceProtection.get(), {
    enabled: true, shields: ['block', 'user_notification'], mode: 'count_per_identifier_and_ip', allowlist: [], max_attempts: 10,
  });
  assert.deepEqual(await mc.attackProtection.suspiciousIpThrottling.get(), {
    enabled: true, shields: ['admin_notification', 'block'], allowlist: [],
    stage: { 'pre-login': { max_attempts: 100, rate: 864000 }, 'pre-user-registration': { max_attempts: 50, rate: 1728000 } },
  });
  assert.deepEqual(await mc.attackProtection.breachedPasswordDetection.get(), {
    enabled: false, shields: [], admin_notification_frequency: [], method: 'standard',
    stage: { 'pre-user-registration': { shields: [] }, 'pre-change-password': { shields: [] } },
  });
  const bot: any = await mc.attackProtection.botDetection.get();
  assert.equal(bot.bot_detection_level, 'medium');
  assert.deepEqual(bot.allowlist, []);
  const captcha: any = await mc.attackProtection.captcha.get();
  assert.equal(captcha.active_provider_id, 'auth_challenge');
});

test('brute force: PATCH changes only the keys sent, and the change is read back', async () => {
  const patched: any = await mc.attackProtection.bruteForceProtection.update({ max_attempts: 5, allowlist: ['10.0.0.0/8', '192.168.1.1', '2001:db8::/32'] });
  assert.equal(patched.max_attempts, 5);
  assert.deepEqual(patched.allowlist, ['10.0.0.0/8', '192.168.1.1', '2001:db8::/32']);
  assert.deepEqual(patched.shields, ['block', 'user_notification'], 'keys not sent keep their value');
  await mc.attackProtection.bruteForceProtection.update({ mode: 'count_per_identifier' });
  assert.deepEqual(await mc.attackProtection.bruteForceProtection.get(), {
    enabled: true, shields: ['block', 'user_notification'], mode: 'count_per_identifier',
    allowlist: ['10.0.0.0/8', '192.168.1.1', '2001:db8::/32'], max_attempts: 5,
  });
});

test('suspicious IP throttling and breached password detection merge `stage` on PATCH', async () => {
  await mc.attackProtection.suspiciousIpThrottling.update({ stage: { 'pre-login': { max_attempts: 5 } } });
  await mc.attackProtection.suspiciousIpThrottling.update({ enabled: false });
  const ip: any = await mc.attackProtection.suspiciousIpThrottling.get();
  assert.equal(ip.enabled, false);
  assert.deepEqual(ip.stage, { 'pre-login': { max_attempts: 5, rate: 864000 }, 'pre-user-registration': { max_attempts: 50, rate: 1728000 } });

  const bpd: any = await mc.attackProtection.breachedPasswordDetection.update({
    enabled: true, shields: ['block', 'admin_notification'], admin_notification_frequency: ['daily'],
    stage: { 'pre-change-password': { shields: ['block'] } },
  });
  assert.deepEqual(bpd.stage, { 'pre-user-registration': { shields: [] }, 'pre-change-password': { shields: ['block'] } });
  const read: any = await mc.attackProtection.breachedPasswordDetection.get();
  assert.deepEqual(read, bpd);
  assert.equal(read.method, 'standard');
});

test('bot detection takes IPv4, IPv6 and CIDR allowlist entries and refuses anything else', async () => {
  const allowlist = ['198.51.100.42', '10.0.0.0/24', '::1', '2001:db8::/48'];
  const bot: any = await mc.attackProtection.botDetection.update({ bot_detection_level: 'high', challenge_password_policy: 'when_risky', allowlist });
  assert.deepEqual(bot.allowlist, allowlist);
  assert.equal(bot.challenge_passwordless_policy, 'never', 'untouched policies keep their default');
  assert.equal((await mc.attackProtection.botDetection.get() as any).bot_detection_level, 'high');
  for (const entry of ['not-an-ip', '10.0.0.0/33', '300.1.1.1']) {
    assertError(await s.api('PATCH', '/attack-protection/bot-detection', { body: { allowlist: [entry] } }), 400, /Payload validation error/, 'invalid_body');
    assertError(await s.api('PATCH', '/attack-protection/brute-force-protection', { body: { allowlist: [entry] } }), 400, undefined, 'invalid_body');
  }
  assert.deepEqual((await mc.attackProtection.botDetection.get() as any).allowlist, allowlist, 'refused writes change nothing');
});

test('captcha: provider secrets are stored sealed and never answered', async () => {
  const r: any = await mc.attackProtection.captcha.update({ active_provider_id: 'recaptcha_v2', recaptcha_v2: { site_key: 'site-1', secret: 'very-secret' } });
  assert.equal(r.active_provider_id, 'recaptcha_v2');
  assert.deepEqual(r.recaptcha_v2, { site_key: 'site-1' });
  const read: any = await mc.attackProtection.captcha.get();
  assert.deepEqual(read.recaptcha_v2, { site_key: 'site-1' });
  assert.ok(!JSON.stringify(read).includes('very-secret'));
  const stored = await s.runtime.env.store.getTenantDoc('attack_protection.captcha');
  assert.ok(!JSON.stringify(stored).includes('very-secret'), 'the secret is not stored in the clear');
  assert.equal(s.runtime.env.box.open(stored.recaptcha_v2.secret), 'very-secret');
  // A third-party provider cannot be made active before its keys are stored.
  assertError(await s.api('PATCH', '/attack-protection/captcha', { body: { active_provider_id: 'hcaptcha' } }), 400, /hcaptcha/, 'invalid_body');
  await mc.attackProtection.captcha.update({ active_provider_id: 'simple_captcha' });
  assert.equal((await mc.attackProtection.captcha.get() as any).recaptcha_v2.site_key, 'site-1', 'other providers stay configured');
});

test('attack protection: values outside the schema are 400 in the error shape', async () => {
  const bad: [string, unknown][] = [
    ['/attack-protection/brute-force-protection', { max_attempts: 0 }],
    ['/attack-protection/brute-force-protection', { max_attempts: 101 }],
    ['/attack-protection/brute-force-protection', { mode: 'count_per_everything' }],
    ['/attack-protection/brute-force-protection', { shields: ['admin_notification'] }],
    ['/attack-protection/brute-force-protection', { enabled: 'yes' }],
    ['/attack-protection/brute-force-protection', { unknown_setting: true }],
    ['/attack-protection/suspicious-ip-throttling', { stage: { 'pre-login': { rate: 1 } } }],
    ['/attack-protection/suspicious-ip-throttling', { stage: { 'pre-something': { rate: 40000 } } }],
    ['/attack-protection/breached-password-detection', { method: 'extreme' }],
    ['/attack-protection/bot-detection', { bot_detection_level: 'maximum' }],
    ['/attack-protection/captcha', { hcaptcha: { site_key: 'only-the-site-key' } }],
  ];
  for (const [path, body] of bad) {
    assertError(await s.api('PATCH', path, { body }), 400, /^Payload validation error/, 'invalid_body');
  }
  assert.equal((await mc.attackProtection.bruteForceProtection.get() as any).max_attempts, 5, 'nothing was written');
});

// --- guardian -----------------------------------------------------------------

test('guardian policies: [] by default, PUT replaces, only Auth0 policy names', async () => {
  assert.deepEqual(await mc.guardian.policies.list(), []);
  assert.deepEqual(await mc.guardian.policies.set(['all-applications']), ['all-applications']);
  assert.deepEqual(await mc.guardian.policies.list(), ['all-applications']);
  assert.deepEqual(await mc.guardian.policies.set(['confidence-score']), ['confidence-score']);
  assert.deepEqual(await mc.guardian.policies.list(), ['confidence-score'], 'PUT replaced the list');
  assertError(await s.api('PUT', '/guardian/policies', { body: ['sometimes'] }), 400, /allowed values/, 'invalid_body');
  assertError(await s.api('PUT', '/guardian/policies', { body: { policies: ['all-applications'] } }), 400, /must be array/, 'invalid_body');
  await mc.guardian.policies.set([]);
  assert.deepEqual(await mc.guardian.policies.list(), []);
});

test('guardian factors: all listed and disabled by default; PUT enables one', async () => {
  const names = ['sms', 'push-notification', 'otp', 'email', 'duo', 'webauthn-roaming', 'webauthn-platform', 'recovery-code'];
  const initial = await mc.guardian.factors.list();
  assert.deepEqual(initial, names.map((name) => ({ name, enabled: false, trial_expired: false })));
  assert.deepEqual(await mc.guardian.factors.set('otp', { enabled: true }), { enabled: true });
  const after = await mc.guardian.factors.list();
  assert.deepEqual(after.filter((f) => f.enabled).map((f) => f.name), ['otp']);
  await mc.guardian.factors.set('otp', { enabled: false });
  assert.ok((await mc.guardian.factors.list()).every((f) => !f.enabled));

  assertError(await s.api('PUT', '/guardian/factors/carrier-pigeon', { body: { enabled: true } }), 404, undefined, 'inexistent_resource');
  assertError(await s.api('PUT', '/guardian/factors/sms', { body: { enabled: 'yes' } }), 400, /Payload validation error/, 'invalid_body');
  assertError(await s.api('PUT', '/guardian/factors/sms', { body: {} }), 400, /Missing required property: enabled/, 'invalid_body');
});

test('guardian phone settings: defaults, PUT replaces, and the sms/* aliases share them', async () => {
  assert.deepEqual(await mc.guardian.factors.phone.getMessageTypes(), { message_types: ['sms'] });
  assert.deepEqual(await mc.guardian.factors.phone.setMessageTypes({ message_types: ['sms', 'voice'] }), { message_types: ['sms', 'voice'] });
  assert.deepEqual(await mc.guardian.factors.phone.getMessageTypes(), { message_types: ['sms', 'voice'] });

  assert.deepEqual(await mc.guardian.factors.phone.getSelectedProvider(), { provider: 'auth0' });
  await mc.guardian.factors.phone.setProvider({ provider: 'twilio' });
  assert.deepEqual(await mc.guardian.factors.sms.getSelectedProvider(), { provider: 'twilio' });
  assert.deepEqual(await mc.guardian.factors.pushNotification.getSelectedProvider(), { provider: 'guardian' });

  const templates: any = await mc.guardian.factors.sms.getTemplates();
  assert.match(templates.enrollment_message, /\{\{code\}\}/);
  const next = { enrollment_message: 'Enroll with {{code}}', verification_message: 'Verify with {{code}}' };
  await mc.guardian.factors.sms.setTemplates(next);
  assert.deepEqual(await mc.guardian.factors.phone.getTemplates(), next);

  assertError(await s.api('PUT', '/guardian/factors/phone/message-types', { body: { message_types: ['fax'] } }), 400, undefined, 'invalid_body');
  assertError(await s.api('PUT', '/guardian/factors/phone/templates', { body: { enrollment_message: 'x' } }), 400, /Missing required property: verification_message/, 'invalid_body');
  assertError(await s.api('PUT', '/guardian/factors/sms/selected-provider', { body: { provider: 'carrier-pigeon' } }), 400, undefined, 'invalid_body');
});

// --- prompts ------------------------------------------------------------------

test('prompts settings: defaults, PATCH merges, null resets to the default', async () => {
  assert.deepEqual(await mc.prompts.getSettings(), { universal_login_experience: 'new', identifier_first: false, webauthn_platform_first_factor: false });
  assert.deepEqual(await mc.prompts.updateSettings({ identifier_first: true }), { universal_login_experience: 'new', identifier_first: true, webauthn_platform_first_factor: false });
  await mc.prompts.updateSettings({ universal_login_experience: 'classic' });
  assert.deepEqual(await mc.prompts.getSettings(), { universal_login_experience: 'classic', identifier_first: true, webauthn_platform_first_factor: false });
  await mc.prompts.updateSettings({ identifier_first: null });
  assert.equal((await mc.prompts.getSettings() as any).identifier_first, false);

  assertError(await s.api('PATCH', '/prompts', { body: { universal_login_experience: 'newest' } }), 400, undefined, 'invalid_body');
  assertError(await s.api('PATCH', '/prompts', { body: {} }), 400, undefined, 'invalid_body');
  assertError(await s.api('PATCH', '/prompts', { body: { identifier_first: 'yes' } }), 400, undefined, 'invalid_body');
});

test('custom text: {} until set, PUT replaces, one document per prompt and language', async () => {
  assert.deepEqual(await mc.prompts.customText.get('login', 'en'), {});
  await mc.prompts.customText.set('login', 'en', { login: { title: 'Welcome', description: 'Log in' } });
  assert.deepEqual(await mc.prompts.customText.get('login', 'en'), { login: { title: 'Welcome', description: 'Log in' } });
  await mc.prompts.customText.set('login', 'en', { login: { title: 'Hello' } });
  assert.deepEqual(await mc.prompts.customText.get('login', 'en'), { login: { title: 'Hello' } }, 'PUT replaced, keys not sent are gone');
  assert.deepEqual(await mc.prompts.customText.get('login', 'fr'), {});
  assert.deepEqual(await mc.prompts.customText.get('signup', 'en'), {});

  assertError(await s.api('GET', '/prompts/no-such-prompt/custom-text/en'), 404, undefined, 'inexistent_resource');
  assertError(await s.api('GET', '/prompts/login/custom-text/xx-klingon'), 404, undefined, 'inexistent_resource');
  assertError(await s.api('PUT', '/prompts/no-such-prompt/custom-text/en', { body: { login: {} } }), 404, undefined, 'inexistent_resource');
  assertError(await s.api('PUT', '/prompts/login/custom-text/en', { body: ['not', 'an', 'object'] }), 400, undefined, 'invalid_body');
});

test('partials: {} until set, PUT replaces, only the prompts that take partials', async () => {
  assert.deepEqual(await mc.prompts.partials.get('login'), {});
  const partials = { login: { 'form-content-start': '<div>Hi</div>' } };
  await mc.prompts.partials.set('login', partials);
  assert.deepEqual(await mc.prompts.partials.get('login'), partials);
  assert.deepEqual(await mc.prompts.partials.get('signup'), {});
  assertError(await s.api('GET', '/prompts/consent/partials'), 404, undefined, 'inexistent_resource');
});

// --- branding -----------------------------------------------------------------

test('branding: PATCH merges colors and font, null removes a setting', async () => {
  assert.deepEqual(await mc.branding.get(), {});
  await mc.branding.update({ colors: { primary: '#112233' }, logo_url: 'https://brand.example.com/logo.png' });
  const merged: any = await mc.branding.update({ colors: { page_background: '#000000' }, font: { url: 'https://brand.example.com/font.woff' } });
  assert.deepEqual(merged, {
    colors: { primary: '#112233', page_background: '#000000' },
    logo_url: 'https://brand.example.com/logo.png', font: { url: 'https://brand.example.com/font.woff' },
  });
  await mc.branding.update({ logo_url: null, colors: { primary: '#445566' } });
  assert.deepEqual(await mc.branding.get(), { colors: { primary: '#445566', page_background: '#000000' }, font: { url: 'https://brand.example.com/font.woff' } });

  for (const body of [{ colors: { primary: 'red' } }, { logo_url: 'http://brand.example.com/logo.png' }, { favicon_url: 'not a url' }, { colors: {} }, {}]) {
    assertError(await s.api('PATCH', '/branding', { body }), 400, /^Payload validation error/, 'invalid_body');
  }
});

test('universal login template: 404 until set, needs the head and widget tags, PUT replaces, DELETE removes', async () => {
  assertError(await s.api('GET', '/branding/templates/universal-login'), 404, 'Template does not exist.', 'inexistent_templates_universal_login');
  await assert.rejects(mc.branding.templates.getUniversalLogin(), refused(404));

  const template = '<!DOCTYPE html><html><head>{%- auth0:head -%}</head><body>{%- auth0:widget -%}</body></html>';
  assertError(await s.api('PUT', '/branding/templates/universal-login', { body: { template: '<html><head>{%- auth0:head -%}</head></html>' } }), 400, /auth0:widget/, 'invalid_body');
  assertError(await s.api('PUT', '/branding/templates/universal-login', { body: JSON.stringify('<html></html>') }), 400, /auth0:head/, 'invalid_body');
  assertError(await s.api('PUT', '/branding/templates/universal-login', { body: { template, extra: 1 } }), 400, undefined, 'invalid_body');
  assertError(await s.api('GET', '/branding/templates/universal-login'), 404, undefined, 'inexistent_templates_universal_login');

  assert.equal((await s.api('PUT', '/branding/templates/universal-login', { body: { template } })).status, 201);
  assert.deepEqual(await mc.branding.templates.getUniversalLogin(), { body: template });
  const second = template.replace('<body>', '<body class="x">');
  await mc.branding.templates.updateUniversalLogin(second);
  assert.deepEqual((await s.api('GET', '/branding/templates/universal-login')).body, { body: second });

  await mc.branding.templates.deleteUniversalLogin();
  assertError(await s.api('GET', '/branding/templates/universal-login'), 404, undefined, 'inexistent_templates_universal_login');
});

// --- scopes and concurrency ---------------------------------------------------

test('reads and writes need their own scopes', async () => {
  const readOnly = await s.token('read:attack_protection read:prompts read:branding read:guardian_factors read:mfa_policies');
  assert.equal((await s.api('GET', '/attack-protection/brute-force-protection', { token: readOnly })).status, 200);
  const writes: [string, string, unknown, string][] = [
    ['PATCH', '/attack-protection/brute-force-protection', { enabled: false }, 'update:attack_protection'],
    ['PUT', '/prompts/login/custom-text/en', { login: {} }, 'update:prompts'],
    ['PATCH', '/branding', { logo_url: 'https://x.example.com/l.png' }, 'update:branding'],
    ['PUT', '/guardian/factors/sms', { enabled: true }, 'update:guardian_factors'],
    ['PUT', '/guardian/policies', ['all-applications'], 'update:mfa_policies'],
  ];
  for (const [method, path, body, scope] of writes) {
    assertError(await s.api(method, path, { token: readOnly, body }), 403, `Insufficient scope, expected any of: ${scope}`, 'insufficient_scope');
  }
  const other = await s.token('read:users');
  assertError(await s.api('GET', '/guardian/factors', { token: other }), 403, 'Insufficient scope, expected any of: read:guardian_factors', 'insufficient_scope');
  assert.equal((await mc.attackProtection.bruteForceProtection.get() as any).enabled, true, 'the refused PATCH wrote nothing');
});

test('concurrent PATCHes of different keys of one document all land', async () => {
  const patches = [
    { enabled: false }, { shields: ['block'] }, { allowlist: ['203.0.113.7'] },
    { stage: { 'pre-login': { max_attempts: 7 } } }, { stage: { 'pre-login': { rate: 100000 } } },
    { stage: { 'pre-user-registration': { max_attempts: 9 } } }, { stage: { 'pre-user-registration': { rate: 2000 } } },
  ];
  const results = await Promise.all(patches.map((body) => s.api('PATCH', '/attack-protection/suspicious-ip-throttling', { body })));
  for (const r of results) assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(await mc.attackProtection.suspiciousIpThrottling.get(), {
    enabled: false, shields: ['block'], allowlist: ['203.0.113.7'],
    stage: { 'pre-login': { max_attempts: 7, rate: 100000 }, 'pre-user-registration': { max_attempts: 9, rate: 2000 } },
  });
});

test('concurrent PUTs of different Guardian factors all land', async () => {
  const names = ['sms', 'push-notification', 'otp', 'email', 'duo', 'webauthn-roaming', 'webauthn-platform', 'recovery-code'];
  for (const enabled of [true, false]) {
    const results = await Promise.all(names.map((n) => s.api('PUT', `/guardian/factors/${n}`, { body: { enabled } })));
    for (const r of results) assert.deepEqual(r.body, { enabled });
    assert.deepEqual((await mc.guardian.factors.list()).map((f) => f.enabled), names.map(() => enabled));
  }
});
