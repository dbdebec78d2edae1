import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { ManagementClient } from 'auth0';
import { startServer, type TestServer } from './helpers/server.ts';
import { managementClient } from './helpers/sdk.ts';
import { assertError } from './helpers/assert.ts';
import { createUser } from './helpers/login-flow.ts';

// Universal Login customization (the branding theme, the screens' rendering
// settings) and the reads a posture scanner makes around them: Guardian
// settings, a job's errors, a connection's status, a user's connected
// accounts. Through the official SDK where it has the call, and plain
// requests for what it would not send.

let s: TestServer;
let mc: ManagementClient;
before(async () => {
  s = await startServer(['--rate-limit', '1000000']);
  mc = managementClient(s);
});
after(async () => { await s?.close(); });

/** The SDK's error, for a call that must be refused. */
const refused = (status: number) => (e: any) => { assert.equal(e.statusCode, status, JSON.stringify(e.body)); return true; };

// --- branding theme -------------------------------------------------------------

const theme = () => ({
  borders: {
    button_border_radius: 3, button_border_weight: 1, buttons_style: 'rounded' as const, input_border_radius: 3, input_border_weight: 1,
    inputs_style: 'rounded' as const, show_widget_shadow: true, widget_border_weight: 0, widget_corner_radius: 5,
  },
  colors: {
    body_text: '#1e212a', error: '#d03c38', header: '#1e212a', icons: '#65676e', input_background: '#ffffff', input_border: '#c9cace',
    input_filled_text: '#000000', input_labels_placeholders: '#65676e', links_focused_components: '#635dff', primary_button: '#635dff',
    primary_button_label: '#ffffff', secondary_button_border: '#c9cace', secondary_button_label: '#1e212a', success: '#13a688',
    widget_background: '#ffffff', widget_border: '#c9cace',
  },
  fonts: {
    body_text: { bold: false, size: 87.5 }, buttons_text: { bold: false, size: 100 }, font_url: '', input_labels: { bold: false, size: 100 },
    links: { bold: true, size: 87.5 }, links_style: 'normal' as const, reference_text_size: 16, subtitle: { bold: false, size: 87.5 },
    title: { bold: false, size: 150 },
  },
  page_background: { background_color: '#000000', background_image_url: '', page_layout: 'center' as const },
  widget: { header_text_alignment: 'center' as const, logo_height: 52, logo_position: 'center' as const, logo_url: 'https://cdn.example.com/logo.png', social_buttons_layout: 'bottom' as const },
});

test('branding theme: none until created, then one per tenant, read, replaced and deleted by its id', async () => {
  assertError(await s.api('GET', '/branding/themes/default'), 404, 'There is no default theme.', 'inexistent_resource');

  const created: any = await mc.branding.themes.create({ ...theme(), displayName: 'Acme' });
  assert.match(created.themeId, /^[a-z0-9]{32}$/);
  assert.deepEqual(created, { ...theme(), displayName: 'Acme', themeId: created.themeId });
  assert.deepEqual(await mc.branding.themes.getDefault(), created);
  assert.deepEqual(await mc.branding.themes.get(created.themeId), created);

  // Auth0 keeps one theme per tenant.
  const second = await s.api('POST', '/branding/themes', { body: theme() });
  assertError(second, 409, 'There was an error creating branding settings: theme already exists', 'conflict');

  const changed = theme();
  changed.colors.primary_button = '#123456';
  changed.fonts.title.size = 75;
  const updated: any = await mc.branding.themes.update(created.themeId, changed);
  assert.deepEqual(updated, { ...changed, displayName: 'Acme', themeId: created.themeId }, 'every section replaced, the name kept');
  assert.equal((await mc.branding.themes.getDefault() as any).colors.primary_button, '#123456');

  for (const method of ['GET', 'PATCH', 'DELETE']) {
    assertError(await s.api(method, '/branding/themes/0123456789abcdef0123456789abcdef', { body: method === 'PATCH' ? theme() : undefined }),
      404, 'The theme does not exist.', 'inexistent_resource');
  }
  assert.equal((await mc.branding.themes.getDefault() as any).themeId, created.themeId, 'refused calls left the theme alone');

  await mc.branding.themes.delete(created.themeId);
  assertError(await s.api('GET', '/branding/themes/default'), 404, 'There is no default theme.');
  await assert.rejects(mc.branding.themes.get(created.themeId), refused(404));
  await assert.rejects(mc.branding.themes.delete(created.themeId), refused(404));

  // With the one theme gone, a new one can be made, under a new id and without a name.
  const again = await s.api('POST', '/branding/themes', { body: theme() });
  assert.equal(again.status, 200, JSON.stringify(again.body));
  assert.notEqual(again.body.themeId, created.themeId);
  assert.equal(again.body.displayName, '');
  await mc.branding.themes.delete(again.body.themeId);
});

test('branding theme: bodies are checked against the spec\'s theme schema', async () => {
  const bad: [string, (t: any) => void, RegExp][] = [
    ['no title font', (t) => { delete t.fonts.title; }, /Missing required property: title' on property fonts/],
    ['title font too small', (t) => { t.fonts.title.size = 74; }, /on property fonts\.title\.size/],
    ['unknown font', (t) => { t.fonts.caption = { bold: true, size: 80 }; }, /Additional properties not allowed: caption/],
    ['plain http logo', (t) => { t.widget.logo_url = 'http://cdn.example.com/logo.png'; }, /must match pattern .* on property widget\.logo_url/],
    ['script logo', (t) => { t.widget.logo_url = 'javascript:alert(1)'; }, /on property widget\.logo_url/],
    ['named color', (t) => { t.colors.error = 'red'; }, /on property colors\.error/],
    ['missing section', (t) => { delete t.widget; }, /Missing required property: widget/],
    ['markup in the name', (t) => { t.displayName = '<b>Acme</b>'; }, /on property displayName/],
  ];
  for (const [what, spoil, message] of bad) {
    const body: any = theme();
    spoil(body);
    assertError(await s.api('POST', '/branding/themes', { body }), 400, message, 'invalid_body');
  }
  // Valid URL forms the same patterns accept.
  const ok: any = theme();
  ok.fonts.font_url = 'https://fonts.example.com/inter.woff2?v=2#x';
  ok.page_background.background_image_url = 'https://[2001:db8::1]/bg.png';
  const r = await s.api('POST', '/branding/themes', { body: ok });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assertError(await s.api('PATCH', `/branding/themes/${r.body.themeId}`, { body: { displayName: 'only a name' } }), 400, /Missing required property/, 'invalid_body');
  await mc.branding.themes.delete(r.body.themeId);
});

// --- screen rendering -----------------------------------------------------------

const STANDARD = { rendering_mode: 'standard', context_configuration: [], default_head_tags_disabled: false, use_page_template: false, head_tags: [] };

test('screen rendering: Auth0\'s defaults until configured, PATCH changes only what it sends', async () => {
  const tenant = (await s.runtime.env.store.getTenant())!.name;
  const fresh: any = await mc.prompts.rendering.get('signup-id', 'signup-id');
  assert.deepEqual(fresh, { tenant, prompt: 'signup-id', screen: 'signup-id', ...STANDARD });

  const head_tags = [{ tag: 'script', attributes: { src: 'https://cdn.example.com/acul.js', defer: true } }];
  const patched: any = await mc.prompts.rendering.update('login-id', 'login-id', {
    rendering_mode: 'advanced', context_configuration: ['branding.settings', 'user.app_metadata.plan'], head_tags,
  });
  assert.deepEqual(patched, { ...STANDARD, rendering_mode: 'advanced', context_configuration: ['branding.settings', 'user.app_metadata.plan'], head_tags });
  await mc.prompts.rendering.update('login-id', 'login-id', { use_page_template: true });
  const read: any = await mc.prompts.rendering.get('login-id', 'login-id');
  assert.deepEqual(read, { tenant, prompt: 'login-id', screen: 'login-id', ...patched, use_page_template: true });
  // null puts a setting back to its default.
  await mc.prompts.rendering.update('login-id', 'login-id', { head_tags: null });
  assert.deepEqual((await mc.prompts.rendering.get('login-id', 'login-id') as any).head_tags, []);
  // Another screen of the same prompt is untouched.
  assert.equal((await mc.prompts.rendering.get('login-id', 'login-password') as any).rendering_mode, 'standard');
});

test('screen rendering: unknown names are 404, wrong settings 400', async () => {
  assertError(await s.api('GET', '/prompts/login/screen/no-such-screen/rendering'), 404, 'The screen does not exist.', 'inexistent_resource');
  assertError(await s.api('GET', '/prompts/no-such-prompt/screen/login/rendering'), 404, 'The prompt does not exist.', 'inexistent_resource');
  assertError(await s.api('PATCH', '/prompts/login/screen/no-such-screen/rendering', { body: { rendering_mode: 'advanced' } }), 404, 'The screen does not exist.');
  const bad: [unknown, RegExp][] = [
    [{ rendering_mode: 'fancy' }, /on property rendering_mode/],
    [{ context_configuration: ['tenant.secret'] }, /on property context_configuration\.0/],
    [{ head_tags: [{ tag: 'script', attributes: Object.fromEntries([...Array(11)].map((_, i) => [`a${i}`, 'x'])) }] }, /on property head_tags\.0\.attributes/],
    [{ filters: { match_type: 'sometimes' } }, /on property filters\.match_type/],
    [{ colour: 'red' }, /Additional properties not allowed: colour/],
  ];
  for (const [body, message] of bad) assertError(await s.api('PATCH', '/prompts/login/screen/login/rendering', { body }), 400, message, 'invalid_body');
  assert.equal((await s.api('GET', '/prompts/login/screen/login/rendering')).body.rendering_mode, 'standard', 'nothing refused was stored');
});

test('screen rendering: the bulk PATCH and the list, with its filters, paging and fields', async () => {
  const bulk: any = await mc.prompts.rendering.bulkUpdate({
    configs: [
      { prompt: 'signup', screen: 'signup', rendering_mode: 'advanced', context_configuration: ['tenant.name'] },
      { prompt: 'mfa-otp', screen: 'mfa-otp-challenge', rendering_mode: 'advanced', filters: { match_type: 'includes_any', clients: [{ id: 'abc' }] } },
      { prompt: 'reset-password', screen: 'reset-password-request', use_page_template: true },
    ],
  });
  assert.deepEqual(bulk.configs.map((c: any) => [c.prompt, c.screen, c.rendering_mode]), [
    ['signup', 'signup', 'advanced'], ['mfa-otp', 'mfa-otp-challenge', 'advanced'], ['reset-password', 'reset-password-request', 'standard'],
  ]);
  assert.deepEqual((await mc.prompts.rendering.get('mfa-otp', 'mfa-otp-challenge') as any).filters, { match_type: 'includes_any', clients: [{ id: 'abc' }] });

  // The list holds the configured screens (including login-id from the test above), by prompt and screen.
  const all = (await s.api('GET', '/prompts/rendering')).body;
  const keys = all.map((c: any) => `${c.prompt}/${c.screen}`);
  assert.deepEqual(keys, ['login-id/login-id', 'mfa-otp/mfa-otp-challenge', 'reset-password/reset-password-request', 'signup/signup']);
  const tenant = (await s.runtime.env.store.getTenant())!.name;
  assert.ok(all.every((c: any) => c.tenant === tenant && c.default_head_tags_disabled === false));

  const advanced = (await s.api('GET', '/prompts/rendering?rendering_mode=advanced')).body.map((c: any) => c.screen);
  assert.deepEqual(advanced, ['login-id', 'mfa-otp-challenge', 'signup']);
  assert.deepEqual((await s.api('GET', '/prompts/rendering?prompt=signup')).body.map((c: any) => c.screen), ['signup']);
  assert.deepEqual((await s.api('GET', '/prompts/rendering?screen=reset-password-request&rendering_mode=advanced')).body, []);

  const paged = (await s.api('GET', '/prompts/rendering?page=1&per_page=2&include_totals=true&fields=prompt,screen')).body;
  assert.deepEqual(paged, { start: 2, limit: 2, total: 4, configs: [{ prompt: 'reset-password', screen: 'reset-password-request' }, { prompt: 'signup', screen: 'signup' }] });
  const excluded = (await s.api('GET', '/prompts/rendering?per_page=1&fields=tenant,head_tags,filters,context_configuration&include_fields=false')).body;
  assert.deepEqual(excluded, [{ prompt: 'login-id', screen: 'login-id', rendering_mode: 'advanced', default_head_tags_disabled: false, use_page_template: true }]);

  // Through the SDK's pager.
  const page = await mc.prompts.rendering.list({ per_page: 3, include_totals: true });
  assert.deepEqual(page.data.map((c: any) => c.screen), ['login-id', 'mfa-otp-challenge', 'reset-password-request']);

  assertError(await s.api('GET', '/prompts/rendering?rendering_mode=fancy'), 400, /Query validation error/, 'invalid_query_string');
  assertError(await s.api('GET', '/prompts/rendering?per_page=101'), 400, /Query validation error/, 'invalid_query_string');
  assertError(await s.api('PATCH', '/prompts/rendering', { body: { configs: [] } }), 400, /on property configs/, 'invalid_body');
  assertError(await s.api('PATCH', '/prompts/rendering', { body: { configs: [{ prompt: 'login', screen: 'nope', rendering_mode: 'advanced' }] } }), 400, /on property configs\.0\.screen/, 'invalid_body');
  assertError(await s.api('PATCH', '/prompts/rendering', { body: { configs: [{ screen: 'login' }] } }), 400, /Missing required property: prompt/, 'invalid_body');
  assert.equal((await s.api('GET', '/prompts/rendering')).body.length, 4, 'refused bulk writes stored nothing');
});

// --- Guardian settings ----------------------------------------------------------

test('Guardian settings: Auth0\'s defaults, with read:tenant_settings', async () => {
  const expected = { display_remember_me_checkbox: true, remember_me_default_value: false, mfa_session_inactivity_timeout: 604800, mfa_session_overall_timeout: 2592000 };
  assert.deepEqual(await mc.guardian.get(), expected);
  assert.deepEqual((await s.api('GET', '/guardian/settings', { token: await s.token('read:tenant_settings') })).body, expected);
  assertError(await s.api('GET', '/guardian/settings', { token: await s.token('read:guardian_factors') }), 403, /read:tenant_settings/, 'insufficient_scope');
  // The PUT has no scope in Auth0's op table, so it is not served.
  const put = await s.api('PUT', '/guardian/settings', { body: { ...expected, remember_me_default_value: true } });
  assert.equal(put.status, 404);
  assert.deepEqual(put.body, { statusCode: 404, error: 'Not Found', message: 'Not Found' });
  assert.equal((await mc.guardian.get()).remember_me_default_value, false);
});

// --- job errors -----------------------------------------------------------------

test('job errors: 204 for a job that went well, the failed job itself otherwise, 404 for an unknown job', async () => {
  const user = await createUser(s, 'jobs@example.com', 'Jobs-pw-123!');
  const done: any = await mc.jobs.verificationEmail.create({ user_id: user.user_id });
  assert.equal(done.status, 'completed');
  const none = await s.api('GET', `/jobs/${done.id}/errors`);
  assert.equal(none.status, 204);
  assert.equal(none.body, undefined);
  assert.equal(await mc.jobs.errors.get(done.id), undefined);

  // An SMTP server that refuses connections makes the next job fail.
  const closed = await new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => { const { port } = srv.address() as any; srv.close(() => resolve(port)); });
  });
  const provider = await s.api('POST', '/emails/provider', { body: { name: 'smtp', credentials: { smtp_host: '127.0.0.1', smtp_port: closed } } });
  assert.equal(provider.status, 201, JSON.stringify(provider.body));
  try {
    const failed = await s.api('POST', '/jobs/verification-email', { body: { user_id: user.user_id } });
    assert.equal(failed.body.status, 'failed', JSON.stringify(failed.body));
    const errors = await s.api('GET', `/jobs/${failed.body.id}/errors`);
    assert.equal(errors.status, 200);
    assert.deepEqual(errors.body, {
      id: failed.body.id, type: 'verification_email', status: 'failed', created_at: failed.body.created_at,
      status_details: 'The verification email could not be sent.',
    });
    assert.deepEqual(await mc.jobs.errors.get(failed.body.id), errors.body);
  } finally {
    assert.equal((await s.api('DELETE', '/emails/provider')).status, 204);
  }

  assertError(await s.api('GET', '/jobs/job_doesnotexist0000/errors'), 404, 'The job does not exist.', 'inexistent_job');
  await assert.rejects(mc.jobs.errors.get('job_doesnotexist0000'), refused(404));
  assertError(await s.api('GET', `/jobs/${done.id}/errors`, { token: await s.token('read:logs') }), 403, /create:users,read:users/, 'insufficient_scope');
});

// --- connection status ----------------------------------------------------------

test('connection status: 200 for connections Postern logs in through, 404 for others and unknown ids', async () => {
  const db = (await s.api('GET', '/connections?name=Username-Password-Authentication')).body[0];
  const ok = await s.api('GET', `/connections/${db.id}/status`);
  assert.equal(ok.status, 200);
  assert.equal(ok.body, undefined, 'no body, as the spec says');
  await mc.connections.checkStatus(db.id);

  const oidc = await s.api('POST', '/connections', {
    body: {
      strategy: 'oidc', name: 'acme-oidc', options: {
        type: 'back_channel', client_id: 'x', client_secret: 'y', issuer: 'https://idp.example.com',
        authorization_endpoint: 'https://idp.example.com/authorize', token_endpoint: 'https://idp.example.com/token', jwks_uri: 'https://idp.example.com/jwks',
      },
    },
  });
  assert.equal(oidc.status, 201, JSON.stringify(oidc.body));
  assert.equal((await s.api('GET', `/connections/${oidc.body.id}/status`)).status, 200);

  // An AD/LDAP connection needs a connector, which Postern does not have.
  const ad = await s.api('POST', '/connections', { body: { strategy: 'ad', name: 'corp-ad' } });
  assert.equal(ad.status, 201, JSON.stringify(ad.body));
  assertError(await s.api('GET', `/connections/${ad.body.id}/status`), 404, /offline.*\bad strategy/, 'connection_offline');
  await assert.rejects(mc.connections.checkStatus(ad.body.id), refused(404));

  assertError(await s.api('GET', '/connections/con_doesnotexist0000/status'), 404, 'The connection does not exist', 'inexistent_connection');
});

// --- connected accounts ---------------------------------------------------------

test('connected accounts: an empty checkpoint-paged list for a known user, 404 for an unknown one', async () => {
  const user = await createUser(s, 'vault@example.com', 'Vault-pw-123!');
  const path = `/users/${encodeURIComponent(user.user_id)}/connected-accounts`;
  assert.deepEqual((await s.api('GET', path)).body, { connected_accounts: [] });
  assert.deepEqual((await s.api('GET', `${path}?take=5`)).body, { connected_accounts: [] });
  const page = await mc.users.connectedAccounts.list(user.user_id);
  assert.deepEqual(page.data, []);
  assertError(await s.api('GET', `${path}?take=0`), 400, /Query validation error/, 'invalid_query_string');
  assertError(await s.api('GET', `${path}?from=forged`), 400, "Query validation error: 'from' is not a valid checkpoint.", 'invalid_query_string');
  assertError(await s.api('GET', '/users/auth0%7Cnobody/connected-accounts'), 404, 'The user does not exist.', 'inexistent_user');
});
