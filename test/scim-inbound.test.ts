import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { ManagementClient } from 'auth0';
import { startServer, type TestServer } from './helpers/server.ts';
import { collect, managementClient } from './helpers/sdk.ts';
import { assertError } from './helpers/assert.ts';
import { assertScimError, oktaConnection as oktaConnectionOf, provisionedScim, SCIM_SCHEMAS, scimRequest, type ScimRequest } from './helpers/scim.ts';

// Inbound SCIM for enterprise connections, as Okta Workforce provisions users
// into Auth0: the SCIM configuration and its tokens through the official SDK
// (plain fetch for the refusals), then Okta's own request sequence against
// /scim/v2/connections/{id}/, with bodies as Okta's SCIM client sends them.

let s: TestServer;
let mc: ManagementClient;
before(async () => {
  s = await startServer();
  mc = managementClient(s);
});
after(async () => { await s?.close(); });

const store = () => s.runtime.env.store;
const { user: CORE, list: LIST, patchOp: PATCH_OP, error: ERROR } = SCIM_SCHEMAS;

const oktaConnection = (name: string, strategy = 'okta') => oktaConnectionOf(s, name, strategy);
const provisioned = (name: string, scopes = ['get:users', 'post:users', 'put:users', 'patch:users', 'delete:users']) => provisionedScim(s, mc, name, scopes);
const scim = (conn: { id: string; token?: string }, method: string, path: string, opts: ScimRequest = {}) => scimRequest(s, conn, method, path, opts);

/** The user as Okta's SCIM client creates it. */
const oktaUser = (login: string, externalId: string, extra: Record<string, unknown> = {}) => ({
  schemas: [CORE], userName: login, name: { givenName: 'Ada', familyName: 'Lovelace' },
  emails: [{ primary: true, value: login, type: 'work' }], displayName: 'Ada Lovelace', locale: 'en-US',
  externalId, groups: [], password: 'ignored-for-enterprise-users', active: true, ...extra,
});
const listOf = (filter: string) => `/Users?filter=${encodeURIComponent(filter)}&startIndex=1&count=100`;
const mgmtUser = (id: string) => s.api('GET', `/users/${encodeURIComponent(id)}`);

// --- the Management API ----------------------------------------------------------

test('SCIM configuration: created with the defaults, read, replaced and deleted through the SDK', async () => {
  const id = await oktaConnection('acme-okta');
  const defaults = (await mc.connections.scimConfiguration.getDefaultMapping(id)).mapping!;
  assert.ok(defaults.length >= 8);
  for (const [scim, auth0] of [['userName', 'username'], ['emails[primary eq true].value', 'email'], ['active', 'blocked'], ['name.givenName', 'given_name']]) {
    assert.ok(defaults.some((m) => m.scim === scim && m.auth0 === auth0), `default mapping has ${scim} → ${auth0}`);
  }

  const created = await mc.connections.scimConfiguration.create(id, {});
  assert.deepEqual({ ...created, created_at: undefined, updated_on: undefined, tenant_name: undefined }, {
    connection_id: id, connection_name: 'acme-okta', strategy: 'okta', user_id_attribute: 'externalId', mapping: defaults,
    created_at: undefined, updated_on: undefined, tenant_name: undefined,
  });
  assert.equal(typeof created.tenant_name, 'string');
  assert.ok(created.tenant_name.length > 0);
  assert.ok(!Number.isNaN(Date.parse(created.created_at)) && created.updated_on === created.created_at);
  assert.deepEqual(await mc.connections.scimConfiguration.get(id), created);
  assertError(await s.api('POST', `/connections/${id}/scim-configuration`, { body: {} }), 409, /already exists/);

  const mapping = [{ scim: 'userName', auth0: 'email' }, { scim: 'title', auth0: 'app_metadata.job.title' }];
  const updated = await mc.connections.scimConfiguration.update(id, { user_id_attribute: 'userName', mapping });
  assert.equal(updated.user_id_attribute, 'userName');
  assert.deepEqual(updated.mapping, mapping);
  assert.equal(updated.created_at, created.created_at);
  assert.ok(updated.updated_on >= created.updated_on);
  assert.deepEqual(await mc.connections.scimConfiguration.get(id), updated);

  // PATCH needs both fields; a mapping that could not be applied is refused.
  assertError(await s.api('PATCH', `/connections/${id}/scim-configuration`, { body: { mapping } }), 400, /user_id_attribute/);
  for (const bad of [
    [{ scim: 'userName', auth0: 'password_hash' }], [{ scim: 'id', auth0: 'username' }], [{ scim: 'userName', auth0: 'app_metadata.' }],
    [{ scim: 'emails[type eq', auth0: 'email' }], [{ scim: 'userName', auth0: 'email' }, { scim: 'USERNAME', auth0: 'name' }],
    [{ scim: 'userName', auth0: 'app_metadata.a' }, { scim: 'title', auth0: 'app_metadata.a.b' }], [{ scim: 'displayName', auth0: 'blocked' }],
  ]) {
    assertError(await s.api('PATCH', `/connections/${id}/scim-configuration`, { body: { user_id_attribute: 'userName', mapping: bad } }), 400, undefined, 'invalid_body');
  }
  assertError(await s.api('PATCH', `/connections/${id}/scim-configuration`, { body: { user_id_attribute: 'meta', mapping } }), 400, /user_id_attribute/);
  assert.deepEqual((await mc.connections.scimConfiguration.get(id)).mapping, mapping, 'refused updates changed nothing');

  await mc.connections.scimConfiguration.tokens.create(id, {});
  assert.equal((await s.api('DELETE', `/connections/${id}/scim-configuration`)).status, 204);
  assertError(await s.api('GET', `/connections/${id}/scim-configuration`), 404, 'The SCIM configuration does not exist.');
  assertError(await s.api('DELETE', `/connections/${id}/scim-configuration`), 404);
  assert.deepEqual((await store().scimTokens.list({ name: id })).items, [], 'its tokens went with it');
  await s.api('DELETE', `/connections/${id}`);
});

test('SCIM configuration: only enterprise connections have one; unknown connections are 404', async () => {
  const db = (await s.api('GET', '/connections?name=Username-Password-Authentication')).body[0];
  assertError(await s.api('POST', `/connections/${db.id}/scim-configuration`, { body: {} }), 400, /not supported/, 'operation_not_supported');
  assertError(await s.api('GET', `/connections/${db.id}/scim-configuration/default-mapping`), 400, /not supported/);
  assertError(await s.api('GET', `/connections/${db.id}/scim-configuration`), 404);
  assertError(await s.api('POST', '/connections/con_doesnotexist0000/scim-configuration', { body: {} }), 404, undefined, 'inexistent_connection');
  assertError(await s.api('POST', `/connections/${db.id}/scim-configuration/tokens`, { body: {} }), 404);

  // An oidc connection gets the same default naming attribute, and a given mapping is kept as given.
  const oidc = await oktaConnection('acme-oidc', 'oidc');
  const r = await s.api('POST', `/connections/${oidc}/scim-configuration`, { body: { mapping: [{ scim: 'userName', auth0: 'email', extra: 1 }] } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.user_id_attribute, 'externalId');
  assert.deepEqual(r.body.mapping, [{ scim: 'userName', auth0: 'email' }]);
  // Deleting the connection deletes the configuration.
  await s.api('DELETE', `/connections/${oidc}`);
  assert.equal(await store().scimConfigurations.get(oidc), undefined);
});

test('GET /connections-scim-configurations pages with from/take, through the SDK as well', async () => {
  const made = [await oktaConnection('list-a'), await oktaConnection('list-b'), await oktaConnection('list-c')];
  for (const id of made) await mc.connections.scimConfiguration.create(id, {});
  const first = await s.api('GET', '/connections-scim-configurations?take=2');
  assert.equal(first.status, 200);
  assert.equal(first.body.scim_configurations.length, 2);
  assert.equal(typeof first.body.next, 'string');
  const second = await s.api('GET', `/connections-scim-configurations?take=2&from=${first.body.next}`);
  const seen = [...first.body.scim_configurations, ...second.body.scim_configurations].map((c: any) => c.connection_id);
  assert.deepEqual([...seen].sort(), [...made].sort());
  assert.equal(second.body.next, undefined);
  assert.deepEqual(Object.keys(first.body.scim_configurations[0]).sort(),
    ['connection_id', 'connection_name', 'created_at', 'mapping', 'strategy', 'tenant_name', 'updated_on', 'user_id_attribute']);

  const viaSdk = await collect(await mc.connections.scimConfiguration.list({ take: 1 }));
  assert.deepEqual(viaSdk.map((c) => c.connection_id).sort(), [...made].sort());
  assertError(await s.api('GET', '/connections-scim-configurations?from=forged'), 400, undefined, 'invalid_query_string');
  for (const id of made) await s.api('DELETE', `/connections/${id}`);
});

test('tokens: shown once, kept as a hash, listed without the secret, expiring, revoked', async () => {
  const id = await oktaConnection('token-okta');
  assertError(await s.api('POST', `/connections/${id}/scim-configuration/tokens`, { body: {} }), 404, 'The SCIM configuration does not exist.');
  await mc.connections.scimConfiguration.create(id, {});

  const before = Date.now();
  const made = await mc.connections.scimConfiguration.tokens.create(id, { scopes: ['get:users'], token_lifetime: 3600 });
  assert.match(made.token_id!, /^tok_[A-Za-z0-9]{16}$/);
  assert.ok(made.token!.length >= 40);
  assert.deepEqual(made.scopes, ['get:users']);
  const ttl = Date.parse(made.valid_until!) - Date.parse(made.created_at!);
  assert.equal(ttl, 3600_000);
  assert.ok(Date.parse(made.created_at!) >= before - 1000);

  const dflt = await s.api('POST', `/connections/${id}/scim-configuration/tokens`, { body: {} });
  assert.equal(dflt.status, 201);
  assert.deepEqual(dflt.body.scopes, ['get:users', 'post:users', 'put:users']);
  assert.equal(dflt.body.valid_until, undefined, 'no lifetime: no expiry');

  // Only the hash is stored; the listing never shows a token again.
  const row = await store().scimTokens.get(made.token_id!);
  assert.equal(row!.token_hash, createHash('sha256').update(made.token!).digest('hex'));
  assert.ok(!JSON.stringify(row).includes(made.token!));
  const listed = await mc.connections.scimConfiguration.tokens.get(id);
  assert.deepEqual(listed.map((t) => t.token_id).sort(), [made.token_id, dflt.body.token_id].sort());
  assert.ok(listed.every((t: any) => t.token === undefined));
  assert.equal(listed.find((t) => t.token_id === made.token_id)!.last_used_at, undefined);

  // Using it records when, at most once a minute.
  assert.equal((await scim({ id, token: made.token }, 'GET', '/Users')).status, 200);
  const used = (await mc.connections.scimConfiguration.tokens.get(id)).find((t) => t.token_id === made.token_id)!;
  assert.ok(Date.parse(used.last_used_at!) >= before);
  assert.equal((await scim({ id, token: made.token }, 'GET', '/Users')).status, 200);
  assert.equal((await mc.connections.scimConfiguration.tokens.get(id)).find((t) => t.token_id === made.token_id)!.last_used_at, used.last_used_at);
  // The base URL ends in a slash; a client that appends `/Users` to it is served too.
  const doubled = await scim({ id, token: made.token }, 'GET', '//Users');
  assert.equal(doubled.status, 200);
  assert.deepEqual(doubled.body.schemas, ['urn:ietf:params:scim:api:messages:2.0:ListResponse']);

  for (const body of [{ scopes: ['read:users'] }, { token_lifetime: 900 }, { token_lifetime: 1.5e308 }, { token_lifetime: 1e12 }, { scopes: [] }, { token_lifetime: 'x' }]) {
    assertError(await s.api('POST', `/connections/${id}/scim-configuration/tokens`, { body }), 400);
  }

  // Expired: the stored expiry is in the past.
  const doc = (await store().scimTokens.get(made.token_id!))!;
  await store().scimTokens.update(doc.id, { ...doc.data, valid_until: new Date(Date.now() - 1000).toISOString() });
  assertScimError(await scim({ id, token: made.token }, 'GET', '/Users'), 401);

  // Revoked.
  assert.equal((await scim({ id, token: dflt.body.token }, 'GET', '/Users')).status, 200);
  await mc.connections.scimConfiguration.tokens.delete(id, dflt.body.token_id);
  const revoked = await scim({ id, token: dflt.body.token }, 'GET', '/Users');
  assertScimError(revoked, 401);
  assert.match(String(revoked.headers.get('www-authenticate')), /^Bearer/);
  assertError(await s.api('DELETE', `/connections/${id}/scim-configuration/tokens/${dflt.body.token_id}`), 404, undefined, 'inexistent_scim_token');
  assertError(await s.api('DELETE', `/connections/${id}/scim-configuration/tokens/tok_unknown`), 404);

  // No token, or a made-up one.
  assertScimError(await scim({ id }, 'GET', '/Users'), 401);
  assertScimError(await scim({ id, token: 'not-a-token' }, 'GET', '/Users'), 401);
  assertScimError(await scim({ id, token: 'x'.repeat(5000) }, 'GET', '/Users'), 401);
  await s.api('DELETE', `/connections/${id}`);
});

// --- the SCIM endpoint ---------------------------------------------------------

test('the Okta sequence: look up, create, find, deactivate (user blocked), reactivate, delete', async () => {
  const conn = await provisioned('seq-okta');
  const login = 'ada@acme.example';

  const none = await scim(conn, 'GET', listOf(`userName eq "${login}"`));
  assert.equal(none.status, 200);
  assert.match(String(none.headers.get('content-type')), /^application\/scim\+json/);
  assert.deepEqual(none.body, { schemas: [LIST], totalResults: 0, startIndex: 1, itemsPerPage: 0, Resources: [] });

  const created = await scim(conn, 'POST', '/Users', { body: oktaUser(login, '00u1ada', { title: 'Countess' }) });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const user = created.body;
  assert.equal(user.id, 'okta|seq-okta|00u1ada');
  assert.deepEqual(user.schemas, [CORE]);
  assert.equal(user.userName, login);
  assert.equal(user.externalId, '00u1ada');
  assert.deepEqual(user.name, { givenName: 'Ada', familyName: 'Lovelace' });
  assert.deepEqual(user.emails, [{ primary: true, value: login }]);
  assert.equal(user.displayName, 'Ada Lovelace');
  assert.equal(user.locale, 'en-US');
  assert.equal(user.title, 'Countess');
  assert.equal(user.active, true);
  assert.equal(user.password, undefined);
  assert.equal(user.meta.resourceType, 'User');
  assert.equal(user.meta.location, `${s.issuer}scim/v2/connections/${conn.id}/Users/${encodeURIComponent(user.id)}`);
  assert.equal(created.headers.get('location'), user.meta.location);
  assert.ok(!Number.isNaN(Date.parse(user.meta.created)) && !Number.isNaN(Date.parse(user.meta.lastModified)));

  // The same user in the Management API: an enterprise identity of the connection.
  const profile = (await mgmtUser(user.id)).body;
  assert.equal(profile.email, login);
  assert.equal(profile.username, login);
  assert.equal(profile.given_name, 'Ada');
  assert.equal(profile.name, 'Ada Lovelace');
  assert.deepEqual(profile.app_metadata, { external_id: '00u1ada', locale: 'en-US', title: 'Countess' });
  assert.deepEqual(profile.identities, [{ connection: 'seq-okta', user_id: 'seq-okta|00u1ada', provider: 'okta', isSocial: false }]);
  assert.equal(profile.blocked, undefined);

  const found = await scim(conn, 'GET', listOf(`userName eq "${login}"`));
  assert.equal(found.body.totalResults, 1);
  assert.deepEqual(found.body.Resources, [user]);
  assert.equal((await scim(conn, 'GET', `/Users/${encodeURIComponent(user.id)}`)).body.id, user.id);
  for (const [filter, n] of [
    ['userName eq "ADA@acme.example"', 1], ['externalId eq "00u1ada"', 1], ['externalId eq "00U1ADA"', 0], ['emails.value eq "Ada@Acme.example"', 1],
    [`emails[type eq "work"].value eq "${login}"`, 1], [`emails[primary eq true].value eq "${login}"`, 1], [`emails[value eq "${login}"]`, 1],
    [`userName eq "${login}" and externalId eq "00u1ada"`, 1], [`userName eq "${login}" and externalId eq "other"`, 0],
    [`userName eq "nobody" or externalId eq "00u1ada"`, 1], ['name.givenName eq "ada"', 1], ['title eq "Countess"', 1], ['active eq true', 1],
    [`id eq "${user.id}"`, 1], ['userName eq "nobody@acme.example"', 0],
    // A bracket alone asks whether the element is there: the user has an email and no phone.
    ['emails[type eq "work"]', 1], ['phoneNumbers[type eq "mobile"]', 0], ['phoneNumbers[type eq "fax"]', 0],
  ] as const) {
    const r = await scim(conn, 'GET', listOf(filter));
    assert.equal(r.status, 200, `${filter}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.totalResults, n, filter);
  }

  // Okta creates a user it did not find; one that exists is a uniqueness conflict.
  assertScimError(await scim(conn, 'POST', '/Users', { body: oktaUser(login, '00u1ada') }), 409, 'uniqueness');
  assertScimError(await scim(conn, 'POST', '/Users', { body: oktaUser(login, '00u2other') }), 409, 'uniqueness');

  // Okta's AIW apps deactivate with a PUT of the whole user, active:false.
  const off = await scim(conn, 'PUT', `/Users/${encodeURIComponent(user.id)}`, { body: { ...oktaUser(login, '00u1ada'), id: user.id, active: false } });
  assert.equal(off.status, 200, JSON.stringify(off.body));
  assert.equal(off.body.active, false);
  assert.equal((await mgmtUser(user.id)).body.blocked, true);
  assert.equal(off.body.title, undefined, 'a PUT replaces: the title it left out is gone');
  assert.equal((await mgmtUser(user.id)).body.app_metadata.title, undefined);
  assert.equal((await scim(conn, 'GET', listOf('active eq false'))).body.totalResults, 1);

  const on = await scim(conn, 'PUT', `/Users/${encodeURIComponent(user.id)}`, { body: oktaUser(login, '00u1ada', { name: { givenName: 'Augusta', familyName: 'King' } }) });
  assert.equal(on.status, 200);
  assert.equal(on.body.active, true);
  const back = (await mgmtUser(user.id)).body;
  assert.equal(back.blocked, undefined);
  assert.equal(back.given_name, 'Augusta');
  assert.equal(back.family_name, 'King');

  // OIN apps deactivate with PATCH (Okta's form), Entra ID with a path and a string boolean.
  const patched = await scim(conn, 'PATCH', `/Users/${encodeURIComponent(user.id)}`, { body: { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: false } }] } });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  assert.equal(patched.body.active, false);
  assert.equal((await mgmtUser(user.id)).body.blocked, true);
  const entra = await scim(conn, 'PATCH', `/Users/${encodeURIComponent(user.id)}`, {
    body: { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'active', value: 'True' }, { op: 'replace', path: 'name.givenName', value: 'Ada' }, { op: 'add', value: { 'name.familyName': 'Byron', title: 'Analyst' } }] },
  });
  assert.equal(entra.status, 200, JSON.stringify(entra.body));
  assert.deepEqual([entra.body.active, entra.body.name, entra.body.title], [true, { givenName: 'Ada', familyName: 'Byron' }, 'Analyst']);
  const afterPatch = (await mgmtUser(user.id)).body;
  assert.deepEqual([afterPatch.blocked, afterPatch.given_name, afterPatch.family_name, afterPatch.app_metadata.title], [undefined, 'Ada', 'Byron', 'Analyst']);
  const removed = await scim(conn, 'PATCH', `/Users/${encodeURIComponent(user.id)}`, { body: { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: 'title' }, { op: 'replace', path: 'emails[type eq "work"].value', value: 'ada@new.example' }] } });
  assert.equal(removed.status, 200, JSON.stringify(removed.body));
  assert.equal(removed.body.title, undefined);
  assert.equal((await mgmtUser(user.id)).body.email, 'ada@new.example');

  const del = await scim(conn, 'DELETE', `/Users/${encodeURIComponent(user.id)}`);
  assert.equal(del.status, 204);
  assertScimError(await scim(conn, 'GET', `/Users/${encodeURIComponent(user.id)}`), 404);
  assert.equal((await mgmtUser(user.id)).status, 404);
  assertScimError(await scim(conn, 'DELETE', `/Users/${encodeURIComponent(user.id)}`), 404);
});

test('the naming attribute: externalId, else userName; userName when configured so', async () => {
  const conn = await provisioned('naming-okta');
  const noExternal = await scim(conn, 'POST', '/Users', { body: { ...oktaUser('bob@acme.example', ''), externalId: undefined } });
  assert.equal(noExternal.status, 201, JSON.stringify(noExternal.body));
  assert.equal(noExternal.body.id, 'okta|naming-okta|bob@acme.example');

  await mc.connections.scimConfiguration.update(conn.id, { user_id_attribute: 'userName', mapping: [{ scim: 'emails[primary eq true].value', auth0: 'email' }] });
  const byName = await scim(conn, 'POST', '/Users', { body: oktaUser('cy@acme.example', '00u3') });
  assert.equal(byName.status, 201);
  assert.equal(byName.body.id, 'okta|naming-okta|cy@acme.example');
  // userName is not mapped to an attribute now, and still reads back (and filters) from the user_id.
  assert.equal(byName.body.userName, 'cy@acme.example');
  assert.equal(byName.body.externalId, undefined);
  assert.equal((await scim(conn, 'GET', listOf('userName eq "cy@acme.example"'))).body.totalResults, 1);
  assertScimError(await scim(conn, 'GET', listOf('title eq "x"')), 400, 'invalidFilter');
  assertScimError(await scim(conn, 'POST', '/Users', { body: oktaUser('cy@acme.example', '00u4') }), 409, 'uniqueness');
});

test('paging: startIndex and count over a stable order', async () => {
  const conn = await provisioned('paging-okta');
  for (let i = 0; i < 7; i++) {
    assert.equal((await scim(conn, 'POST', '/Users', { body: oktaUser(`p${i}@acme.example`, `00up${i}`) })).status, 201);
  }
  const seen: string[] = [];
  for (let start = 1; start <= 7; start += 3) {
    const r = await scim(conn, 'GET', `/Users?startIndex=${start}&count=3`);
    assert.equal(r.status, 200);
    assert.equal(r.body.totalResults, 7);
    assert.equal(r.body.startIndex, start);
    assert.equal(r.body.itemsPerPage, r.body.Resources.length);
    assert.equal(r.body.Resources.length, Math.min(3, 8 - start));
    seen.push(...r.body.Resources.map((u: any) => u.userName));
  }
  assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6].map((i) => `p${i}@acme.example`), 'every user once, in creation order');
  const all = await scim(conn, 'GET', '/Users');
  assert.deepEqual([all.body.totalResults, all.body.startIndex, all.body.itemsPerPage], [7, 1, 7]);

  const zero = await scim(conn, 'GET', '/Users?startIndex=0&count=0');
  assert.deepEqual([zero.status, zero.body.totalResults, zero.body.startIndex, zero.body.Resources], [200, 7, 1, []]);
  const far = await scim(conn, 'GET', '/Users?startIndex=99999999999999999999999&count=99999999999999999999999');
  assert.deepEqual([far.status, far.body.totalResults, far.body.itemsPerPage], [200, 7, 0]);
  const negative = await scim(conn, 'GET', '/Users?startIndex=-5&count=-1');
  assert.deepEqual([negative.status, negative.body.startIndex, negative.body.itemsPerPage], [200, 1, 0]);
  assertScimError(await scim(conn, 'GET', '/Users?count=abc'), 400, 'invalidValue');
  assertScimError(await scim(conn, 'GET', '/Users?startIndex=1.5'), 400, 'invalidValue');
  const filtered = await scim(conn, 'GET', `/Users?filter=${encodeURIComponent('userName eq "p1@acme.example" or userName eq "p5@acme.example"')}&startIndex=2&count=1`);
  assert.deepEqual([filtered.body.totalResults, filtered.body.Resources.map((u: any) => u.userName)], [2, ['p5@acme.example']]);
});

test('scopes: a token with only get:users reads and cannot write (403)', async () => {
  const conn = await provisioned('scope-okta');
  const { token: readOnly } = await mc.connections.scimConfiguration.tokens.create(conn.id, { scopes: ['get:users'] });
  const made = await scim(conn, 'POST', '/Users', { body: oktaUser('dee@acme.example', '00u5') });
  const path = `/Users/${encodeURIComponent(made.body.id)}`;

  assert.equal((await scim(conn, 'GET', '/Users', { token: readOnly })).status, 200);
  assert.equal((await scim(conn, 'GET', path, { token: readOnly })).status, 200);
  assertScimError(await scim(conn, 'POST', '/Users', { token: readOnly, body: oktaUser('eve@acme.example', '00u6') }), 403);
  assertScimError(await scim(conn, 'PUT', path, { token: readOnly, body: oktaUser('dee@acme.example', '00u5', { active: false }) }), 403);
  assertScimError(await scim(conn, 'PATCH', path, { token: readOnly, body: { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: false } }] } }), 403);
  assertScimError(await scim(conn, 'DELETE', path, { token: readOnly }), 403);
  assert.equal((await mgmtUser(made.body.id)).body.blocked, undefined, 'nothing was written');
  assert.equal((await scim(conn, 'GET', listOf('userName eq "eve@acme.example"'))).body.totalResults, 0);

  // The default scopes have no patch:users or delete:users.
  const { token: dflt } = await mc.connections.scimConfiguration.tokens.create(conn.id, {});
  assertScimError(await scim(conn, 'DELETE', path, { token: dflt }), 403);
  assert.equal((await scim(conn, 'PUT', path, { token: dflt, body: oktaUser('dee@acme.example', '00u5') })).status, 200);
});

test('isolation: a connection\'s token sees only that connection\'s users', async () => {
  const a = await provisioned('iso-a');
  const b = await provisioned('iso-b');
  const inB = (await scim(b, 'POST', '/Users', { body: oktaUser('fay@acme.example', '00u7') })).body;
  const dbUser = (await s.api('POST', '/users', { body: { connection: 'Username-Password-Authentication', email: 'fay@acme.example', password: 'Fay-pw-123!x' } })).body;
  assert.ok(dbUser.user_id);

  const listA = await scim(a, 'GET', '/Users');
  assert.deepEqual([listA.body.totalResults, listA.body.Resources], [0, []]);
  assert.equal((await scim(a, 'GET', listOf('userName eq "fay@acme.example"'))).body.totalResults, 0);
  assert.equal((await scim(a, 'GET', listOf('emails.value eq "fay@acme.example"'))).body.totalResults, 0);
  for (const id of [inB.id, dbUser.user_id]) {
    const path = `/Users/${encodeURIComponent(id)}`;
    assertScimError(await scim(a, 'GET', path), 404);
    assertScimError(await scim(a, 'PUT', path, { body: oktaUser('fay@acme.example', '00u7', { active: false }) }), 404);
    assertScimError(await scim(a, 'PATCH', path, { body: { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: false } }] } }), 404);
    assertScimError(await scim(a, 'DELETE', path), 404);
    assert.equal((await mgmtUser(id)).body.blocked, undefined);
  }
  // A's token on B's endpoint is no token at all.
  assertScimError(await scim(b, 'GET', '/Users', { token: a.token }), 401);
  assert.equal((await scim(b, 'GET', '/Users')).body.totalResults, 1);
  // The same email in another connection is another user.
  assert.equal((await scim(a, 'POST', '/Users', { body: oktaUser('fay@acme.example', '00u7') })).status, 201);
});

test('bad input is a SCIM 4xx with its scimType, never a 5xx', async () => {
  const conn = await provisioned('bad-okta');
  const made = (await scim(conn, 'POST', '/Users', { body: oktaUser('gus@acme.example', '00u8') })).body;
  const path = `/Users/${encodeURIComponent(made.id)}`;

  for (const filter of ['userName sw "g"', 'userName eq', '(((', 'nosuch eq "x"', 'userName eq 5', 'active eq "yes"', 'meta.created gt "2020-01-01"',
    'not (userName eq "x")', 'userName pr', 'x'.repeat(3000), Array(60).fill('userName eq "a"').join(' or ')]) {
    assertScimError(await scim(conn, 'GET', listOf(filter)), 400, 'invalidFilter');
  }
  assertScimError(await scim(conn, 'GET', '/Users?filter=a&filter=b'), 400, 'invalidFilter');

  assertScimError(await scim(conn, 'POST', '/Users', { raw: '{"userName": ' }), 400, 'invalidSyntax');
  assertScimError(await scim(conn, 'POST', '/Users', { raw: '[1]' }), 400, 'invalidSyntax');
  assertScimError(await scim(conn, 'POST', '/Users', { raw: '"x"' }), 400, 'invalidSyntax');
  assertScimError(await scim(conn, 'POST', '/Users', { body: oktaUser('h@acme.example', '00u9'), type: 'text/plain' }), 415);
  assert.equal((await scim(conn, 'POST', '/Users', { body: oktaUser('json@acme.example', '00u10'), type: 'application/json' })).status, 201, 'application/json is accepted too');
  assertScimError(await scim(conn, 'POST', '/Users', { body: { ...oktaUser('h@acme.example', '00u9'), schemas: undefined } }), 400, 'invalidSyntax');
  assertScimError(await scim(conn, 'POST', '/Users', { body: { ...oktaUser('h@acme.example', '00u9'), userName: undefined } }), 400, 'invalidValue');
  for (const extra of [{ userName: 5 }, { userName: {} }, { externalId: ['x'] }, { name: { givenName: { a: 1 } } }, { active: 'maybe' },
    { userName: 'u'.repeat(300) }, { displayName: 'd'.repeat(5000) }, { emails: [{ primary: true, value: 'e'.repeat(300) }] }]) {
    const r = await scim(conn, 'POST', '/Users', { body: oktaUser('h@acme.example', '00u9', extra) });
    assertScimError(r, 400, 'invalidValue');
  }
  const nul = await scim(conn, 'POST', '/Users', { body: oktaUser('nul\u0000@acme.example', '00u11') });
  assert.equal(nul.status, 400);
  assertScimError(nul, 400, 'invalidSyntax');
  const huge = await scim(conn, 'POST', '/Users', { body: oktaUser('n@acme.example', '00u12', { locale: 1e308, title: -1e308, nickName: 1.5 }) });
  assert.ok(huge.status === 201 || huge.status === 400, `${huge.status}`);

  assertScimError(await scim(conn, 'GET', '/Users/okta%7Cbad-okta%7Cnobody'), 404);
  assertScimError(await scim(conn, 'GET', `/Users/${'z'.repeat(3000)}`), 404);
  assertScimError(await scim(conn, 'PUT', '/Users/nobody', { body: oktaUser('x@acme.example', '1') }), 404);
  assertScimError(await scim(conn, 'PATCH', path, { body: { Operations: [{ op: 'replace', value: { active: false } }] } }), 400, 'invalidSyntax');
  for (const Operations of [[], [{ op: 'move', path: 'title' }], [{ op: 'remove' }], [{ op: 'replace', path: 'emails[type eq "work" and primary eq true].value', value: 'x' }],
    [{ op: 'replace', value: 'x' }], ['x']]) {
    const r = await scim(conn, 'PATCH', path, { body: { schemas: [PATCH_OP], Operations } });
    assert.equal(r.status, 400, JSON.stringify(Operations));
    assert.deepEqual(r.body.schemas, [ERROR]);
  }
  const unknownRoute = await scim(conn, 'GET', '/ServiceProviderConfig');
  assertScimError(unknownRoute, 404);
  assertScimError(await scim({ id: 'con_nonexistent00000', token: conn.token }, 'GET', '/Users'), 401);
  // What was refused left the user as it was.
  assert.deepEqual((await scim(conn, 'GET', path)).body, made);
});
