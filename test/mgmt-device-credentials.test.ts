import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { ManagementClient } from 'auth0';
import { refreshTokenId } from '../src/oidc/adapter.ts';
import { devicePublicKeysOf, usersWithDevicePublicKeys } from '../src/tenant/device-public-keys.ts';
import { openSsoTicket } from '../src/management/self-service-sso-tickets.ts';
import { startServer, type TestServer } from './helpers/server.ts';
import { collect as all, managementClient } from './helpers/sdk.ts';
import { assertError } from './helpers/assert.ts';
import { createApp } from './helpers/login-flow.ts';

// Device credentials (GET/POST /device-credentials, DELETE /device-credentials/{id})
// and self-service SSO access tickets, through the official SDK where it has the
// method and plain fetch for the negative cases. Public keys are registered with
// a user's own Management API token; refresh tokens come from real logins.

let s: TestServer;
let mc: ManagementClient;
let app: { client_id: string; client_secret?: string };
let rotating: { client_id: string; client_secret?: string };
let partner: string;
const REALM = 'http://auth0.com/oauth/grant-type/password-realm';
const DB = 'Username-Password-Authentication';
const PW = 'Device-Passw0rd!';
const SELF_SCOPES = 'openid create:current_user_device_credentials delete:current_user_device_credentials';
let n = 0;

before(async () => {
  s = await startServer();
  mc = managementClient(s);
  const grants = ['password', REALM, 'refresh_token'];
  app = await createApp(s, { name: 'Devices', app_type: 'regular_web', grant_types: grants });
  rotating = await createApp(s, { name: 'Rotating', app_type: 'regular_web', grant_types: grants, refresh_token: { rotation_type: 'rotating', expiration_type: 'expiring', leeway: 0 } });
  partner = (await s.api('POST', '/clients', { body: { name: 'partner', app_type: 'regular_web' } })).body.client_id;
});
after(async () => { await s?.close(); });

const store = () => s.runtime.env.store;
async function oauthToken(body: Record<string, string>) {
  const r = await fetch(`${s.baseUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, body: await r.json() as any };
}
const login = (client: { client_id: string; client_secret?: string }, username: string, extra: Record<string, string>) =>
  oauthToken({ grant_type: REALM, client_id: client.client_id, client_secret: client.client_secret!, realm: DB, username, password: PW, ...extra });
const refresh = (client: { client_id: string; client_secret?: string }, refresh_token: string) =>
  oauthToken({ grant_type: 'refresh_token', client_id: client.client_id, client_secret: client.client_secret!, refresh_token });

async function newUser(prefix: string) {
  const u = await mc.users.create({ connection: DB, email: `${prefix}-${++n}@example.com`, password: PW });
  return { id: u.user_id!, email: u.email! };
}
/** The user's own Management API token, with the device-credential scopes. */
async function selfToken(email: string, scope = SELF_SCOPES) {
  const r = await login(app, email, { audience: s.audience, scope });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.access_token as string;
}
/** A refresh token from a real login, and the id the Management API shows for it. */
async function refreshTokenOf(client: { client_id: string; client_secret?: string }, email: string) {
  const r = await login(client, email, { scope: 'openid offline_access' });
  assert.ok(r.body.refresh_token, JSON.stringify(r.body));
  return { value: r.body.refresh_token as string, id: refreshTokenId(r.body.refresh_token) };
}
const userClient = (token: string) => new ManagementClient({ domain: s.domain, token });
const storedKeys = async (userId: string) => devicePublicKeysOf((await store().getUser(userId))!);
const UUID = () => crypto.randomUUID();
const KEY = Buffer.from('-----BEGIN PUBLIC KEY-----\nMFkw…\n-----END PUBLIC KEY-----').toString('base64');

test('public keys: a user registers a device with its own token; lists never show the key; a duplicate device is a 409', async () => {
  const me = await newUser('ann');
  const token = await selfToken(me.email);
  const device_id = UUID();
  const created: any = await userClient(token).deviceCredentials.createPublicKey({ device_name: 'Ann phone', type: 'public_key', value: KEY, device_id });
  assert.deepEqual(Object.keys(created), ['id']);
  assert.match(created.id, /^dcr_[A-Za-z0-9]{16}$/);

  const [stored] = await storedKeys(me.id);
  assert.deepEqual({ ...stored, created_at: undefined }, { id: created.id, device_name: 'Ann phone', device_id, client_id: app.client_id, value: KEY, created_at: undefined }, 'client_id defaults to the token\'s client');
  assert.ok(!Number.isNaN(Date.parse(stored.created_at)));

  const listed = await mc.deviceCredentials.list({ user_id: me.id, type: 'public_key' });
  assert.deepEqual(listed.data, [{ id: created.id, device_name: 'Ann phone', device_id, type: 'public_key', user_id: me.id, client_id: app.client_id }]);
  assert.ok(!JSON.stringify(listed.response).includes(KEY), 'the key itself is never answered');

  const post = (body: unknown, t = token) => s.api('POST', '/device-credentials', { token: t, body });
  assertError(await post({ device_name: 'again', type: 'public_key', value: 'b3RoZXI=', device_id }), 409, /already exists/, 'device_credential_conflict');
  assert.equal((await storedKeys(me.id)).length, 1, 'the duplicate was not stored');
  const elsewhere = await post({ device_name: 'Ann phone (partner app)', type: 'public_key', value: KEY, device_id, client_id: partner });
  assert.equal(elsewhere.status, 201, 'the same device may hold a key for another client');
  assert.deepEqual((await storedKeys(me.id)).map((k) => [k.id, k.client_id]), [[created.id, app.client_id], [elsewhere.body.id, partner]]);

  assertError(await post({ device_name: 'x', type: 'public_key', value: KEY, device_id: UUID(), client_id: 'no-such-client' }), 404, 'The client does not exist', 'inexistent_client');
  for (const bad of [
    { device_name: 'x', type: 'public_key', device_id: UUID() },
    { device_name: 'x', type: 'public_key', value: KEY, device_id: 'not-hex!' },
    { device_name: 'x', type: 'public_key', value: KEY, device_id: 'a'.repeat(37) },
    { device_name: 'x', type: 'refresh_token', value: KEY, device_id: UUID() },
    { device_name: '', type: 'public_key', value: KEY, device_id: UUID() },
    { device_name: 'x', type: 'public_key', value: '', device_id: UUID() },
  ]) assertError(await post(bad), 400, /^Payload validation error/, 'invalid_body');
  assert.equal((await storedKeys(me.id)).length, 2, 'refused requests stored nothing');

  // Only a user's own token has a user to register the device for.
  const holders = (await usersWithDevicePublicKeys(s.runtime.env)).length;
  assertError(await post({ device_name: 'robot', type: 'public_key', value: KEY, device_id: UUID() }, await s.token()), 400, /issued to a user/, 'operation_not_supported');
  assert.equal((await usersWithDevicePublicKeys(s.runtime.env)).length, holders);
  const narrow = await selfToken(me.email, 'openid delete:current_user_device_credentials');
  assertError(await post({ device_name: 'x', type: 'public_key', value: KEY, device_id: UUID() }, narrow), 403,
    'Insufficient scope, expected any of: create:current_user_device_credentials', 'insufficient_scope');
  assertError(await s.api('GET', `/device-credentials?user_id=${encodeURIComponent(me.id)}`, { token }), 403, /Insufficient scope/, 'insufficient_scope');
});

test('list: by user, client and type (refresh tokens as refresh_token or rotating_refresh_token), with pages, totals and fields', async () => {
  const me = await newUser('ben');
  const other = await newUser('cat');
  const mine = await userClient(await selfToken(me.email)).deviceCredentials.createPublicKey({ device_name: 'Ben tablet', type: 'public_key', value: KEY, device_id: UUID() }) as any;
  const theirs = await userClient(await selfToken(other.email)).deviceCredentials.createPublicKey({ device_name: 'Cat laptop', type: 'public_key', value: KEY, device_id: UUID() }) as any;
  const plain1 = await refreshTokenOf(app, me.email);
  const plain2 = await refreshTokenOf(app, me.email);
  const rot = await refreshTokenOf(rotating, me.email);
  const otherRt = await refreshTokenOf(app, other.email);
  const ids = async (q: Record<string, any>) => (await all(await mc.deviceCredentials.list(q))).map((c: any) => c.id).sort();

  const tokens = (await mc.deviceCredentials.list({ user_id: me.id, type: 'refresh_token' })).data;
  assert.deepEqual(tokens, [plain1.id, plain2.id].sort().map((id) => ({ id, type: 'refresh_token', user_id: me.id, client_id: app.client_id })));
  assert.deepEqual((await mc.deviceCredentials.list({ user_id: me.id, type: 'rotating_refresh_token' })).data,
    [{ id: rot.id, type: 'rotating_refresh_token', user_id: me.id, client_id: rotating.client_id }]);
  assert.deepEqual(await ids({ user_id: me.id }), [mine.id, plain1.id, plain2.id].sort(), 'without a type: public keys and refresh tokens, not rotating ones');
  assert.deepEqual(await ids({ user_id: me.id, client_id: rotating.client_id, type: 'rotating_refresh_token' }), [rot.id]);
  assert.deepEqual(await ids({ user_id: me.id, client_id: partner }), []);
  const everyKey = await ids({ type: 'public_key' });
  assert.ok(everyKey.includes(mine.id) && everyKey.includes(theirs.id), 'without a user, every user\'s keys');
  assert.ok((await ids({ type: 'refresh_token', client_id: app.client_id })).includes(otherRt.id));

  // A rotation consumes the token and the list follows: the new one is there, the old one gone.
  const rotated = await refresh(rotating, rot.value);
  assert.equal(rotated.status, 200);
  assert.deepEqual(await ids({ user_id: me.id, type: 'rotating_refresh_token' }), [refreshTokenId(rotated.body.refresh_token)]);

  const page = await s.api('GET', `/device-credentials?user_id=${encodeURIComponent(me.id)}&per_page=2&page=1&include_totals=true`);
  assert.deepEqual({ ...page.body, device_credentials: page.body.device_credentials.map((c: any) => c.id) },
    { start: 2, limit: 2, length: 1, total: 3, device_credentials: [[mine.id, plain1.id, plain2.id].sort()[2]] });
  assert.deepEqual(await ids({ user_id: me.id, per_page: 1 }), [mine.id, plain1.id, plain2.id].sort(), 'the SDK walks the pages');
  const plainList = await s.api('GET', `/device-credentials?user_id=${encodeURIComponent(me.id)}&type=public_key`);
  assert.deepEqual(plainList.body.map((c: any) => c.id), [mine.id], 'without include_totals: a plain array');
  const projected = await s.api('GET', `/device-credentials?user_id=${encodeURIComponent(me.id)}&type=public_key&fields=id,device_name`);
  assert.deepEqual(projected.body, [{ id: mine.id, device_name: 'Ben tablet' }]);
  const excluded = await s.api('GET', `/device-credentials?user_id=${encodeURIComponent(me.id)}&type=public_key&fields=device_id,client_id,user_id&include_fields=false`);
  assert.deepEqual(excluded.body, [{ id: mine.id, device_name: 'Ben tablet', type: 'public_key' }]);
  assert.deepEqual((await s.api('GET', '/device-credentials?user_id=auth0%7Cnobody&include_totals=true')).body,
    { start: 0, limit: 50, length: 0, total: 0, device_credentials: [] }, 'an unknown user has none');

  assertError(await s.api('GET', '/device-credentials?type=password'), 400, /^Query validation error/, 'invalid_query_string');
  assertError(await s.api('GET', '/device-credentials?per_page=0'), 400, /^Query validation error/, 'invalid_query_string');
  assertError(await s.api('GET', '/device-credentials?per_page=101'), 400, /^Query validation error/, 'invalid_query_string');
  assertError(await s.api('GET', '/device-credentials?page=-1'), 400, /^Query validation error/, 'invalid_query_string');
});

test('delete: a refresh token is revoked at /oauth/token, a public key leaves the user\'s row; unknown ids are 404', async () => {
  const me = await newUser('dan');
  const rt = await refreshTokenOf(app, me.email);
  const kept = await refreshTokenOf(app, me.email);
  assert.equal((await refresh(app, rt.value)).status, 200, 'the token works before');
  await mc.deviceCredentials.delete(rt.id);
  const after = await refresh(app, rt.value);
  assert.equal(after.status, 403, JSON.stringify(after.body));
  assert.equal(after.body.error, 'invalid_grant');
  assert.equal(await store().findPayload('RefreshToken', 'uid', rt.id), undefined);
  assert.equal((await refresh(app, kept.value)).status, 200, 'the user\'s other token still works');
  assert.deepEqual((await mc.deviceCredentials.list({ user_id: me.id, type: 'refresh_token' })).data.map((c: any) => c.id), [kept.id]);
  assertError(await s.api('DELETE', `/device-credentials/${rt.id}`), 404, 'The device credential does not exist.', 'inexistent_device_credential');

  const key: any = await userClient(await selfToken(me.email)).deviceCredentials.createPublicKey({ device_name: 'Dan watch', type: 'public_key', value: KEY, device_id: UUID() });
  await mc.deviceCredentials.delete(key.id);
  assert.deepEqual(await storedKeys(me.id), []);
  assert.deepEqual((await mc.deviceCredentials.list({ user_id: me.id, type: 'public_key' })).data, []);
  assertError(await s.api('DELETE', `/device-credentials/${key.id}`), 404, 'The device credential does not exist.', 'inexistent_device_credential');
  assertError(await s.api('DELETE', '/device-credentials/dcr_0000000000000000'), 404, undefined, 'inexistent_device_credential');
  assertError(await s.api('DELETE', '/device-credentials/nothing-here'), 404, undefined, 'inexistent_device_credential');
});

test('delete with a user\'s own token: its own credentials only; another user\'s are refused and kept', async () => {
  const me = await newUser('eve');
  const other = await newUser('fay');
  const token = await selfToken(me.email);
  const own: any = await userClient(token).deviceCredentials.createPublicKey({ device_name: 'Eve phone', type: 'public_key', value: KEY, device_id: UUID() });
  const ownRt = await refreshTokenOf(app, me.email);
  const foreign: any = await userClient(await selfToken(other.email)).deviceCredentials.createPublicKey({ device_name: 'Fay phone', type: 'public_key', value: KEY, device_id: UUID() });
  const foreignRt = await refreshTokenOf(app, other.email);

  for (const id of [foreign.id, foreignRt.id]) {
    assertError(await s.api('DELETE', `/device-credentials/${id}`, { token }), 403, 'Insufficient scope, expected any of: delete:device_credentials', 'insufficient_scope');
  }
  assert.deepEqual((await storedKeys(other.id)).map((k) => k.id), [foreign.id], 'the other user\'s key is still there');
  assert.equal((await refresh(app, foreignRt.value)).status, 200, 'the other user\'s refresh token still works');
  assertError(await s.api('DELETE', '/device-credentials/dcr_AAAAAAAAAAAAAAAA', { token }), 404, undefined, 'inexistent_device_credential');

  await userClient(token).deviceCredentials.delete(own.id);
  await userClient(token).deviceCredentials.delete(ownRt.id);
  assert.deepEqual(await storedKeys(me.id), []);
  assert.equal((await refresh(app, ownRt.value)).status, 403, 'the user revoked its own refresh token');
  const onlyCreate = await selfToken(me.email, 'openid create:current_user_device_credentials');
  assertError(await s.api('DELETE', `/device-credentials/${foreign.id}`, { token: onlyCreate }), 403, /Insufficient scope/, 'insufficient_scope');
});

test('a user\'s public keys go when the user goes', async () => {
  const me = await newUser('gus');
  const key: any = await userClient(await selfToken(me.email)).deviceCredentials.createPublicKey({ device_name: 'Gus phone', type: 'public_key', value: KEY, device_id: UUID() });
  assert.deepEqual((await usersWithDevicePublicKeys(s.runtime.env, key.id)).map((u) => u.user_id), [me.id]);
  await mc.users.delete(me.id);
  assert.deepEqual(await usersWithDevicePublicKeys(s.runtime.env, key.id), []);
  assert.ok(!(await all(await mc.deviceCredentials.list({ type: 'public_key' }))).some((c: any) => c.id === key.id));
  assertError(await s.api('DELETE', `/device-credentials/${key.id}`), 404, undefined, 'inexistent_device_credential');
});

// --- self-service SSO access tickets ------------------------------------------------------

const TICKET_URL = (issuer: string) => new RegExp(`^${issuer.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}self-service/connections-flow\\?ticket=([A-Za-z0-9]{32})$`);
const ticketRow = (ticket: string) => store().findPayload('SsoAccessTicket', 'id', createHash('sha256').update(ticket).digest('base64url'));
const newProfile = async (extra: Record<string, unknown> = {}) => (await mc.selfServiceProfiles.create({ name: `ssp-${++n}`, ...extra } as any)) as any;

test('SSO tickets: created under the tenant\'s issuer, kept hashed with their options and expiry; revoking makes them unusable', async () => {
  const profile = await newProfile();
  const org = await mc.organizations.create({ name: `sso-org-${++n}` });
  const before = Math.floor(Date.now() / 1000);
  const { ticket: url } = await mc.selfServiceProfiles.ssoTicket.create(profile.id, {
    connection_config: { name: `acme-sso-${n}`, display_name: 'ACME' }, enabled_clients: [app.client_id],
    enabled_organizations: [{ organization_id: org.id!, assign_membership_on_login: true }], ttl_sec: 600,
  });
  const ticket = TICKET_URL(s.issuer).exec(url!)?.[1];
  assert.ok(ticket, url);
  const row = (await ticketRow(ticket))!;
  assert.ok(row, 'the ticket is stored under its hash');
  assert.ok(!JSON.stringify(row).includes(ticket), 'the database never holds the ticket itself');
  assert.ok(row.expires_at! >= before + 600 && row.expires_at! <= before + 602, `expires in ttl_sec (${row.expires_at! - before})`);
  assert.deepEqual(await openSsoTicket(s.runtime.env, ticket), {
    profile_id: profile.id, connection_config: { name: `acme-sso-${n}`, display_name: 'ACME' }, enabled_clients: [app.client_id],
    enabled_organizations: [{ organization_id: org.id, assign_membership_on_login: true }],
  });
  assert.equal((await fetch(url!)).status, 404, 'Postern has no self-service SSO setup pages: the link leads nowhere');

  const other = await mc.selfServiceProfiles.ssoTicket.create(profile.id, {});
  const otherTicket = TICKET_URL(s.issuer).exec(other.ticket!)![1];
  const otherRow = (await ticketRow(otherTicket))!;
  assert.ok(Math.abs(otherRow.expires_at! - (before + 432000)) <= 2, 'no ttl_sec: five days');
  assert.notEqual(otherTicket, ticket);

  // Revoking through another profile's path does nothing; through its own, the ticket is gone.
  const second = await newProfile();
  assert.equal((await s.api('POST', `/self-service-profiles/${second.id}/sso-ticket/${ticket}/revoke`)).status, 202);
  assert.ok(await openSsoTicket(s.runtime.env, ticket), 'still usable');
  await mc.selfServiceProfiles.ssoTicket.revoke(profile.id, ticket);
  assert.equal(await openSsoTicket(s.runtime.env, ticket), undefined);
  assert.equal(await ticketRow(ticket), undefined);
  assert.ok(await openSsoTicket(s.runtime.env, otherTicket), 'the profile\'s other ticket is untouched');
  const again = await s.api('POST', `/self-service-profiles/${profile.id}/sso-ticket/${ticket}/revoke`);
  assert.equal(again.status, 202, 'revoking a ticket that is gone is accepted, as Auth0 does');
  assert.equal((await s.api('POST', `/self-service-profiles/${profile.id}/sso-ticket/unknown/revoke`)).status, 202);

  // A ticket whose profile is deleted is unusable too.
  await mc.selfServiceProfiles.delete(profile.id);
  assert.equal(await openSsoTicket(s.runtime.env, otherTicket), undefined);
});

test('SSO tickets: unknown profiles are 404, bad options are 400, references must exist, a taken connection name is 409', async () => {
  const profile = await newProfile({ allowed_strategies: ['oidc', 'samlp'] });
  const create = (body: unknown, id = profile.id) => s.api('POST', `/self-service-profiles/${id}/sso-ticket`, { body });
  assertError(await create({}, 'ssp_nope'), 404, 'The self-service profile does not exist.', 'inexistent_self_service_profile');
  assertError(await s.api('POST', '/self-service-profiles/ssp_nope/sso-ticket/x/revoke'), 404, 'The self-service profile does not exist.', 'inexistent_self_service_profile');

  for (const body of [
    { ttl_sec: -1 }, { ttl_sec: 432001 }, { ttl_sec: 1.5 }, { connection_config: { name: 'bad name!' } }, { connection_config: {} },
    { enabled_clients: 'x' }, { enabled_organizations: [{}] }, { unknown_option: true }, { domain_aliases_config: { domain_verification: 'sometimes' } },
  ]) assertError(await create(body), 400, /^Payload validation error/, 'invalid_body');
  const dbConn = (await s.api('GET', `/connections?name=${DB}`)).body[0];
  const oidc = (await s.api('POST', '/connections', { body: { name: `corp-oidc-${++n}`, strategy: 'oidc', options: {
    type: 'back_channel', client_id: 'x', client_secret: 'y', issuer: 'https://idp.example.com', jwks_uri: 'https://idp.example.com/jwks',
    authorization_endpoint: 'https://idp.example.com/authorize', token_endpoint: 'https://idp.example.com/token',
  } } })).body;
  assert.match(oidc.id, /^con_/, JSON.stringify(oidc));
  assertError(await create({ connection_id: oidc.id, connection_config: { name: 'both' } }), 400, 'Only one of connection_id and connection_config can be provided.', 'invalid_body');
  assertError(await create({ connection_id: 'con_0000000000000000' }), 404, 'The connection does not exist', 'inexistent_connection');
  assertError(await create({ connection_id: dbConn.id }), 400, /strategy \(auth0\) is not allowed/, 'invalid_body');
  const open = await newProfile();
  assertError(await create({ connection_id: dbConn.id }, open.id), 400, /strategy \(auth0\) is not allowed/, 'invalid_body');
  assert.equal((await create({ connection_id: oidc.id }, open.id)).status, 201, 'a profile without allowed_strategies takes any self-service strategy');
  assertError(await create({ connection_config: { name: DB } }), 409, 'A connection with the same name already exists', 'connection_conflict');
  assertError(await create({ enabled_clients: [app.client_id, 'no-such-client'] }), 404, 'The client does not exist', 'inexistent_client');
  assertError(await create({ enabled_organizations: [{ organization_id: 'org_0000000000000000' }] }), 404, undefined, 'inexistent_organization');
  assert.deepEqual(await store().listPayloads('SsoAccessTicket').then((rows) => rows.filter((r) => JSON.parse(r.payload).profile_id === profile.id)), [], 'no refused request left a ticket');

  const ok = await create({ connection_id: oidc.id, ttl_sec: 0 });
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
  assert.deepEqual(Object.keys(ok.body), ['ticket']);
  const ticket = TICKET_URL(s.issuer).exec(ok.body.ticket)![1];
  assert.equal((await openSsoTicket(s.runtime.env, ticket))?.connection_id, oidc.id);
  assertError(await s.api('POST', `/self-service-profiles/${profile.id}/sso-ticket`, { token: await s.token('read:self_service_profiles'), body: {} }), 403,
    'Insufficient scope, expected any of: create:sso_access_tickets', 'insufficient_scope');
  assertError(await s.api('POST', `/self-service-profiles/${profile.id}/sso-ticket/${ticket}/revoke`, { token: await s.token('create:sso_access_tickets') }), 403,
    'Insufficient scope, expected any of: delete:sso_access_tickets', 'insufficient_scope');
  assert.ok(await openSsoTicket(s.runtime.env, ticket), 'a refused revocation leaves the ticket usable');
});
