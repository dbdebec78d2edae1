import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from './helpers/server.ts';
import { createApp, createUser, Jar } from './helpers/login-flow.ts';
import { startMockIdp, type MockIdp } from './helpers/mock-idp.ts';
import { throughIdp } from './helpers/through-idp.ts';
import { assertError } from './helpers/assert.ts';

// Token Vault's token sets: a login through an enterprise connection with
// `federated_connections_access_tokens.active` keeps the IdP's tokens, sealed;
// the Management API lists them without the tokens and deletes them, and they
// go with the user, with an unlinked identity, and with the connection.
// The SDK (v7.1) has no method for these endpoints: plain requests.

let s: TestServer;
let idp: MockIdp;
let app: { client_id: string };
let vault: any;
const CALLBACK = 'https://app.example.com/callback';
const MODEL = 'FederatedTokenSet';
const VAULT_SCOPE = 'openid profile email offline_access';

const okta = (name: string, extra: Record<string, unknown> = {}) => s.api('POST', '/connections', { body: {
  name, strategy: 'okta', enabled_clients: [app.client_id],
  options: { domain: idp.domain, client_id: idp.clientId, client_secret: idp.clientSecret, ...extra },
} });

before(async () => {
  s = await startServer();
  idp = await startMockIdp();
  app = await createApp(s, { name: 'Vault app', app_type: 'regular_web', grant_types: ['authorization_code', 'refresh_token'], callbacks: [CALLBACK] });
  const made = await okta('vault-okta', { scope: VAULT_SCOPE, federated_connections_access_tokens: { active: true } });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  vault = made.body;
  assert.equal((await okta('plain-okta')).status, 201);
});
after(async () => { await idp?.close(); await s?.close(); });

const enc = encodeURIComponent;
const tokenSets = (userId: string) => s.api('GET', `/users/${enc(userId)}/federated-connections-tokensets`);
const rowsOf = (accountId: string) => s.runtime.env.store.listPayloads(MODEL, { account_id: accountId });

/** Logs `sub` in through `connection`; the tokens the IdP issued for it. */
async function login(connection: string, sub: string) {
  const before = idp.seen.issued.length;
  const saved = idp.user;
  idp.user = { sub, claims: { email: `${sub}@acme.com`, email_verified: true, name: sub } };
  try {
    const back = await throughIdp(s, idp, new Jar(), `${s.baseUrl}/authorize?${new URLSearchParams({
      client_id: app.client_id, response_type: 'code', redirect_uri: CALLBACK, scope: 'openid profile email', state: 'st', connection,
    })}`, CALLBACK);
    assert.ok(back.searchParams.get('code'), back.toString());
  } finally { idp.user = saved; }
  return idp.seen.issued.slice(before);
}

test('the option is saved on the connection; a malformed one is a 400 that changes nothing', async () => {
  const read = await s.api('GET', `/connections/${vault.id}`);
  assert.equal(read.status, 200);
  assert.deepEqual(read.body.options.federated_connections_access_tokens, { active: true });
  const plain = await s.api('GET', '/connections?name=plain-okta');
  assert.equal(plain.body[0].options.federated_connections_access_tokens, undefined);

  const bad = await s.api('PATCH', `/connections/${vault.id}`, { body: { options: { ...read.body.options, federated_connections_access_tokens: { active: 'yes' } } } });
  assertError(bad, 400, /federated_connections_access_tokens/);
  assert.deepEqual((await s.api('GET', `/connections/${vault.id}`)).body.options.federated_connections_access_tokens, { active: true });
  const created = await okta('bad-vault', { federated_connections_access_tokens: { active: true, extra: 1 } });
  assertError(created, 400);
  assert.deepEqual((await s.api('GET', '/connections?name=bad-vault')).body, []);
});

test('a login through the connection keeps the token set: listed without tokens, sealed at rest', async () => {
  const userId = 'okta|vault-okta|00uvault1';
  const issued = await login('vault-okta', '00uvault1');
  assert.equal(issued.length, 2, 'an access and a refresh token');
  const r = await tokenSets(userId);
  assert.equal(r.status, 200);
  assert.ok(Array.isArray(r.body));
  assert.equal(r.body.length, 1);
  const set = r.body[0];
  assert.deepEqual(Object.keys(set).sort(), ['connection', 'expires_at', 'id', 'issued_at', 'last_used_at', 'scope']);
  assert.match(set.id, /^[0-9a-f-]{36}$/);
  assert.equal(set.connection, 'vault-okta');
  assert.equal(set.scope, VAULT_SCOPE);
  assert.equal(set.last_used_at, null);
  assert.equal(Date.parse(set.expires_at) - Date.parse(set.issued_at), 3600_000, 'the IdP said expires_in 3600');
  for (const t of issued) assert.ok(!JSON.stringify(r.body).includes(t), 'no token value in the answer');

  // The database holds the tokens only sealed, and they open to what the IdP issued.
  const rows = await rowsOf(userId);
  assert.equal(rows.length, 1);
  for (const t of issued) assert.ok(!JSON.stringify(rows[0]).includes(t), 'no token in the clear in the row');
  const sealed = JSON.parse(rows[0].payload).tokens;
  assert.match(sealed, /^enc:/);
  assert.deepEqual(JSON.parse(s.runtime.env.box.open(sealed)), { access_token: issued[0], refresh_token: issued[1], token_type: 'bearer' });

  // The next login replaces the set, under the same id.
  const again = await login('vault-okta', '00uvault1');
  const after = await tokenSets(userId);
  assert.equal(after.body.length, 1);
  assert.equal(after.body[0].id, set.id);
  assert.ok(Date.parse(after.body[0].issued_at) >= Date.parse(set.issued_at));
  const reopened = JSON.parse(s.runtime.env.box.open(JSON.parse((await rowsOf(userId))[0].payload).tokens));
  assert.equal(reopened.access_token, again[0]);
  assert.equal(reopened.refresh_token, again[1]);

  // Without offline_access the IdP sends no refresh token: the one held is kept, the scope is the new one.
  const options = (await s.api('GET', `/connections/${vault.id}`)).body.options;
  assert.equal((await s.api('PATCH', `/connections/${vault.id}`, { body: { options: { ...options, scope: 'openid profile email' } } })).status, 200);
  try {
    const third = await login('vault-okta', '00uvault1');
    assert.equal(third.length, 1);
    const kept = JSON.parse(s.runtime.env.box.open(JSON.parse((await rowsOf(userId))[0].payload).tokens));
    assert.deepEqual([kept.access_token, kept.refresh_token], [third[0], again[1]]);
    assert.equal((await tokenSets(userId)).body[0].scope, 'openid profile email');
  } finally {
    await s.api('PATCH', `/connections/${vault.id}`, { body: { options } });
  }
});

test('a login through a connection without the option keeps nothing', async () => {
  const userId = 'okta|plain-okta|00uplain1';
  const issued = await login('plain-okta', '00uplain1');
  assert.equal(issued.length, 1, 'the IdP did issue an access token');
  assert.equal((await s.api('GET', `/users/${enc(userId)}`)).status, 200, 'the login made the user');
  const r = await tokenSets(userId);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, []);
  assert.deepEqual(await rowsOf(userId), []);
});

test('DELETE removes a set; unknown sets and users are 404s, a read-only token a 403', async () => {
  const userId = 'okta|vault-okta|00uvault2';
  await login('vault-okta', '00uvault2');
  const [set] = (await tokenSets(userId)).body;
  assert.ok(set?.id);
  const other = 'okta|vault-okta|00uvault3';
  await login('vault-okta', '00uvault3');

  // Another user's set is not this user's to delete.
  assertError(await s.api('DELETE', `/users/${enc(other)}/federated-connections-tokensets/${set.id}`), 404, undefined, 'inexistent_tokenset');
  assertError(await s.api('DELETE', `/users/${enc(userId)}/federated-connections-tokensets/00000000-0000-4000-8000-000000000000`), 404);
  assertError(await s.api('DELETE', `/users/${enc('okta|vault-okta|nobody')}/federated-connections-tokensets/${set.id}`), 404, undefined, 'inexistent_user');
  assertError(await tokenSets('okta|vault-okta|nobody'), 404, undefined, 'inexistent_user');
  assertError(await s.api('DELETE', `/users/${enc(userId)}/federated-connections-tokensets/${set.id}`, { token: await s.token('read:federated_connections_tokens') }), 403);
  assert.equal((await tokenSets(userId)).body.length, 1, 'the refused requests deleted nothing');

  const del = await s.api('DELETE', `/users/${enc(userId)}/federated-connections-tokensets/${set.id}`, { token: await s.token('delete:federated_connections_tokens') });
  assert.equal(del.status, 204, JSON.stringify(del.body));
  assert.deepEqual((await tokenSets(userId)).body, []);
  assert.deepEqual(await rowsOf(userId), []);
  assertError(await s.api('DELETE', `/users/${enc(userId)}/federated-connections-tokensets/${set.id}`), 404);
  assert.equal((await tokenSets(other)).body.length, 1, 'the other user keeps theirs');
});

test('a linked identity\'s set is listed on its primary, and goes when the identity is unlinked', async () => {
  const identity = 'okta|vault-okta|00ulinked';
  await login('vault-okta', '00ulinked');
  const primary = await createUser(s, 'primary@example.com', 'Primary-password-1!');
  const linked = await s.api('POST', `/users/${enc(primary.user_id)}/identities`, { body: { provider: 'okta', user_id: 'vault-okta|00ulinked' } });
  assert.equal(linked.status, 201, JSON.stringify(linked.body));
  // Linking drops what the secondary held as a user, its token set included.
  assert.deepEqual((await tokenSets(primary.user_id)).body, []);
  assertError(await tokenSets(identity), 404, undefined, 'inexistent_user');

  // A login through the linked identity keeps a set, listed on the primary.
  await login('vault-okta', '00ulinked');
  const listed = (await tokenSets(primary.user_id)).body;
  assert.deepEqual(listed.map((t: any) => t.connection), ['vault-okta']);
  assert.equal((await rowsOf(identity))[0].uid, listed[0].id);

  const unlinked = await s.api('DELETE', `/users/${enc(primary.user_id)}/identities/okta/${enc('vault-okta|00ulinked')}`);
  assert.equal(unlinked.status, 200, JSON.stringify(unlinked.body));
  assert.deepEqual((await tokenSets(primary.user_id)).body, []);
  assert.deepEqual((await tokenSets(identity)).body, []);
  assert.deepEqual(await rowsOf(identity), []);
});

test('deleting the user removes its sets, and so does deleting the connection', async () => {
  const userId = 'okta|vault-okta|00ugone';
  await login('vault-okta', '00ugone');
  assert.equal((await rowsOf(userId)).length, 1);
  assert.equal((await s.api('DELETE', `/users/${enc(userId)}`)).status, 204);
  assert.deepEqual(await rowsOf(userId), []);

  const survivor = 'okta|vault-okta|00uvault3';
  assert.equal((await rowsOf(survivor)).length, 1);
  assert.equal((await s.api('DELETE', `/connections/${vault.id}`)).status, 202);
  // The delete is answered 202: wait for it to land rather than for a fixed time.
  const deadline = Date.now() + 10_000;
  while ((await rowsOf(survivor)).length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(await rowsOf(survivor), []);
  assert.deepEqual(await s.runtime.env.store.listPayloads(MODEL), []);
});
