import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, type TestServer } from './helpers/server.ts';
import { createApp, createUser, scriptedLogin } from './helpers/login-flow.ts';

// A security-posture scanner (Rezonate) as its setup guide describes it: a
// machine-to-machine application granted exactly the ~40 read scopes the guide
// lists, reading the tenant. Every read those scopes open is called; each must
// answer from the tenant's real state (what this test configured), and the
// ones Postern does not serve yet are named below, so the list only shrinks.

const REZONATE_SCOPES = `read:users read:client_grants read:users_app_metadata read:clients read:connections read:resource_servers
read:rules read:rules_configs read:hooks read:actions read:email_provider read:stats read:insights read:tenant_settings read:logs
read:logs_users read:shields read:anomaly_blocks read:triggers read:guardian_enrollments read:custom_domains read:email_templates
read:mfa_policies read:roles read:prompts read:branding read:entitlements read:organizations_summary read:authentication_methods
read:organizations read:organization_members read:organization_connections read:organization_member_roles
read:organization_invitations read:scim_config read:phone_providers read:sessions read:self_service_profiles read:forms read:flows`.split(/\s+/);

/** Reads the scopes open that Postern does not serve yet (each answers 404 for any token). */
const NOT_SERVED = new Set<string>([]);

const ops = readFileSync(join(import.meta.dirname, '..', 'data', 'auth0', 'management-ops.tsv'), 'utf8').trim().split('\n').slice(1)
  .map((l) => { const [method, path, , scopes, , lifecycle] = l.split('\t'); return { method, path, scopes: scopes.split(/\s+/), lifecycle }; })
  .filter((o) => o.method === 'GET' && ['GA', 'EA'].includes(o.lifecycle) && o.scopes.some((sc) => REZONATE_SCOPES.includes(sc)));

/** The tenant's Universal Login theme, as the no-code editor saves one. */
const THEME = {
  displayName: 'Acme',
  borders: { button_border_radius: 3, button_border_weight: 1, buttons_style: 'rounded', input_border_radius: 3, input_border_weight: 1, inputs_style: 'rounded', show_widget_shadow: true, widget_border_weight: 0, widget_corner_radius: 5 },
  colors: {
    body_text: '#1e212a', error: '#d03c38', header: '#1e212a', icons: '#65676e', input_background: '#ffffff', input_border: '#c9cace', input_filled_text: '#000000',
    input_labels_placeholders: '#65676e', links_focused_components: '#635dff', primary_button: '#635dff', primary_button_label: '#ffffff',
    secondary_button_border: '#c9cace', secondary_button_label: '#1e212a', success: '#13a688', widget_background: '#ffffff', widget_border: '#c9cace',
  },
  fonts: {
    body_text: { bold: false, size: 87.5 }, buttons_text: { bold: false, size: 100 }, font_url: '', input_labels: { bold: false, size: 100 }, links: { bold: true, size: 87.5 },
    links_style: 'normal', reference_text_size: 16, subtitle: { bold: false, size: 87.5 }, title: { bold: false, size: 150 },
  },
  page_background: { background_color: '#000000', background_image_url: '', page_layout: 'center' },
  widget: { header_text_alignment: 'center', logo_height: 52, logo_position: 'center', logo_url: 'https://payroll.example.com/logo.png', social_buttons_layout: 'bottom' },
};

let s: TestServer;
let scanner: string;
const ids: Record<string, string> = {};

before(async () => {
  s = await startServer();
  const api = (method: string, path: string, body?: unknown) => s.api(method, path, { body }).then((r) => {
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  });
  // The tenant the scanner will find.
  const app = await createApp(s, { name: 'Payroll', app_type: 'regular_web', callbacks: ['https://payroll.example.com/cb'], initiate_login_uri: 'https://payroll.example.com/login', grant_types: ['authorization_code'] });
  ids.client = app.client_id;
  const user = await createUser(s, 'eve@example.com', 'Eve-pw-123!', { app_metadata: { plan: 'gold' } });
  ids.user = user.user_id;
  const rs = await api('POST', '/resource-servers', { name: 'Payroll API', identifier: 'https://payroll.example.com/api', scopes: [{ value: 'read:salaries', description: 'r' }] });
  ids.resourceServer = rs.id;
  ids.clientGrant = (await api('POST', '/client-grants', { client_id: app.client_id, audience: rs.identifier, scope: ['read:salaries'] })).id;
  ids.role = (await api('POST', '/roles', { name: 'payroll-admin', description: 'pays' })).id;
  await api('POST', `/roles/${ids.role}/permissions`, { permissions: [{ resource_server_identifier: rs.identifier, permission_name: 'read:salaries' }] });
  await api('POST', `/users/${encodeURIComponent(ids.user)}/roles`, { roles: [ids.role] });
  ids.org = (await api('POST', '/organizations', { name: 'acme', display_name: 'Acme' })).id;
  ids.connection = (await api('GET', '/connections?name=Username-Password-Authentication'))[0].id;
  await api('POST', `/organizations/${ids.org}/enabled_connections`, { connection_id: ids.connection });
  // An Okta Workforce connection that Okta provisions by SCIM.
  ids.oktaConnection = (await api('POST', '/connections', {
    strategy: 'okta', name: 'acme-okta', options: {
      client_id: 'x', client_secret: 'y', domain: 'acme.okta.com',
      oidc_metadata: {
        issuer: 'https://acme.okta.com', authorization_endpoint: 'https://acme.okta.com/oauth2/v1/authorize', token_endpoint: 'https://acme.okta.com/oauth2/v1/token',
        jwks_uri: 'https://acme.okta.com/oauth2/v1/keys', id_token_signing_alg_values_supported: ['RS256'],
      },
    },
  })).id;
  await api('POST', `/connections/${ids.oktaConnection}/scim-configuration`, {});
  await api('POST', `/organizations/${ids.org}/members`, { members: [ids.user] });
  await api('POST', `/organizations/${ids.org}/members/${encodeURIComponent(ids.user)}/roles`, { roles: [ids.role] });
  ids.invitation = (await api('POST', `/organizations/${ids.org}/invitations`, { inviter: { name: 'Admin' }, invitee: { email: 'new@example.com' }, client_id: app.client_id })).id;
  await api('PUT', `/organizations/${ids.org}/organization-templates/orgtmpl_acme`);
  // A published actions module, used by a deployed action.
  ids.module = (await api('POST', '/actions/modules', { name: 'geo-lookup', code: 'module.exports = { country: () => "FR" };', publish: true })).id;
  ids.moduleVersion = (await api('GET', `/actions/modules/${ids.module}/versions`)).versions[0].id;
  await api('POST', '/actions/actions', {
    name: 'geo-block', supported_triggers: [{ id: 'post-login', version: 'v3' }], code: 'exports.onExecutePostLogin = async () => {};',
    modules: [{ module_id: ids.module }], deploy: true,
  });
  ids.rule = (await api('POST', '/rules', { name: 'deny-contractors', script: 'function (u, c, cb) { cb(null, u, c); }' })).id;
  await api('PUT', '/rules-configs/SLACK_HOOK', { value: 'https://hooks.example.com/secret-path' });
  ids.hook = (await api('POST', '/hooks', { name: 'pre-reg', script: 'module.exports = () => {}', triggerId: 'pre-user-registration' })).id;
  ids.customDomain = (await api('POST', '/custom-domains', { domain: 'login.example.com', type: 'auth0_managed_certs' })).custom_domain_id;
  await api('PATCH', '/tenants/settings', { friendly_name: 'Acme Corp', session_lifetime: 12 });
  await api('PATCH', '/attack-protection/brute-force-protection', { max_attempts: 5 });
  await api('PATCH', '/attack-protection/breached-password-detection', { enabled: true, shields: ['block'] });
  await api('PUT', '/guardian/policies', ['all-applications']);
  await api('PATCH', '/prompts', { identifier_first: true });
  await api('PUT', '/prompts/login/custom-text/en', { login: { title: 'Welcome to Acme' } });
  await api('PATCH', '/branding', { colors: { primary: '#123456' } });
  await api('PUT', '/branding/templates/universal-login', { template: '<html><head>{%- auth0:head -%}</head><body>{%- auth0:widget -%}</body></html>' });
  // A verification email job, sent before the SMTP provider below exists, so through the outbox.
  ids.job = (await api('POST', '/jobs/verification-email', { user_id: ids.user })).id;
  ids.theme = (await api('POST', '/branding/themes', THEME)).themeId;
  await api('PATCH', '/prompts/login/screen/login/rendering', { rendering_mode: 'advanced', context_configuration: ['branding.themes.default'] });
  await api('POST', '/emails/provider', { name: 'smtp', credentials: { smtp_host: 'smtp.example.com', smtp_port: 587, smtp_user: 'u', smtp_pass: 'p' } });
  // A real login, so there are sessions and log events to read.
  const u = new URL(`${s.baseUrl}/authorize`);
  u.search = new URLSearchParams({ client_id: app.client_id, response_type: 'code', redirect_uri: 'https://payroll.example.com/cb', scope: 'openid', state: 'x' }).toString();
  assert.match((await scriptedLogin(s, u.toString(), 'eve@example.com', 'Eve-pw-123!')).url, /code=/);
  ids.session = (await api('GET', `/users/${encodeURIComponent(ids.user)}/sessions`)).sessions[0].id;

  // The scanner's application, set up as the guide says: the Management API with exactly these permissions.
  const m2m = await api('POST', '/clients', { name: 'Rezonate', app_type: 'non_interactive', grant_types: ['client_credentials'] });
  await api('POST', '/client-grants', { client_id: m2m.client_id, audience: s.audience, scope: REZONATE_SCOPES });
  const r = await fetch(`${s.baseUrl}/oauth/token`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'client_credentials', client_id: m2m.client_id, client_secret: m2m.client_secret, audience: s.audience }),
  });
  const tok = await r.json() as any;
  assert.deepEqual(tok.scope.split(' ').sort(), [...REZONATE_SCOPES].sort());
  scanner = tok.access_token;
});
after(async () => { await s?.close(); });

const read = (path: string) => s.api('GET', path, { token: scanner });

/** A concrete URL for a spec path, from what the tenant holds. */
function concrete(path: string): string {
  const enc = encodeURIComponent;
  const byName: Record<string, string> = {
    // Before '/connections/{id}', which would otherwise claim these paths.
    '/connections/{id}/scim-configuration': ids.oktaConnection,
    '/users/{id}': ids.user, '/roles/{id}': ids.role, '/organizations/{id}': ids.org, '/clients/{id}': ids.client,
    '/connections/{id}': ids.connection, '/client-grants/{id}': ids.clientGrant, '/resource-servers/{id}': ids.resourceServer,
    '/rules/{id}': ids.rule, '/hooks/{id}': ids.hook, '/custom-domains/{id}': ids.customDomain, '/sessions/{id}': ids.session,
    '/user-blocks/{id}': ids.user, '/users/{user_id}': ids.user, '/jobs/{id}': ids.job, '/branding/themes/{themeId}': ids.theme,
    '/actions/modules/{id}': ids.module, '/organizations/{organization_id}': ids.org,
  };
  let out = path;
  for (const [prefix, id] of Object.entries(byName)) if (out.startsWith(prefix)) out = out.replace(prefix, prefix.replace(/\{\w+\}/, enc(id)));
  if (path === '/user-blocks') return '/user-blocks?identifier=eve%40example.com';
  if (path === '/users-by-email') return '/users-by-email?email=eve%40example.com';
  return out
    .replace('{name}', 'acme').replace('{user_id}', enc(ids.user)).replace('{invitation_id}', ids.invitation)
    .replace('{connection_id}', ids.connection).replace('{connectionId}', ids.connection).replace('{prompt}', 'login').replace('{screen}', 'login').replace('{language}', 'en')
    .replace('{templateName}', 'verify_email').replace('{triggerId}', 'post-login').replace('{versionId}', ids.moduleVersion).replace('{role_id}', ids.role)
    .replace(/\{\w+\}/g, 'does-not-exist');
}

test('every read the scanner\'s scopes open is served, except the ones named as not served yet', async () => {
  const lacking = await s.token('delete:rules'); // a scope none of these reads accepts
  const served: string[] = [];
  const missing: string[] = [];
  for (const op of ops) {
    // Auth0 checks the scope first, so an implemented route answers 403 to a token without it.
    const r = await s.api('GET', concrete(op.path), { token: lacking });
    (r.status === 403 ? served : missing).push(op.path);
  }
  assert.deepEqual(missing.sort(), [...NOT_SERVED].sort());
  assert.ok(served.length >= 70, `${served.length} served`);
});

test('with exactly its scopes, the scanner gets an answer from every served read, never a 403 or a 5xx', async () => {
  const failures: string[] = [];
  for (const op of ops.filter((o) => !NOT_SERVED.has(o.path))) {
    const r = await read(concrete(op.path));
    // A job that went well has no errors, and Auth0 answers its errors with 204 and no body.
    const fine = r.status === 200 || (r.status === 204 && op.path === '/jobs/{id}/errors')
      || (r.status === 404 && concrete(op.path).includes('does-not-exist'))
      || (r.status === 404 && op.path === '/email-templates/{templateName}');
    if (!fine) failures.push(`${op.path} → ${r.status} ${JSON.stringify(r.body).slice(0, 120)}`);
  }
  assert.deepEqual(failures, []);
});

test('what it reads is the tenant as configured', async () => {
  const body = async (path: string) => { const r = await read(path); assert.equal(r.status, 200, `${path}: ${JSON.stringify(r.body)}`); return r.body; };
  assert.equal((await body('/tenants/settings')).friendly_name, 'Acme Corp');
  // Attack protection needs read:attack_protection, which the guide does not list: Auth0 refuses it to the scanner too.
  assert.equal((await read('/attack-protection/brute-force-protection')).status, 403);
  assert.deepEqual(await body('/guardian/policies'), ['all-applications']);
  assert.equal((await body('/prompts')).identifier_first, true);
  assert.equal((await body('/prompts/login/custom-text/en')).login.title, 'Welcome to Acme');
  assert.equal((await body('/branding')).colors.primary, '#123456');
  const provider = await body('/emails/provider');
  assert.equal(provider.credentials.smtp_host, 'smtp.example.com');
  assert.equal(provider.credentials.smtp_pass, undefined, 'no secret reaches a scanner');
  assert.deepEqual((await body('/rules')).map((r: any) => r.name), ['deny-contractors']);
  assert.deepEqual(await body('/rules-configs'), [{ key: 'SLACK_HOOK' }]);
  assert.deepEqual((await body('/hooks')).map((h: any) => h.triggerId), ['pre-user-registration']);
  assert.equal((await body(`/custom-domains/${ids.customDomain}`)).status, 'pending_verification');
  const users = await body('/users');
  assert.deepEqual(users.map((u: any) => [u.email, u.app_metadata?.plan, u.logins_count]), [['eve@example.com', 'gold', 1]]);
  assert.deepEqual((await body(`/users/${encodeURIComponent(ids.user)}/roles`)).map((r: any) => r.name), ['payroll-admin']);
  assert.deepEqual((await body(`/roles/${ids.role}/permissions`)).map((p: any) => p.permission_name), ['read:salaries']);
  assert.deepEqual((await body(`/organizations/${ids.org}/members`)).map((m: any) => m.user_id), [ids.user]);
  assert.deepEqual((await body(`/organizations/${ids.org}/members/${encodeURIComponent(ids.user)}/roles`)).map((r: any) => r.name), ['payroll-admin']);
  assert.deepEqual((await body(`/organizations/${ids.org}/invitations`)).map((i: any) => i.invitee.email), ['new@example.com']);
  assert.deepEqual((await body(`/organizations/${ids.org}/connections`)).map((c: any) => [c.connection.name, c.is_enabled]), [['Username-Password-Authentication', true]]);
  assert.deepEqual(await body(`/organizations/${ids.org}/organization-templates`), { id: 'orgtmpl_acme' });
  assert.deepEqual((await body(`/organizations/${ids.org}/roles/${ids.role}/members`)).members.map((m: any) => m.user_id), [ids.user]);
  assert.deepEqual(await body(`/organizations/${ids.org}/roles/${ids.role}/groups`), { groups: [] });
  const module = await body(`/actions/modules/${ids.module}`);
  assert.deepEqual([module.name, module.latest_version_number, module.actions_using_module_total], ['geo-lookup', 1, 1]);
  assert.deepEqual((await body(`/actions/modules/${ids.module}/actions`)).actions.map((a: any) => [a.action_name, a.module_version_number]), [['geo-block', 1]]);
  assert.equal((await body(`/actions/modules/${ids.module}/versions/${ids.moduleVersion}`)).code, 'module.exports = { country: () => "FR" };');
  assert.ok((await body('/clients')).some((c: any) => c.name === 'Payroll'));
  assert.deepEqual((await body(`/clients/${ids.client}/connections`)).connections.map((c: any) => c.name), ['Username-Password-Authentication']);
  assert.match((await body('/branding/templates/universal-login')).body ?? '', /auth0:widget/);
  assert.deepEqual(await body('/branding/themes/default'), { ...THEME, themeId: ids.theme });
  assert.deepEqual((await body('/prompts/rendering')).map((c: any) => [c.prompt, c.screen, c.rendering_mode, c.context_configuration]),
    [['login', 'login', 'advanced', ['branding.themes.default']]]);
  assert.equal((await body(`/jobs/${ids.job}`)).status, 'completed');
  assert.equal((await body('/guardian/settings')).display_remember_me_checkbox, true);
  assert.deepEqual(await body(`/users/${encodeURIComponent(ids.user)}/connected-accounts`), { connected_accounts: [] });
  assert.deepEqual((await body(`/client-grants?client_id=${ids.client}`)).map((g: any) => g.scope), [['read:salaries']]);
  const logs = await body('/logs?q=type:s');
  assert.deepEqual(logs.map((l: any) => [l.user_id, l.client_name]), [[ids.user, 'Payroll']]);
  assert.equal(await body('/stats/active-users'), 1);
  assert.deepEqual((await body('/connections-scim-configurations')).scim_configurations.map((c: any) => [c.connection_name, c.user_id_attribute]), [['acme-okta', 'externalId']]);
  assert.deepEqual((await body(`/users/${encodeURIComponent(ids.user)}/sessions`)).sessions.map((x: any) => x.id), [ids.session]);
});
