import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ManagementClient } from 'auth0';
import { startServer, type TestServer } from './helpers/server.ts';
import { collect as all, managementClient } from './helpers/sdk.ts';
import { assertError } from './helpers/assert.ts';

// The early-access profile resources Terraform manages: rate limit policies,
// custom token exchange profiles, user attribute profiles (with Auth0's
// built-in template), and verification templates for verifiable credentials.
// Through the official SDK where it has the method, plain fetch otherwise.

let s: TestServer;
let mc: ManagementClient;
before(async () => { s = await startServer(); mc = managementClient(s); });
after(async () => { await s?.close(); });

const doc = (name: string) => s.runtime.env.store.getTenantDoc<any>(name);
let n = 0;
const uniq = (prefix: string) => `${prefix}-${++n}-${Math.random().toString(36).slice(2, 8)}`;

// --- rate limit policies -----------------------------------------------------------

test('rate limit policies: create, read, patch, filter, page and delete; one per resource, consumer and selector (409)', async () => {
  const body = { resource: 'oauth_authentication_api', consumer: 'client', consumer_selector: 'default', configuration: { action: 'block', limit: 100 } } as const;
  const p: any = await mc.rateLimitPolicies.create(body as any);
  assert.match(p.id, /^rlp_[A-Za-z0-9]{21}$/);
  assert.deepEqual({ ...p, created_at: 0, updated_at: 0 }, { id: p.id, ...body, created_at: 0, updated_at: 0 });
  assert.deepEqual(await mc.rateLimitPolicies.get(p.id), p);
  assertError(await s.api('POST', '/rate-limit-policies', { body }), 409, /already exists/);

  const up: any = await mc.rateLimitPolicies.update(p.id, { configuration: { action: 'redirect', limit: 500, redirect_uri: 'https://example.com/limited' } } as any);
  assert.deepEqual(up.configuration, { action: 'redirect', limit: 500, redirect_uri: 'https://example.com/limited' });
  assert.deepEqual([up.resource, up.consumer_selector, up.created_at], [p.resource, p.consumer_selector, p.created_at]);

  const client = (await s.api('POST', '/clients', { body: { name: 'limited app' } })).body.client_id;
  const forClient: any = await mc.rateLimitPolicies.create({ ...body, consumer_selector: client, configuration: { action: 'allow' } } as any);
  assert.deepEqual((await s.api('GET', `/rate-limit-policies?consumer_selector=${client}`)).body.rate_limit_policies.map((x: any) => x.id), [forClient.id]);
  const page = await s.api('GET', '/rate-limit-policies?take=1');
  assert.equal(page.body.rate_limit_policies.length, 1);
  assert.deepEqual((await all(await mc.rateLimitPolicies.list({ take: 1 } as any))).map((x: any) => x.id), [p.id, forClient.id]);

  await mc.rateLimitPolicies.delete(p.id);
  assertError(await s.api('GET', `/rate-limit-policies/${p.id}`), 404, 'The rate limit policy does not exist.');
  assertError(await s.api('DELETE', `/rate-limit-policies/${p.id}`), 404);
  assertError(await s.api('PATCH', `/rate-limit-policies/${p.id}`, { body: { configuration: { action: 'allow' } } }), 404);
});

test('rate limit policies: bad input is 400 and stores nothing', async () => {
  const count = (await doc('rate-limit-policies'))?.items.length ?? 0;
  const base = { resource: 'oauth_authentication_api', consumer: 'client', consumer_selector: 'default' };
  for (const body of [
    { ...base, configuration: { action: 'redirect', limit: 5 } }, // no redirect_uri
    { ...base, configuration: { action: 'redirect', limit: 5, redirect_uri: 'http://insecure.example.com' } },
    { ...base, configuration: { action: 'block', limit: 10001 } },
    { ...base, configuration: { action: 'allow', limit: 5 } },
    { ...base, resource: 'management_api', configuration: { action: 'allow' } },
    { ...base, consumer_selector: 'no-such-client', configuration: { action: 'allow' } },
  ]) assertError(await s.api('POST', '/rate-limit-policies', { body }), 400, /validation error/, 'invalid_body');
  assert.equal((await doc('rate-limit-policies'))?.items.length ?? 0, count);
});

// --- token exchange profiles -------------------------------------------------------------

async function cteAction(triggers = [{ id: 'custom-token-exchange', version: 'v1' }]) {
  return (await mc.actions.create({ name: uniq('cte'), supported_triggers: triggers, code: 'exports.onExecuteCustomTokenExchange = async () => {};' } as any)) as any;
}

test('token exchange profiles: create, read, list, update and delete, as Auth0 answers them', async () => {
  const action = await cteAction();
  const p: any = await mc.tokenExchangeProfiles.create({ name: 'legacy tokens', subject_token_type: 'urn:acme:legacy-token', action_id: action.id, type: 'custom_authentication' });
  assert.match(p.id, /^tep_[A-Za-z0-9]{16}$/);
  assert.deepEqual({ ...p, created_at: 0, updated_at: 0 }, {
    id: p.id, name: 'legacy tokens', type: 'custom_authentication', subject_token_type: 'urn:acme:legacy-token', action_id: action.id, created_at: 0, updated_at: 0,
  });
  assert.deepEqual(await mc.tokenExchangeProfiles.get(p.id), p);
  assert.ok((await all(await mc.tokenExchangeProfiles.list())).some((x: any) => x.id === p.id));

  await mc.tokenExchangeProfiles.update(p.id, { name: 'renamed', subject_token_type: 'https://acme.example.com/cis-token' });
  const read: any = await mc.tokenExchangeProfiles.get(p.id);
  assert.deepEqual([read.name, read.subject_token_type, read.action_id, read.created_at], ['renamed', 'https://acme.example.com/cis-token', action.id, p.created_at]);

  await mc.tokenExchangeProfiles.delete(p.id);
  assertError(await s.api('GET', `/token-exchange-profiles/${p.id}`), 404, 'Token exchange profile not found.');
  assertError(await s.api('PATCH', `/token-exchange-profiles/${p.id}`, { body: { name: 'xyz' } }), 404);
  assertError(await s.api('DELETE', `/token-exchange-profiles/${p.id}`), 404);
});

test('token exchange profiles: subject token types are unique (409) and outside Auth0\'s reserved namespaces (400); the action must exist and fit', async () => {
  const action = await cteAction();
  const body = (subject_token_type: string, action_id = action.id) => ({ name: 'profile', subject_token_type, action_id, type: 'custom_authentication' });
  const a = await s.api('POST', '/token-exchange-profiles', { body: body('https://acme.example.com/one') });
  assert.equal(a.status, 201);
  assertError(await s.api('POST', '/token-exchange-profiles', { body: body('https://acme.example.com/one') }), 409, /same subject_token_type/);
  const race = await Promise.all([1, 2, 3].map(() => s.api('POST', '/token-exchange-profiles', { body: body('urn:acme:race') })));
  assert.deepEqual(race.map((r) => r.status).sort(), [201, 409, 409]);
  const b = await s.api('POST', '/token-exchange-profiles', { body: body('https://acme.example.com/two') });
  assertError(await s.api('PATCH', `/token-exchange-profiles/${b.body.id}`, { body: { subject_token_type: 'https://acme.example.com/one' } }), 409);

  const count = (await doc('token-exchange-profiles')).items.length;
  for (const reserved of ['https://auth0.com/token', 'http://auth0.com', 'https://okta.com/x', 'urn:ietf:params:oauth:token-type:jwt', 'URN:Auth0:x', 'urn:okta:y']) {
    assertError(await s.api('POST', '/token-exchange-profiles', { body: body(reserved) }), 400, /reserved namespace/);
  }
  assertError(await s.api('PATCH', `/token-exchange-profiles/${b.body.id}`, { body: { subject_token_type: 'urn:auth0:mine' } }), 400, /reserved/);
  // Lookalikes outside the namespaces are fine.
  assert.equal((await s.api('POST', '/token-exchange-profiles', { body: body('https://auth0.com.example.org/t') })).status, 201);
  assertError(await s.api('POST', '/token-exchange-profiles', { body: body('https://acme.example.com/3', 'no-such-action') }), 400, /does not exist/);
  const other = await cteAction([{ id: 'post-login', version: 'v3' }]);
  assertError(await s.api('POST', '/token-exchange-profiles', { body: body('https://acme.example.com/4', other.id) }), 400, /custom-token-exchange/);
  for (const bad of [{ ...body('not a uri') }, { ...body('https://a.example.com/5'), type: 'other' }, { ...body('https://a.example.com/6'), name: 'ab' }, { name: 'no type' }]) {
    assertError(await s.api('POST', '/token-exchange-profiles', { body: bad }), 400);
  }
  assertError(await s.api('PATCH', `/token-exchange-profiles/${b.body.id}`, { body: {} }), 400);
  assertError(await s.api('PATCH', `/token-exchange-profiles/${b.body.id}`, { body: { action_id: other.id } }), 400, /action_id/);
  assert.equal((await doc('token-exchange-profiles')).items.length, count + 1, 'only the lookalike was stored');
});

// --- user attribute profiles -------------------------------------------------------------

const EMAIL = { description: 'Email', label: 'Email', profile_required: true, auth0_mapping: 'email' };
const DEFAULT_USER_ID = {
  oidc_mapping: 'sub',
  saml_mapping: ['http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name'],
  scim_mapping: 'externalId',
};

test('user attribute profiles: Auth0\'s user id defaults, PATCH replaces user_id and user_attributes whole, names are unique', async () => {
  const p: any = await mc.userAttributeProfiles.create({ name: 'workforce', user_attributes: { email: EMAIL } } as any);
  assert.match(p.id, /^uap_[A-Za-z0-9]{22}$/);
  assert.deepEqual(p, { id: p.id, name: 'workforce', user_id: DEFAULT_USER_ID, user_attributes: { email: EMAIL } });
  assert.deepEqual(await mc.userAttributeProfiles.get(p.id), p);

  const given = { oidc_mapping: 'sub', saml_mapping: ['urn:oid:0.9.2342.19200300.100.1.1'], scim_mapping: 'userName' };
  const up: any = await mc.userAttributeProfiles.update(p.id, { user_id: given, user_attributes: { given_name: { ...EMAIL, auth0_mapping: 'given_name', label: 'First' } } } as any);
  assert.deepEqual(up.user_id, given);
  assert.deepEqual(Object.keys(up.user_attributes), ['given_name'], 'the attributes are replaced, not merged');
  // What a PATCH's user_id leaves out goes back to Auth0's default.
  assert.deepEqual((await mc.userAttributeProfiles.update(p.id, { user_id: { oidc_mapping: 'sub' } } as any) as any).user_id, DEFAULT_USER_ID);
  assert.deepEqual((await mc.userAttributeProfiles.update(p.id, { user_id: null } as any) as any).user_id, DEFAULT_USER_ID);
  assert.equal((await mc.userAttributeProfiles.get(p.id) as any).name, 'workforce');

  assertError(await s.api('POST', '/user-attribute-profiles', { body: { name: 'workforce', user_attributes: { email: EMAIL } } }), 409, /same name/);
  const other: any = await mc.userAttributeProfiles.create({ name: 'partners', user_attributes: { email: EMAIL } } as any);
  assertError(await s.api('PATCH', `/user-attribute-profiles/${other.id}`, { body: { name: 'workforce' } }), 409);
  const listed = await s.api('GET', '/user-attribute-profiles?take=1');
  assert.deepEqual(listed.body.user_attribute_profiles, [p.id === listed.body.user_attribute_profiles[0].id ? await mc.userAttributeProfiles.get(p.id) : listed.body.user_attribute_profiles[0]]);
  assert.equal(typeof listed.body.next, 'string');
  assert.deepEqual((await all(await mc.userAttributeProfiles.list({ take: 1 } as any))).map((x: any) => x.name), ['workforce', 'partners']);

  await mc.userAttributeProfiles.delete(other.id);
  assertError(await s.api('GET', `/user-attribute-profiles/${other.id}`), 404, 'The user attribute profile does not exist.');
});

test('user attribute profiles: bad attributes are 400; Auth0\'s built-in template is served and makes a valid profile', async () => {
  const count = (await doc('user-attribute-profiles'))?.items.length ?? 0;
  for (const body of [
    { name: 'x', user_attributes: {} },
    { name: 'x', user_attributes: { email: { label: 'Email', profile_required: true, auth0_mapping: 'email' } } }, // no description
    { name: 'x', user_attributes: { email: { ...EMAIL, oidc_mapping: {} } } },
    { name: 'x', user_attributes: { email: EMAIL }, user_id: { oidc_mapping: 'email' } },
    { name: '', user_attributes: { email: EMAIL } },
    { user_attributes: { email: EMAIL } },
  ]) assertError(await s.api('POST', '/user-attribute-profiles', { body }), 400, /validation error/);
  assert.equal((await doc('user-attribute-profiles'))?.items.length ?? 0, count);

  const templates: any = await mc.userAttributeProfiles.listTemplates();
  const expected = JSON.parse(readFileSync(new URL('../data/user-attribute-profile-templates.json', import.meta.url), 'utf8'));
  assert.deepEqual(templates, { user_attribute_profile_templates: expected });
  const generic: any = await mc.userAttributeProfiles.getTemplate('auth0-generic');
  assert.equal(generic.display_name, 'Auth0 Generic User Attribute Profile Template');
  assert.equal(generic.template.user_attributes.email.scim_mapping, 'emails[primary eq true].value');
  assertError(await s.api('GET', '/user-attribute-profiles/templates/nope'), 404, /template does not exist/);
  // A profile made from the template, as Auth0's setup scripts do.
  const made: any = await mc.userAttributeProfiles.create({ ...generic.template, name: uniq('from-template') });
  assert.deepEqual(made.user_attributes, generic.template.user_attributes);
  assert.deepEqual(made.user_id, generic.template.user_id);
});

// --- verifiable credential verification templates ----------------------------------------------

const MDL = { 'org.iso.18013.5.1.mDL': { 'org.iso.18013.5.1': { family_name: true, birth_date: true } } };
const vct = (name: string, extra: Record<string, unknown> = {}) =>
  ({ name, type: 'mdl', dialect: 'simplified/1.0', presentation: MDL, well_known_trusted_issuers: 'aamva', ...extra });

/** A real PEM certificate: the test run's local CA. */
function pemCertificate() {
  const pem = readFileSync(`${process.env.POSTERN_TEST_CA_DIR}/ca.pem`, 'utf8');
  assert.ok(new X509Certificate(pem).ca);
  return pem;
}

test('verification templates: create, read, list, patch and delete; names are unique; bad input is 400', async () => {
  const t: any = await mc.verifiableCredentials.verification.templates.create(vct('age check') as any);
  assert.match(t.id, /^vct_[A-Za-z0-9]{22}$/);
  assert.deepEqual({ ...t, created_at: 0, updated_at: 0 }, { id: t.id, ...vct('age check'), custom_certificate_authority: null, created_at: 0, updated_at: 0 });
  assert.deepEqual(await mc.verifiableCredentials.verification.templates.get(t.id), t);
  assertError(await s.api('POST', '/verifiable-credentials/verification/templates', { body: vct('age check') }), 409, /same name/);

  const up: any = await mc.verifiableCredentials.verification.templates.update(t.id, { name: 'age check v2', presentation: { 'org.iso.18013.5.1.mDL': { 'org.iso.18013.5.1': { age_in_years: true } } }, type: null } as any);
  assert.deepEqual([up.name, up.type, up.presentation['org.iso.18013.5.1.mDL']['org.iso.18013.5.1']], ['age check v2', 'mdl', { age_in_years: true }]);

  const withCa: any = await mc.verifiableCredentials.verification.templates.create(vct('with ca', { custom_certificate_authority: pemCertificate() }) as any);
  assert.match(withCa.custom_certificate_authority, /BEGIN CERTIFICATE/);
  const listed = (await s.api('GET', '/verifiable-credentials/verification/templates?take=1')).body;
  assert.equal(listed.templates.length, 1);
  assert.deepEqual((await all(await mc.verifiableCredentials.verification.templates.list({ take: 1 } as any))).map((x: any) => x.name), ['age check v2', 'with ca']);

  const count = (await doc('vc-verification-templates')).items.length;
  for (const body of [
    vct('b1', { dialect: 'full/2.0' }), vct('b2', { well_known_trusted_issuers: 'dmv' }), vct('b3', { presentation: {} }),
    vct('b4', { custom_certificate_authority: 'not a certificate' }), { name: 'b5' },
    vct('b6', { custom_certificate_authority: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }) }),
  ]) assertError(await s.api('POST', '/verifiable-credentials/verification/templates', { body }), 400, /validation error/);
  assert.equal((await doc('vc-verification-templates')).items.length, count);

  await mc.verifiableCredentials.verification.templates.delete(t.id);
  assertError(await s.api('GET', `/verifiable-credentials/verification/templates/${t.id}`), 404, 'The verification template does not exist.');
  assertError(await s.api('PATCH', `/verifiable-credentials/verification/templates/${t.id}`, { body: { name: 'x' } }), 404);
});
