import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ManagementClient } from 'auth0';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { startServer, type TestServer } from './helpers/server.ts';
import { collect as all, managementClient } from './helpers/sdk.ts';
import { assertError } from './helpers/assert.ts';

// What governance connectors and posture scanners read about access:
// machine-to-machine access for organizations (client grants associated with
// organizations, and client credentials with `organization`), organizations'
// discovery domains, and users' effective roles and permissions. Through the
// official SDK where it has the method, plain fetch for the negative cases.

let s: TestServer;
let mc: ManagementClient;
const API = 'https://m2m-org.example/';
const OTHER_API = 'https://other-m2m.example/';
type App = { client_id: string; client_secret: string };
let allowApp: App, requireApp: App, denyApp: App;
let allowGrant: any, requireGrant: any, denyGrant: any;
let acme: any, globex: any;
const store = () => s.runtime.env.store;
let n = 0;
const uniq = (p: string) => `${p}-${++n}-${Math.random().toString(36).slice(2, 8)}`;

before(async () => {
  s = await startServer();
  mc = managementClient(s);
  const scopes = [{ value: 'read:data' }, { value: 'write:data' }, { value: 'admin:data' }];
  await mc.resourceServers.create({ name: 'M2M org API', identifier: API, scopes });
  await mc.resourceServers.create({ name: 'Other', identifier: OTHER_API, scopes });
  const app = async (name: string) => (await mc.clients.create({ name, app_type: 'non_interactive' })) as unknown as App;
  allowApp = await app('m2m allow');
  requireApp = await app('m2m require');
  denyApp = await app('m2m deny');
  allowGrant = await mc.clientGrants.create({ client_id: allowApp.client_id, audience: API, scope: ['read:data'], organization_usage: 'allow' });
  requireGrant = await mc.clientGrants.create({ client_id: requireApp.client_id, audience: API, scope: ['read:data', 'write:data'], organization_usage: 'require', allow_any_organization: true });
  denyGrant = await mc.clientGrants.create({ client_id: denyApp.client_id, audience: API, scope: ['read:data'] });
  acme = await mc.organizations.create({ name: 'acme', display_name: 'Acme' });
  globex = await mc.organizations.create({ name: 'globex' });
});
after(async () => { await s?.close(); });

const storedOrgs = async (grantId: string) => (await store().clientGrants.get(grantId))?.data.organizations ?? [];
const orgGrantIds = async (orgId: string) => (await all(await mc.organizations.clientGrants.list(orgId))).map((g: any) => g.id);

// --- client grants and organizations ------------------------------------------------

test('client grants: associate, list with filters, list a grant\'s organizations, remove; the grant document holds the ids', async () => {
  const made: any = await mc.organizations.clientGrants.create(acme.id, { grant_id: allowGrant.id });
  assert.deepEqual(made, {
    grant_id: allowGrant.id, id: allowGrant.id, client_id: allowApp.client_id, audience: API, scope: ['read:data'],
    organization_usage: 'allow', allow_any_organization: false,
  });
  assert.deepEqual(await storedOrgs(allowGrant.id), [acme.id]);
  const grant: any = await mc.clientGrants.get(allowGrant.id);
  assert.equal(grant.organizations, undefined, 'the association is not part of the client grant\'s own answer');
  assert.deepEqual((await s.api('GET', `/client-grants?client_id=${allowApp.client_id}`)).body[0].organizations, undefined);

  const listed = await all(await mc.organizations.clientGrants.list(acme.id));
  assert.deepEqual(listed, [{
    id: allowGrant.id, client_id: allowApp.client_id, audience: API, scope: ['read:data'],
    organization_usage: 'allow', allow_any_organization: false, subject_type: 'client',
  }]);
  await mc.organizations.clientGrants.create(acme.id, { grant_id: requireGrant.id });
  await mc.organizations.clientGrants.create(globex.id, { grant_id: requireGrant.id });
  assert.deepEqual(await orgGrantIds(acme.id), [allowGrant.id, requireGrant.id]);
  assert.deepEqual(await orgGrantIds(globex.id), [requireGrant.id]);

  // Filters: client_id, audience, grant_ids (one or several); the offset page shape with totals.
  const ids = async (q: string) => (await s.api('GET', `/organizations/${acme.id}/client-grants?${q}`)).body.map((g: any) => g.id);
  assert.deepEqual(await ids(`client_id=${requireApp.client_id}`), [requireGrant.id]);
  assert.deepEqual(await ids(`audience=${encodeURIComponent(OTHER_API)}`), []);
  assert.deepEqual(await ids(`audience=${encodeURIComponent(API)}`), [allowGrant.id, requireGrant.id]);
  assert.deepEqual(await ids(`grant_ids=${requireGrant.id}`), [requireGrant.id]);
  assert.deepEqual(await ids(`grant_ids=${requireGrant.id}&grant_ids=${allowGrant.id}`), [allowGrant.id, requireGrant.id]);
  assert.deepEqual(await ids(`grant_ids=${denyGrant.id}`), [], 'a grant that is not associated is not listed');
  const filtered = await all(await mc.organizations.clientGrants.list(acme.id, { client_id: allowApp.client_id }));
  assert.deepEqual(filtered.map((g: any) => g.id), [allowGrant.id]);
  const totals = (await s.api('GET', `/organizations/${acme.id}/client-grants?include_totals=true&per_page=1&page=1`)).body;
  assert.deepEqual({ ...totals, client_grants: totals.client_grants.map((g: any) => g.id) }, { start: 1, limit: 1, length: 1, total: 2, client_grants: [requireGrant.id] });

  // A grant's organizations: by SDK (checkpoint pages), and in both page shapes.
  const orgs = await all(await mc.clientGrants.organizations.list(requireGrant.id, { take: 1 }));
  assert.deepEqual(orgs.map((o: any) => [o.id, o.name]), [[acme.id, 'acme'], [globex.id, 'globex']]);
  assert.deepEqual(orgs[0], { id: acme.id, name: 'acme', display_name: 'Acme' });
  const first = (await s.api('GET', `/client-grants/${requireGrant.id}/organizations?take=1`)).body;
  assert.deepEqual(first.organizations.map((o: any) => o.id), [acme.id]);
  const second = (await s.api('GET', `/client-grants/${requireGrant.id}/organizations?take=1&from=${first.next}`)).body;
  assert.deepEqual(second, { organizations: [{ id: globex.id, name: 'globex' }] });
  const paged = (await s.api('GET', `/client-grants/${requireGrant.id}/organizations?include_totals=true`)).body;
  assert.deepEqual([paged.total, paged.organizations.length], [2, 2]);

  // Removal, through the SDK; the state and every list show it.
  await mc.organizations.clientGrants.delete(acme.id, allowGrant.id);
  assert.deepEqual(await storedOrgs(allowGrant.id), []);
  assert.deepEqual(await orgGrantIds(acme.id), [requireGrant.id]);
  assert.deepEqual((await all(await mc.clientGrants.organizations.list(allowGrant.id))), []);
  assertError(await s.api('DELETE', `/organizations/${acme.id}/client-grants/${allowGrant.id}`), 404,
    'The client grant is not associated with this organization.', 'inexistent_organization_client_grant');

  // A deleted organization drops out of a grant's list; a deleted grant out of the organization's.
  const doomed: any = await mc.organizations.create({ name: uniq('doomed') });
  await mc.organizations.clientGrants.create(doomed.id, { grant_id: requireGrant.id });
  await mc.organizations.delete(doomed.id);
  assert.deepEqual((await all(await mc.clientGrants.organizations.list(requireGrant.id))).map((o: any) => o.id), [acme.id, globex.id]);
  const tmpApp: any = await mc.clients.create({ name: uniq('tmp'), app_type: 'non_interactive' });
  const tmpGrant: any = await mc.clientGrants.create({ client_id: tmpApp.client_id, audience: API, scope: [], organization_usage: 'allow' });
  await mc.organizations.clientGrants.create(globex.id, { grant_id: tmpGrant.id });
  assert.deepEqual(await orgGrantIds(globex.id), [requireGrant.id, tmpGrant.id]);
  await mc.clientGrants.delete(tmpGrant.id);
  assert.deepEqual(await orgGrantIds(globex.id), [requireGrant.id]);
});

test('client grants: only allow/require grants associate (400); duplicates are 409; unknown ids are 404; bad bodies are 400', async () => {
  const r = await s.api('POST', `/organizations/${acme.id}/client-grants`, { body: { grant_id: denyGrant.id } });
  assertError(r, 400, /organization_usage "allow" or "require"/, 'invalid_body');
  assert.deepEqual(await storedOrgs(denyGrant.id), [], 'nothing was written');
  await mc.clientGrants.update(denyGrant.id, { organization_usage: 'deny' });
  assertError(await s.api('POST', `/organizations/${acme.id}/client-grants`, { body: { grant_id: denyGrant.id } }), 400);

  await mc.organizations.clientGrants.create(globex.id, { grant_id: allowGrant.id });
  assertError(await s.api('POST', `/organizations/${globex.id}/client-grants`, { body: { grant_id: allowGrant.id } }), 409,
    'The client grant is already associated with this organization.', 'conflict');
  assert.deepEqual(await storedOrgs(allowGrant.id), [globex.id], 'once, not twice');
  await mc.organizations.clientGrants.delete(globex.id, allowGrant.id);

  assertError(await s.api('POST', `/organizations/${acme.id}/client-grants`, { body: { grant_id: 'cgr_doesnotexist0000' } }), 404, 'The client grant does not exist');
  assertError(await s.api('POST', '/organizations/org_unknown0000000/client-grants', { body: { grant_id: allowGrant.id } }), 404, undefined, 'inexistent_organization');
  assertError(await s.api('GET', '/organizations/org_unknown0000000/client-grants'), 404, undefined, 'inexistent_organization');
  assertError(await s.api('DELETE', `/organizations/${acme.id}/client-grants/cgr_doesnotexist0000`), 404);
  assertError(await s.api('GET', '/client-grants/cgr_doesnotexist0000/organizations'), 404);
  assertError(await s.api('POST', `/organizations/${acme.id}/client-grants`, { body: {} }), 400, /Missing required property: grant_id/);
  assertError(await s.api('POST', `/organizations/${acme.id}/client-grants`, { body: { grant_id: allowGrant.id, extra: 1 } }), 400, /Additional properties not allowed: extra/);
  assertError(await s.api('POST', `/organizations/${acme.id}/client-grants`, { body: { grant_id: 42 } }), 400);
  assert.deepEqual(await storedOrgs(allowGrant.id), [], 'no refused request associated anything');
});

// --- client credentials with an organization ----------------------------------------------

async function cc(app: App, extra: Record<string, string> = {}) {
  const r = await fetch(`${s.baseUrl}/oauth/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: app.client_id, client_secret: app.client_secret, audience: API, ...extra }).toString(),
  });
  return { status: r.status, body: await r.json() as any };
}
async function claims(r: { status: number; body: any }) {
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const jwks = createRemoteJWKSet(new URL(`${s.baseUrl}/.well-known/jwks.json`));
  return (await jwtVerify(r.body.access_token, jwks, { issuer: `https://${s.domain}/`, audience: API })).payload as any;
}
const setOrgNames = (on: boolean) => s.api('PATCH', '/tenants/settings', { body: { allow_organization_name_in_authentication_api: on } });

test('client credentials: org_id only for an associated organization (by id or name), org_name when the tenant allows names', async () => {
  await mc.organizations.clientGrants.create(acme.id, { grant_id: allowGrant.id });
  const plain = await claims(await cc(allowApp));
  assert.equal(plain.org_id, undefined, 'allow: no organization asked, none given');
  assert.equal(plain.sub, `${allowApp.client_id}@clients`);

  const byId = await claims(await cc(allowApp, { organization: acme.id }));
  assert.deepEqual([byId.org_id, byId.org_name, byId.scope, byId.gty], [acme.id, undefined, 'read:data', 'client-credentials']);
  const byName = await claims(await cc(allowApp, { organization: 'acme' }));
  assert.equal(byName.org_id, acme.id);

  assert.equal((await setOrgNames(true)).status, 200);
  try {
    const named = await claims(await cc(allowApp, { organization: 'ACME' }));
    assert.deepEqual([named.org_id, named.org_name], [acme.id, 'acme']);
  } finally { await setOrgNames(false); }
  assert.equal((await claims(await cc(allowApp, { organization: acme.id }))).org_name, undefined);

  const notAssociated = await cc(allowApp, { organization: globex.id });
  assert.deepEqual(notAssociated, { status: 403, body: { error: 'access_denied', error_description: 'Client is not authorized to access the "globex" organization: the client grant is not associated with it.' } });
  assert.deepEqual(await cc(allowApp, { organization: 'no-such-org' }),
    { status: 400, body: { error: 'invalid_request', error_description: 'no organization found by that id or name: no-such-org' } });

  // Removing the association takes effect on the next token.
  await mc.organizations.clientGrants.delete(acme.id, allowGrant.id);
  assert.equal((await cc(allowApp, { organization: acme.id })).status, 403);
  assert.equal((await claims(await cc(allowApp))).org_id, undefined, 'the grant itself still works without an organization');
});

test('client credentials: require refuses a token without organization; allow_any_organization admits any; deny refuses one', async () => {
  assert.deepEqual(await cc(requireApp), { status: 400, body: { error: 'invalid_request', error_description: 'parameter organization is required for this client grant' } });
  const other: any = await mc.organizations.create({ name: uniq('anyorg') });
  const t = await claims(await cc(requireApp, { organization: other.id }));
  assert.deepEqual([t.org_id, t.scope], [other.id, 'read:data write:data'], 'allow_any_organization: no association needed');
  const scoped = await claims(await cc(requireApp, { organization: other.name, scope: 'write:data' }));
  assert.deepEqual([scoped.org_id, scoped.scope], [other.id, 'write:data']);

  assert.deepEqual(await cc(denyApp, { organization: acme.id }), { status: 400, body: { error: 'invalid_request', error_description: 'parameter organization is not allowed for this client grant' } });
  assert.equal((await claims(await cc(denyApp))).org_id, undefined);
  assert.equal((await claims(await cc(denyApp, { organization: '' }))).org_id, undefined, 'an empty organization is no organization');

  // organization_usage changed on the grant applies at once.
  await mc.clientGrants.update(requireGrant.id, { organization_usage: 'allow', allow_any_organization: false });
  try {
    assert.equal((await claims(await cc(requireApp))).org_id, undefined);
    assert.equal((await cc(requireApp, { organization: other.id })).status, 403);
  } finally {
    await mc.clientGrants.update(requireGrant.id, { organization_usage: 'require', allow_any_organization: true });
  }
});

// --- discovery domains --------------------------------------------------------------

const domainDoc = async () => (await store().getTenantDoc('organization-discovery-domains'))?.domains ?? [];

test('discovery domains: create, read by id and by name, list, update and delete, in the spec\'s shapes', async () => {
  const d: any = await mc.organizations.discoveryDomains.create(acme.id, { domain: 'Login.Acme.example' });
  assert.match(d.id, /^ord_[A-Za-z0-9]{22}$/);
  assert.match(d.verification_txt, /^[0-9a-f]{32}$/);
  assert.deepEqual({ ...d, id: 0, verification_txt: 0 }, {
    id: 0, verification_txt: 0, domain: 'login.acme.example', status: 'pending', use_for_organization_discovery: false,
    verification_host: `_ss-verification.${acme.id}.login.acme.example`,
  });
  assert.deepEqual(await mc.organizations.discoveryDomains.get(acme.id, d.id), d);
  assert.deepEqual(await mc.organizations.discoveryDomains.getByName(acme.id, 'login.acme.example'), d);
  assert.deepEqual(await mc.organizations.discoveryDomains.getByName(acme.id, 'LOGIN.acme.example'), d);
  assert.deepEqual(await all(await mc.organizations.discoveryDomains.list(acme.id)), [d]);
  assert.deepEqual((await domainDoc()).map((x: any) => [x.id, x.org_id, x.domain]), [[d.id, acme.id, 'login.acme.example']]);

  const up: any = await mc.organizations.discoveryDomains.update(acme.id, d.id, { status: 'verified', use_for_organization_discovery: true });
  assert.deepEqual(up, { ...d, status: 'verified', use_for_organization_discovery: true });
  assert.deepEqual(await mc.organizations.discoveryDomains.get(acme.id, d.id), up, 'a later read shows the update');
  const kept: any = await mc.organizations.discoveryDomains.update(acme.id, d.id, { use_for_organization_discovery: false });
  assert.deepEqual([kept.status, kept.use_for_organization_discovery, kept.verification_txt], ['verified', false, d.verification_txt], 'a PATCH keeps what it does not name');

  const second: any = await mc.organizations.discoveryDomains.create(acme.id, { domain: 'acme-two.example', status: 'verified', use_for_organization_discovery: true });
  assert.deepEqual([second.status, second.use_for_organization_discovery], ['verified', true]);
  const page1 = (await s.api('GET', `/organizations/${acme.id}/discovery-domains?take=1`)).body;
  assert.deepEqual(page1.domains.map((x: any) => x.id), [d.id]);
  const page2 = (await s.api('GET', `/organizations/${acme.id}/discovery-domains?take=1&from=${page1.next}`)).body;
  assert.deepEqual(page2, { domains: [second] });
  assert.deepEqual((await s.api('GET', `/organizations/${globex.id}/discovery-domains`)).body, { domains: [] }, 'always the checkpoint object');

  await mc.organizations.discoveryDomains.delete(acme.id, d.id);
  assertError(await s.api('GET', `/organizations/${acme.id}/discovery-domains/${d.id}`), 404, 'The discovery domain does not exist.', 'inexistent_discovery_domain');
  assert.deepEqual((await all(await mc.organizations.discoveryDomains.list(acme.id))).map((x: any) => x.id), [second.id]);
  assert.deepEqual((await domainDoc()).map((x: any) => x.id), [second.id]);
  assertError(await s.api('DELETE', `/organizations/${acme.id}/discovery-domains/${d.id}`), 404);
  // Freed, the domain may go to another organization.
  const moved: any = await mc.organizations.discoveryDomains.create(globex.id, { domain: 'login.acme.example' });
  assert.equal(moved.verification_host, `_ss-verification.${globex.id}.login.acme.example`);
  assert.notEqual(moved.verification_txt, d.verification_txt);
  await mc.organizations.discoveryDomains.delete(globex.id, moved.id);
  await mc.organizations.discoveryDomains.delete(acme.id, second.id);
});

test('discovery domains: a domain is unique across the tenant\'s organizations (409), also under concurrent creates', async () => {
  const d: any = await mc.organizations.discoveryDomains.create(acme.id, { domain: 'unique.example' });
  for (const [org, domain] of [[globex.id, 'unique.example'], [acme.id, 'unique.example'], [globex.id, 'UNIQUE.example']]) {
    assertError(await s.api('POST', `/organizations/${org}/discovery-domains`, { body: { domain } }), 409, 'The discovery domain is already in use by an organization.', 'conflict');
  }
  assertError(await s.api('GET', `/organizations/${globex.id}/discovery-domains/${d.id}`), 404, undefined, 'inexistent_discovery_domain');
  assertError(await s.api('GET', `/organizations/${globex.id}/discovery-domains/name/unique.example`), 404);
  assertError(await s.api('PATCH', `/organizations/${globex.id}/discovery-domains/${d.id}`, { body: { status: 'verified' } }), 404);
  assertError(await s.api('DELETE', `/organizations/${globex.id}/discovery-domains/${d.id}`), 404);
  assert.equal((await mc.organizations.discoveryDomains.get(acme.id, d.id) as any).status, 'pending', 'another organization changed nothing');

  const raced = 'race.example';
  const results = await Promise.all([acme.id, globex.id, acme.id, globex.id].map((org) => s.api('POST', `/organizations/${org}/discovery-domains`, { body: { domain: raced } })));
  assert.deepEqual(results.map((r) => r.status).sort(), [201, 409, 409, 409]);
  assert.equal((await domainDoc()).filter((x: any) => x.domain === raced).length, 1);

  // A deleted organization's domains are free again.
  const gone: any = await mc.organizations.create({ name: uniq('gone') });
  await mc.organizations.discoveryDomains.create(gone.id, { domain: 'left-behind.example' });
  await mc.organizations.delete(gone.id);
  const taken: any = await mc.organizations.discoveryDomains.create(acme.id, { domain: 'left-behind.example' });
  assert.equal(taken.domain, 'left-behind.example');
  assert.ok(!(await domainDoc()).some((x: any) => x.org_id === gone.id));
});

test('discovery domains: bad input is 400, unknown organizations and domains are 404', async () => {
  const bad: Array<[unknown, RegExp]> = [
    [{}, /Missing required property: domain/],
    [{ domain: 'ab' }, /domain/],
    [{ domain: 'not a domain!' }, /pattern/],
    [{ domain: 'trailing.dot.' }, /pattern/],
    [{ domain: 'x'.repeat(256) }, /domain/],
    [{ domain: 'ok.example', status: 'failed' }, /status/],
    [{ domain: 'ok.example', use_for_organization_discovery: 'yes' }, /use_for_organization_discovery/],
    [{ domain: 'ok.example', verification_txt: 'mine' }, /Additional properties not allowed: verification_txt/],
  ];
  for (const [body, message] of bad) assertError(await s.api('POST', `/organizations/${acme.id}/discovery-domains`, { body }), 400, message);
  assert.ok(!(await domainDoc()).some((x: any) => x.domain === 'ok.example' || x.domain === 'ab'), 'no refused create wrote anything');

  const d: any = await mc.organizations.discoveryDomains.create(acme.id, { domain: 'patch-me.example' });
  assertError(await s.api('PATCH', `/organizations/${acme.id}/discovery-domains/${d.id}`, { body: { domain: 'other.example' } }), 400, /Additional properties not allowed: domain/);
  assertError(await s.api('PATCH', `/organizations/${acme.id}/discovery-domains/${d.id}`, { body: { status: 'unknown' } }), 400);
  assert.deepEqual(await mc.organizations.discoveryDomains.get(acme.id, d.id), d, 'refused PATCHes changed nothing');

  assertError(await s.api('GET', '/organizations/org_unknown0000000/discovery-domains'), 404, undefined, 'inexistent_organization');
  assertError(await s.api('POST', '/organizations/org_unknown0000000/discovery-domains', { body: { domain: 'x.example' } }), 404, undefined, 'inexistent_organization');
  assertError(await s.api('GET', `/organizations/${acme.id}/discovery-domains/ord_unknown`), 404, undefined, 'inexistent_discovery_domain');
  assertError(await s.api('PATCH', `/organizations/${acme.id}/discovery-domains/ord_unknown`, { body: { status: 'verified' } }), 404);
  assertError(await s.api('GET', `/organizations/${acme.id}/discovery-domains/name/nobody.example`), 404, undefined, 'inexistent_discovery_domain');
  assertError(await s.api('GET', `/organizations/${acme.id}/discovery-domains?take=0`), 400);
  assertError(await s.api('GET', `/organizations/${acme.id}/discovery-domains?from=bogus`), 400);
});

// --- effective roles and permissions -------------------------------------------------------

test('effective roles and permissions follow direct roles, role permissions and direct permissions as they change', async () => {
  const user: any = await mc.users.create({ connection: 'Username-Password-Authentication', email: `${uniq('eff')}@example.com`, password: 'Eff-passw0rd!!' });
  const uid = user.user_id as string;
  const [editor, viewer] = [await mc.roles.create({ name: uniq('editor'), description: 'Edits' }), await mc.roles.create({ name: uniq('viewer') })] as any[];
  const perm = (permission_name: string, api = API) => ({ resource_server_identifier: api, permission_name });
  await mc.roles.permissions.add(editor.id, { permissions: [perm('read:data'), perm('write:data'), perm('read:data', OTHER_API)] });
  await mc.roles.permissions.add(viewer.id, { permissions: [perm('read:data')] });
  const effRoles = async () => (await all(await mc.users.effectiveRoles.list(uid))) as any[];
  const effPerms = async (api = API) => Object.fromEntries(((await all(await mc.users.effectivePermissions.list(uid, { resource_server_identifier: api }))) as any[])
    .map((p) => [p.permission_name, p.sources]));
  const roleSources = async (name: string) => ((await all(await mc.users.effectivePermissions.sources.roles.list(uid, { resource_server_identifier: API, permission_name: name }))) as any[])
    .map((r) => r.id);

  assert.deepEqual(await effRoles(), []);
  assert.deepEqual(await effPerms(), {});

  await mc.users.roles.assign(uid, { roles: [editor.id] });
  assert.deepEqual(await effRoles(), [{ id: editor.id, name: editor.name, description: 'Edits', sources: ['direct'] }]);
  assert.deepEqual(await effPerms(), { 'read:data': ['roles'], 'write:data': ['roles'] });
  assert.deepEqual(await effPerms(OTHER_API), { 'read:data': ['roles'] }, 'one API at a time');
  const full = (await s.api('GET', `/users/${encodeURIComponent(uid)}/effective-permissions?resource_server_identifier=${encodeURIComponent(API)}`)).body;
  assert.deepEqual(full.permissions[0], { permission_name: 'read:data', description: '', resource_server_name: 'M2M org API', resource_server_identifier: API, sources: ['roles'] });

  await mc.users.permissions.create(uid, { permissions: [perm('admin:data'), perm('write:data')] });
  await mc.users.roles.assign(uid, { roles: [viewer.id] });
  const both = [editor.id, viewer.id].sort();
  assert.deepEqual((await effRoles()).map((r) => r.id), both);
  assert.deepEqual(await effPerms(), { 'admin:data': ['direct'], 'read:data': ['roles'], 'write:data': ['direct', 'roles'] });
  assert.deepEqual(await roleSources('read:data'), both);
  assert.deepEqual(await roleSources('write:data'), [editor.id]);
  assert.deepEqual(await roleSources('admin:data'), [], 'a direct permission comes through no role');
  const viaRole = (await s.api('GET', `/users/${encodeURIComponent(uid)}/effective-permissions/sources/effective-roles?resource_server_identifier=${encodeURIComponent(API)}&permission_name=write:data`)).body;
  assert.deepEqual(viaRole, { roles: [{ id: editor.id, name: editor.name, description: 'Edits', sources: ['direct'] }] });

  // The same as /users/{id}/permissions says, permission by permission.
  const classic = ((await s.api('GET', `/users/${encodeURIComponent(uid)}/permissions`)).body as any[]).filter((p) => p.resource_server_identifier === API);
  assert.deepEqual([...new Set(classic.map((p) => p.permission_name))].sort(), Object.keys(await effPerms()).sort());

  // Checkpoint pages.
  const p1 = (await s.api('GET', `/users/${encodeURIComponent(uid)}/effective-roles?take=1`)).body;
  assert.equal(p1.roles.length, 1);
  const p2 = (await s.api('GET', `/users/${encodeURIComponent(uid)}/effective-roles?take=1&from=${p1.next}`)).body;
  assert.deepEqual([p1.roles[0].id, p2.roles[0].id], both);
  assert.equal(p2.next, undefined);

  // Removals.
  await mc.users.roles.delete(uid, { roles: [editor.id] });
  assert.deepEqual((await effRoles()).map((r) => r.id), [viewer.id]);
  assert.deepEqual(await effPerms(), { 'admin:data': ['direct'], 'read:data': ['roles'], 'write:data': ['direct'] });
  assert.deepEqual(await effPerms(OTHER_API), {});
  await mc.users.permissions.delete(uid, { permissions: [perm('write:data')] });
  await mc.roles.permissions.delete(viewer.id, { permissions: [perm('read:data')] });
  assert.deepEqual(await effPerms(), { 'admin:data': ['direct'] });
  await mc.roles.delete(viewer.id);
  assert.deepEqual(await effRoles(), [], 'a deleted role is no longer held');

  // No groups in Postern: the group sources of a role are empty.
  await mc.users.roles.assign(uid, { roles: [editor.id] });
  assert.deepEqual(await all(await mc.users.effectiveRoles.sources.groups.list(uid, { role_id: editor.id })), []);
  assert.deepEqual((await s.api('GET', `/users/${encodeURIComponent(uid)}/effective-roles/sources/groups?role_id=${editor.id}`)).body, { groups: [] });
});

test('organization members\' effective roles are their roles in that organization only', async () => {
  const user: any = await mc.users.create({ connection: 'Username-Password-Authentication', email: `${uniq('mem')}@example.com`, password: 'Mem-passw0rd!!' });
  const uid = user.user_id as string;
  const [global, orgRole] = [await mc.roles.create({ name: uniq('global') }), await mc.roles.create({ name: uniq('org-admin') })] as any[];
  await mc.users.roles.assign(uid, { roles: [global.id] });
  await mc.organizations.members.create(acme.id, { members: [uid] });
  const effective = async (org = acme.id) => ((await all(await mc.organizations.members.effectiveRoles.list(org, uid))) as any[]);
  assert.deepEqual(await effective(), [], 'the tenant-wide role is not a role in the organization');

  await mc.organizations.members.roles.assign(acme.id, uid, { roles: [orgRole.id] });
  assert.deepEqual(await effective(), [{ id: orgRole.id, name: orgRole.name, description: '', sources: ['direct'] }]);
  assert.deepEqual((await all(await mc.users.effectiveRoles.list(uid))).map((r: any) => r.id), [global.id], 'and the organization role is not a tenant-wide one');
  assert.deepEqual(await all(await mc.organizations.members.effectiveRoles.sources.groups.list(acme.id, uid, { role_id: orgRole.id })), []);

  await mc.organizations.members.roles.delete(acme.id, uid, { roles: [orgRole.id] });
  assert.deepEqual(await effective(), []);
  await mc.organizations.members.roles.assign(acme.id, uid, { roles: [orgRole.id] });
  await mc.organizations.members.delete(acme.id, { members: [uid] });
  assertError(await s.api('GET', `/organizations/${acme.id}/members/${encodeURIComponent(uid)}/effective-roles`), 404, undefined, 'inexistent_organization_member');
});

test('effective roles and permissions: missing required query is 400; unknown users, APIs, roles, organizations and non-members are 404', async () => {
  const user: any = await mc.users.create({ connection: 'Username-Password-Authentication', email: `${uniq('neg')}@example.com`, password: 'Neg-passw0rd!!' });
  const uid = encodeURIComponent(user.user_id);
  const role: any = await mc.roles.create({ name: uniq('neg') });
  const nobody = encodeURIComponent('auth0|000000000000000000000000');
  const api = encodeURIComponent(API);
  assertError(await s.api('GET', `/users/${uid}/effective-permissions`), 400, "Query validation error: 'Missing required property: resource_server_identifier'.", 'invalid_query_string');
  assertError(await s.api('GET', `/users/${uid}/effective-permissions/sources/effective-roles?resource_server_identifier=${api}`), 400, /permission_name/);
  assertError(await s.api('GET', `/users/${uid}/effective-roles/sources/groups`), 400, /role_id/);
  assertError(await s.api('GET', `/organizations/${acme.id}/members/${uid}/effective-roles/sources/groups`), 400, /role_id/);
  assertError(await s.api('GET', `/users/${uid}/effective-roles?take=0`), 400);
  assertError(await s.api('GET', `/users/${uid}/effective-roles?from=forged`), 400);

  assertError(await s.api('GET', `/users/${nobody}/effective-roles`), 404, undefined, 'inexistent_user');
  assertError(await s.api('GET', `/users/${nobody}/effective-permissions?resource_server_identifier=${api}`), 404, undefined, 'inexistent_user');
  assertError(await s.api('GET', `/users/${uid}/effective-permissions?resource_server_identifier=${encodeURIComponent('https://nope.example/')}`), 404, undefined, 'inexistent_resource_server');
  assertError(await s.api('GET', `/users/${uid}/effective-roles/sources/groups?role_id=rol_unknown0000000`), 404, undefined, 'inexistent_role');
  assertError(await s.api('GET', `/users/${nobody}/effective-roles/sources/groups?role_id=${role.id}`), 404, undefined, 'inexistent_user');
  assertError(await s.api('GET', `/organizations/${acme.id}/members/${uid}/effective-roles`), 404, undefined, 'inexistent_organization_member');
  assertError(await s.api('GET', `/organizations/org_unknown0000000/members/${uid}/effective-roles`), 404, undefined, 'inexistent_organization');
  await mc.organizations.members.create(acme.id, { members: [user.user_id] });
  assertError(await s.api('GET', `/organizations/${acme.id}/members/${uid}/effective-roles/sources/groups?role_id=rol_unknown0000000`), 404, undefined, 'inexistent_role');
  assert.deepEqual((await s.api('GET', `/organizations/${acme.id}/members/${uid}/effective-roles`)).body, { roles: [] });
});
