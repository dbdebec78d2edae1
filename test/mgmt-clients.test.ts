import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ManagementClient } from 'auth0';
import { startServer, type TestServer } from './helpers/server.ts';
import { managementClient } from './helpers/sdk.ts';
import { assertError } from './helpers/assert.ts';

// Clients, resource servers and client grants through the official SDK, with
// plain fetch for the negative cases the SDK would not send.

let s: TestServer;
let mc: ManagementClient;
before(async () => {
  s = await startServer();
  mc = managementClient(s);
});
after(async () => { await s?.close(); });


async function ccToken(clientId: string, clientSecret: string, audience: string) {
  const r = await fetch(`${s.baseUrl}/oauth/token`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, audience }),
  });
  return { status: r.status, body: await r.json() as any };
}

// --- clients ----------------------------------------------------------------

test('create a regular web app with URLs, grants, auth method, jwt and refresh settings', async () => {
  const c: any = await mc.clients.create({
    name: 'Web App', description: 'a web app', app_type: 'regular_web',
    callbacks: ['https://app.example.com/callback'], allowed_logout_urls: ['https://app.example.com/'],
    web_origins: ['https://app.example.com'], allowed_origins: ['https://cors.example.com'],
    grant_types: ['authorization_code', 'refresh_token'], token_endpoint_auth_method: 'client_secret_basic',
    jwt_configuration: { lifetime_in_seconds: 600 },
    refresh_token: { rotation_type: 'rotating', expiration_type: 'expiring', token_lifetime: 1000 },
  } as any);
  assert.match(c.client_id, /^[A-Za-z0-9]{20,}$/);
  assert.ok(c.client_secret.length >= 32);
  assert.equal(c.description, 'a web app');
  assert.deepEqual(c.callbacks, ['https://app.example.com/callback']);
  assert.deepEqual(c.allowed_logout_urls, ['https://app.example.com/']);
  assert.deepEqual(c.web_origins, ['https://app.example.com']);
  assert.deepEqual(c.allowed_origins, ['https://cors.example.com']);
  assert.deepEqual(c.grant_types, ['authorization_code', 'refresh_token']);
  assert.equal(c.token_endpoint_auth_method, 'client_secret_basic');
  assert.equal(c.jwt_configuration.lifetime_in_seconds, 600);
  assert.equal(c.jwt_configuration.alg, 'RS256', 'unspecified jwt settings keep their defaults');
  assert.equal(c.refresh_token.rotation_type, 'rotating');
  assert.equal(c.refresh_token.token_lifetime, 1000);
  assert.equal(c.refresh_token.leeway, 0);
  assert.equal(c.is_first_party, true);
  assert.equal(c.oidc_conformant, true);
  assert.ok(Array.isArray(c.signing_keys) && c.signing_keys[0].cert.includes('BEGIN CERTIFICATE'));

  const got: any = await mc.clients.get(c.client_id);
  assert.equal(got.name, 'Web App');
  assert.equal(got.client_secret, c.client_secret);
  assert.deepEqual(got.refresh_token, c.refresh_token);
});

test('app types get their defaults', async () => {
  const spa: any = await mc.clients.create({ name: 'SPA', app_type: 'spa' });
  assert.equal(spa.token_endpoint_auth_method, 'none');
  assert.ok(spa.grant_types.includes('authorization_code'));
  assert.ok(!spa.grant_types.includes('client_credentials'));
  const native: any = await mc.clients.create({ name: 'Native', app_type: 'native' });
  assert.equal(native.token_endpoint_auth_method, 'none');
  const m2m: any = await mc.clients.create({ name: 'M2M', app_type: 'non_interactive' });
  assert.deepEqual(m2m.grant_types, ['client_credentials']);
  assert.equal(m2m.token_endpoint_auth_method, 'client_secret_post');
  const plain: any = await mc.clients.create({ name: 'No type' });
  assert.equal(plain.token_endpoint_auth_method, 'client_secret_post');
  assert.ok(plain.grant_types.includes('client_credentials'));
  assert.deepEqual(plain.callbacks, []);
});

test('list clients: bare array, totals shape, checkpoint shape, app_type filter, fields', async () => {
  const bare = await s.api('GET', '/clients?app_type=spa');
  assert.equal(bare.status, 200);
  assert.ok(Array.isArray(bare.body));
  assert.ok(bare.body.every((c: any) => c.app_type === 'spa') && bare.body.length >= 1);

  const paged = await s.api('GET', '/clients?per_page=2&page=0&include_totals=true');
  assert.equal(paged.status, 200);
  assert.equal(paged.body.start, 0);
  assert.equal(paged.body.limit, 2);
  assert.ok(paged.body.total >= 6);
  assert.equal(paged.body.clients.length, 2);

  const page1 = await s.api('GET', '/clients?per_page=2&page=1&include_totals=true');
  assert.equal(page1.body.start, 2);
  assert.notEqual(page1.body.clients[0].client_id, paged.body.clients[0].client_id);

  const first = await s.api('GET', '/clients?take=3');
  assert.deepEqual(Object.keys(first.body).sort(), ['clients', 'next']);
  assert.equal(first.body.clients.length, 3);
  const second = await s.api('GET', `/clients?take=3&from=${encodeURIComponent(first.body.next)}`);
  assert.equal(second.status, 200);
  const seen = new Set(first.body.clients.map((c: any) => c.client_id));
  assert.ok(second.body.clients.every((c: any) => !seen.has(c.client_id)));

  const fields = await s.api('GET', '/clients?fields=client_id,name&include_fields=true');
  assert.ok(fields.body.every((c: any) => Object.keys(c).sort().join() === 'client_id,name'));
  const excluded = await s.api('GET', '/clients?fields=client_secret,signing_keys&include_fields=false');
  assert.ok(excluded.body.every((c: any) => !('client_secret' in c) && !('signing_keys' in c) && 'client_id' in c));

  assertError(await s.api('GET', '/clients?per_page=101'), 400, /per_page/, 'invalid_query_string');
  assertError(await s.api('GET', '/clients?page=-1'), 400, undefined, 'invalid_query_string');
  assertError(await s.api('GET', '/clients?take=0'), 400, /take/, 'invalid_query_string');
  assertError(await s.api('GET', '/clients?from=not-a-checkpoint&take=2'), 400, /from/, 'invalid_query_string');
});

test('update a client: lists replace, jwt_configuration and refresh_token merge', async () => {
  const c: any = await mc.clients.create({ name: 'To update', app_type: 'regular_web', callbacks: ['https://a.example.com/cb'] });
  const u: any = await mc.clients.update(c.client_id, {
    callbacks: ['https://b.example.com/cb'], jwt_configuration: { lifetime_in_seconds: 60 },
    refresh_token: { rotation_type: 'rotating', expiration_type: 'expiring' }, grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_basic',
  });
  assert.deepEqual(u.callbacks, ['https://b.example.com/cb']);
  assert.equal(u.jwt_configuration.lifetime_in_seconds, 60);
  assert.equal(u.jwt_configuration.alg, 'RS256');
  assert.equal(u.refresh_token.rotation_type, 'rotating');
  assert.equal(u.refresh_token.idle_token_lifetime, 2592000);
  assert.deepEqual(u.grant_types, ['client_credentials']);
  assert.equal(u.token_endpoint_auth_method, 'client_secret_basic');
  assert.equal(u.client_secret, c.client_secret, 'an update does not change the secret');
  const again: any = await mc.clients.get(c.client_id);
  assert.deepEqual(again.callbacks, ['https://b.example.com/cb']);

  assertError(await s.api('PATCH', `/clients/${c.client_id}`, { body: { client_id: 'other' } }), 400, /Payload validation error/, 'invalid_body');
  assertError(await s.api('PATCH', `/clients/${c.client_id}`, { body: { app_type: 'toaster' } }), 400, /Payload validation error/);
  assertError(await s.api('PATCH', `/clients/${c.client_id}`, { body: { callbacks: 'not-an-array' } }), 400, /Payload validation error/);
  // Auth0 requires both modes whenever refresh_token is sent.
  assertError(await s.api('PATCH', `/clients/${c.client_id}`, { body: { refresh_token: { rotation_type: 'rotating' } } }), 400, /Missing required property: expiration_type/);
  assertError(await s.api('PATCH', '/clients/no-such-client', { body: { name: 'x' } }), 404, undefined, 'inexistent_resource');
});

test('rotate-secret: the old secret stops working, the new one works', async () => {
  await mc.resourceServers.create({ identifier: 'https://rotate.example.com/', scopes: [{ value: 'x:y' }] });
  const c: any = await mc.clients.create({ name: 'Rotating', app_type: 'non_interactive' });
  await mc.clientGrants.create({ client_id: c.client_id, audience: 'https://rotate.example.com/', scope: ['x:y'] });
  assert.equal((await ccToken(c.client_id, c.client_secret, 'https://rotate.example.com/')).status, 200);
  const rotated: any = await mc.clients.rotateSecret(c.client_id);
  assert.notEqual(rotated.client_secret, c.client_secret);
  assert.equal(rotated.client_id, c.client_id);
  const old = await ccToken(c.client_id, c.client_secret, 'https://rotate.example.com/');
  assert.equal(old.status, 401);
  assert.deepEqual(old.body, { error: 'access_denied', error_description: 'Unauthorized' });
  const fresh = await ccToken(c.client_id, rotated.client_secret, 'https://rotate.example.com/');
  assert.equal(fresh.status, 200, JSON.stringify(fresh.body));
  assertError(await s.api('POST', '/clients/no-such-client/rotate-secret'), 404);
});

test('create validation: missing name, unknown property, wrong types, malformed JSON', async () => {
  assertError(await s.api('POST', '/clients', { body: {} }), 400, "Payload validation error: 'Missing required property: name'.", 'invalid_body');
  assertError(await s.api('POST', '/clients', { body: { name: 'x', bogus: 1 } }), 400, /^Payload validation error: 'Additional properties not allowed: bogus'/, 'invalid_body');
  assertError(await s.api('POST', '/clients', { body: { name: 'x', grant_types: 'client_credentials' } }), 400, /^Payload validation error/);
  assertError(await s.api('POST', '/clients', { body: { name: 'x', token_endpoint_auth_method: 'magic' } }), 400, /^Payload validation error/);
  assertError(await s.api('POST', '/clients', { body: '{"name": "x",' }), 400, 'Invalid request payload JSON format', 'invalid_body');
  assertError(await s.api('POST', '/clients', { body: '[1,2]' }), 400, /^Payload validation error/);
  assertError(await s.api('POST', '/clients', { body: 'null' }), 400, /^Payload validation error/);
});

test('delete a client (a JSON body on DELETE is accepted); its grants go with it', async () => {
  const c: any = await mc.clients.create({ name: 'Doomed', app_type: 'non_interactive' });
  await mc.clientGrants.create({ client_id: c.client_id, audience: s.audience, scope: ['read:users'] });
  const r = await s.api('DELETE', `/clients/${c.client_id}`, { body: {} });
  assert.equal(r.status, 204);
  assertError(await s.api('GET', `/clients/${c.client_id}`), 404, undefined, 'inexistent_resource');
  const grants = await s.api('GET', `/client-grants?client_id=${c.client_id}`);
  assert.deepEqual(grants.body, []);
  assertError(await s.api('DELETE', `/clients/${c.client_id}`), 404);
});

// --- resource servers ---------------------------------------------------------

test('resource servers: settings stored, get by id and by identifier, update, delete', async () => {
  const rs: any = await mc.resourceServers.create({
    name: 'Orders', identifier: 'https://orders.example.com/api',
    scopes: [{ value: 'read:orders', description: 'Read orders' }, { value: 'write:orders', description: 'Write' }],
    token_lifetime: 3600, signing_alg: 'RS256', allow_offline_access: true,
    enforce_policies: true, token_dialect: 'access_token_authz', skip_consent_for_verifiable_first_party_clients: false,
  } as any);
  assert.match(rs.id, /^[0-9a-f]{24}$/);
  // token_lifetime_for_web is read-only in Auth0's current API: shown, defaulted, not writable.
  assert.equal(rs.token_lifetime_for_web, 7200);
  assertError(await s.api('PATCH', `/resource-servers/${rs.id}`, { body: { token_lifetime_for_web: 1800 } }), 400, /token_lifetime_for_web/);
  const expected = {
    name: 'Orders', identifier: 'https://orders.example.com/api', token_lifetime: 3600, token_lifetime_for_web: 7200,
    signing_alg: 'RS256', allow_offline_access: true, enforce_policies: true, token_dialect: 'access_token_authz',
    skip_consent_for_verifiable_first_party_clients: false,
  };
  for (const [k, v] of Object.entries(expected)) assert.deepEqual(rs[k], v, k);
  assert.deepEqual(rs.scopes, [{ value: 'read:orders', description: 'Read orders' }, { value: 'write:orders', description: 'Write' }]);

  const byId: any = await mc.resourceServers.get(rs.id);
  assert.deepEqual(byId, rs);
  const byIdentifier = await s.api('GET', `/resource-servers/${encodeURIComponent(rs.identifier)}`);
  assert.equal(byIdentifier.status, 200);
  assert.equal(byIdentifier.body.id, rs.id);

  const upd: any = await mc.resourceServers.update(rs.id, { scopes: [{ value: 'read:orders' }], token_lifetime: 60, allow_offline_access: false });
  assert.deepEqual(upd.scopes, [{ value: 'read:orders' }]);
  assert.equal(upd.token_lifetime, 60);
  assert.equal(upd.allow_offline_access, false);
  assert.equal(upd.enforce_policies, true);

  const list = await s.api('GET', `/resource-servers?identifiers=${encodeURIComponent(rs.identifier)}`);
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.map((r: any) => r.id), [rs.id]);
  const totals = await s.api('GET', '/resource-servers?include_totals=true&per_page=1');
  assert.deepEqual(Object.keys(totals.body).filter((k) => k !== 'length').sort(), ['limit', 'resource_servers', 'start', 'total']);
  assert.ok(totals.body.total >= 2);

  assert.equal((await s.api('DELETE', `/resource-servers/${rs.id}`)).status, 204);
  assertError(await s.api('GET', `/resource-servers/${rs.id}`), 404);
});

test('resource servers: HS256 gets a signing secret; bad input is rejected', async () => {
  const hs: any = await mc.resourceServers.create({ identifier: 'urn:hs256-api', signing_alg: 'HS256' });
  assert.ok(hs.signing_secret && hs.signing_secret.length >= 16);
  assertError(await s.api('POST', '/resource-servers', { body: { name: 'no identifier' } }), 400, /Missing required property: identifier/, 'invalid_body');
  assertError(await s.api('POST', '/resource-servers', { body: { identifier: 'urn:x', signing_alg: 'none' } }), 400, /^Payload validation error/);
  assertError(await s.api('POST', '/resource-servers', { body: { identifier: 'urn:x', token_lifetime: 2592001 } }), 400, /^Payload validation error/);
  assertError(await s.api('POST', '/resource-servers', { body: { identifier: 'urn:x', scopes: [{ description: 'no value' }] } }), 400, /^Payload validation error/);
  assertError(await s.api('PATCH', '/resource-servers/507f1f77bcf86cd799439011', { body: { name: 'x' } }), 404);
});

test('resource servers: duplicate identifier is 409; the system API cannot be deleted or changed', async () => {
  await mc.resourceServers.create({ identifier: 'https://dup.example.com/' });
  assertError(await s.api('POST', '/resource-servers', { body: { identifier: 'https://dup.example.com/' } }), 409);
  const system = (await s.api('GET', `/resource-servers/${encodeURIComponent(s.audience)}`)).body;
  assert.equal(system.is_system, true);
  assert.equal(system.name, 'Auth0 Management API');
  assert.ok(system.scopes.some((x: any) => x.value === 'read:users_app_metadata'));
  const del = await s.api('DELETE', `/resource-servers/${system.id}`);
  assertError(del, 400, undefined, 'operation_not_supported');
  assertError(await s.api('PATCH', `/resource-servers/${system.id}`, { body: { token_lifetime: 5 } }), 403, undefined, 'operation_not_supported');
  assert.equal((await s.api('GET', `/resource-servers/${system.id}`)).status, 200);
});

// --- client grants --------------------------------------------------------------

test('client grants: CRUD, audience and client_id filters, 409 on duplicates', async () => {
  const api: any = await mc.resourceServers.create({ identifier: 'https://grants.example.com/', scopes: [{ value: 'a:b' }, { value: 'c:d' }] });
  const c1: any = await mc.clients.create({ name: 'G1', app_type: 'non_interactive' });
  const c2: any = await mc.clients.create({ name: 'G2', app_type: 'non_interactive' });
  const g1: any = await mc.clientGrants.create({ client_id: c1.client_id, audience: api.identifier, scope: ['a:b'] });
  assert.match(g1.id, /^cgr_/);
  assert.equal(g1.client_id, c1.client_id);
  assert.equal(g1.audience, api.identifier);
  assert.deepEqual(g1.scope, ['a:b']);
  const g2: any = await mc.clientGrants.create({ client_id: c2.client_id, audience: api.identifier, scope: [] });

  const byAud = await s.api('GET', `/client-grants?audience=${encodeURIComponent(api.identifier)}`);
  assert.deepEqual(byAud.body.map((g: any) => g.id).sort(), [g1.id, g2.id].sort());
  const byClient = await s.api('GET', `/client-grants?client_id=${c1.client_id}`);
  assert.deepEqual(byClient.body.map((g: any) => g.id), [g1.id]);
  const both = await s.api('GET', `/client-grants?client_id=${c2.client_id}&audience=${encodeURIComponent(api.identifier)}&include_totals=true`);
  assert.equal(both.body.total, 1);
  assert.deepEqual(both.body.client_grants.map((g: any) => g.id), [g2.id]);
  const cp = await s.api('GET', `/client-grants?audience=${encodeURIComponent(api.identifier)}&take=1`);
  assert.equal(cp.body.client_grants.length, 1);
  assert.equal(typeof cp.body.next, 'string');

  assertError(await s.api('POST', '/client-grants', { body: { client_id: c1.client_id, audience: api.identifier, scope: ['c:d'] } }), 409);
  assertError(await s.api('POST', '/client-grants', { body: { client_id: c1.client_id, audience: api.identifier, scope: 'a:b' } }), 400, /^Payload validation error/);
  assertError(await s.api('POST', '/client-grants', { body: { client_id: c1.client_id } }), 400, /Missing required property: audience/);
  assertError(await s.api('POST', '/client-grants', { body: { client_id: 'nope', audience: api.identifier, scope: [] } }), 404);
  assertError(await s.api('POST', '/client-grants', { body: { client_id: c2.client_id, audience: 'https://unknown.example.com/', scope: [] } }), 404);
  assertError(await s.api('POST', '/client-grants', { body: { client_id: c1.client_id, audience: 'https://rotate-none.example.com/', scope: ['zz'] } }), 404);

  const up: any = await mc.clientGrants.update(g1.id, { scope: ['a:b', 'c:d'] });
  assert.deepEqual(up.scope, ['a:b', 'c:d']);
  assertError(await s.api('PATCH', `/client-grants/${g1.id}`, { body: { scope: ['not:defined'] } }), 400, /not:defined/);
  const tok = await ccToken(c1.client_id, c1.client_secret, api.identifier);
  assert.equal(tok.body.scope, 'a:b c:d');

  assert.equal((await s.api('DELETE', `/client-grants/${g1.id}`)).status, 204);
  assertError(await s.api('GET', `/client-grants/${g1.id}`), 404);
  assertError(await s.api('DELETE', `/client-grants/${g1.id}`), 404);
  const denied = await ccToken(c1.client_id, c1.client_secret, api.identifier);
  assert.equal(denied.status, 403);
  assert.equal(denied.body.error, 'access_denied');
});
