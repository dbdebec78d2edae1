import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { constants, createCipheriv, createHash, createPublicKey, generateKeyPairSync, publicEncrypt, randomBytes } from 'node:crypto';
import type { ManagementClient } from 'auth0';
import { startServer, type TestServer } from './helpers/server.ts';
import { collect, managementClient } from './helpers/sdk.ts';
import { assertError } from './helpers/assert.ts';

// Customer-managed encryption keys (the key hierarchy, rekey, bring-your-own-key
// import) and the EA Network ACL keys, through the official SDK. The customer
// side of an import is done here as a customer's KMS does it: RSA-OAEP-SHA-256
// of an ephemeral AES-256 key, then that key wraps theirs with AES-KWP (RFC 5649).
// The tests share one tenant and run in order: each reads the hierarchy it starts from.

let s: TestServer;
let mc: ManagementClient;
before(async () => { s = await startServer(); mc = managementClient(s); });
after(async () => { await s?.close(); });

const doc = (name: string) => s.runtime.env.store.getTenantDoc<any>(name);
const stored = async (kid: string) => (await doc('encryption-keys')).items.find((x: any) => x.id === kid);
const allKeys = async (): Promise<any[]> => collect(await mc.keys.encryption.list() as any);
const activeOf = async (type: string) => {
  const found = (await allKeys()).filter((k) => k.type === type && k.state === 'active');
  assert.equal(found.length, 1, `exactly one active ${type}`);
  return found[0];
};

/** What a customer sends: base64(RSA-OAEP-SHA256(ephemeral) || AES-KWP(ephemeral, key)). */
function wrapForImport(publicKeyPem: string, customerKey: Buffer): string {
  const ephemeral = randomBytes(32);
  const rsaPart = publicEncrypt({ key: publicKeyPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, ephemeral);
  const kwp = createCipheriv('id-aes256-wrap-pad', ephemeral, Buffer.from('a65959a6', 'hex'));
  return Buffer.concat([rsaPart, kwp.update(customerKey), kwp.final()]).toString('base64');
}

const KEY_FIELDS = ['kid', 'type', 'state', 'created_at', 'updated_at', 'parent_kid', 'public_key'];

test('a tenant starts with an active environment root key and a tenant master key under it, listed and paged', async () => {
  const keys = await allKeys();
  assert.equal(keys.length, 2);
  const root = keys.find((k) => k.type === 'environment-root-key');
  const master = keys.find((k) => k.type === 'tenant-master-key');
  assert.deepEqual(Object.keys(root).sort(), [...KEY_FIELDS].sort());
  assert.match(root.kid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.deepEqual({ ...root, kid: undefined, created_at: undefined, updated_at: undefined }, { kid: undefined, type: 'environment-root-key', state: 'active', created_at: undefined, updated_at: undefined, parent_kid: null, public_key: null });
  assert.deepEqual([master.state, master.parent_kid, master.public_key], ['active', root.kid, null]);
  assert.deepEqual(await mc.keys.encryption.get(master.kid), master);
  // The first read made the hierarchy; later reads answer the same keys.
  assert.deepEqual((await allKeys()).map((k) => k.kid).sort(), [root.kid, master.kid].sort());
  const page = await s.api('GET', '/keys/encryption?include_totals=true&per_page=1&page=1');
  assert.equal(page.status, 200);
  assert.deepEqual(Object.keys(page.body).sort(), ['keys', 'limit', 'start', 'total']);
  assert.deepEqual([page.body.start, page.body.limit, page.body.total, page.body.keys.length], [1, 1, 2, 1]);
  const bare = await s.api('GET', '/keys/encryption');
  assert.ok(Array.isArray(bare.body) && bare.body.length === 2);
  assertError(await s.api('GET', '/keys/encryption?per_page=101'), 400);
});

test('BYOK: a customer-provided root key is created, given an RSA-3072 wrapping key, and imported; it becomes the root', async () => {
  const rootBefore = await activeOf('environment-root-key');
  const masterBefore = await activeOf('tenant-master-key');
  const created: any = await mc.keys.encryption.create({ type: 'customer-provided-root-key' });
  assert.deepEqual({ ...created, kid: 'k', created_at: 't', updated_at: 't' }, { kid: 'k', type: 'customer-provided-root-key', state: 'pre-activation', created_at: 't', updated_at: 't', parent_kid: null, public_key: null });
  assert.equal(created.created_at, created.updated_at);

  const wrapping: any = await mc.keys.encryption.createPublicWrappingKey(created.kid);
  assert.deepEqual(Object.keys(wrapping).sort(), ['algorithm', 'public_key']);
  assert.equal(wrapping.algorithm, 'CKM_RSA_AES_KEY_WRAP');
  const pub = createPublicKey(wrapping.public_key);
  assert.deepEqual([pub.asymmetricKeyType, pub.asymmetricKeyDetails?.modulusLength], ['rsa', 3072]);
  assert.deepEqual(await mc.keys.encryption.get(created.kid), created, 'a wrapping key changes neither the state nor updated_at');
  const sealedWrapping = (await stored(created.kid)).wrapping;
  assert.match(sealedWrapping.private_key, /^enc:v1:/);
  assert.ok(!JSON.stringify(await doc('encryption-keys')).includes('PRIVATE KEY'), 'the private wrapping key is sealed at rest');

  // Material that does not unwrap is refused, and the key stays pending.
  const refused = 'Invalid input. Wrapped key material is invalid or unsupported key type.';
  const otherRsa = generateKeyPairSync('rsa', { modulusLength: 3072 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  for (const wrapped_key of [
    'bad-key-value', '', randomBytes(600).toString('base64'),
    wrapForImport(otherRsa, randomBytes(32)), // wrapped for someone else's key
    wrapForImport(wrapping.public_key, randomBytes(16)), // an AES-128 key: not the AES-256 Auth0 asks for
    wrapForImport(wrapping.public_key, randomBytes(32)).slice(0, -8) + 'AAAAAAA=', // a damaged KWP part
  ]) {
    assertError(await s.api('POST', `/keys/encryption/${created.kid}`, { body: { wrapped_key } }), 400, refused, 'invalid_body');
  }
  assertError(await s.api('POST', `/keys/encryption/${created.kid}`, { body: {} }), 400, /Missing required property: wrapped_key/);
  assert.equal((await mc.keys.encryption.get(created.kid)).state, 'pre-activation');

  const customerKey = randomBytes(32);
  const imported: any = await mc.keys.encryption.import(created.kid, { wrapped_key: wrapForImport(wrapping.public_key, customerKey) });
  assert.deepEqual(Object.keys(imported).sort(), ['created_at', 'kid', 'parent_kid', 'state', 'type', 'updated_at'], 'no public_key in the import answer');
  assert.deepEqual([imported.kid, imported.type, imported.state, imported.parent_kid, imported.created_at], [created.kid, 'customer-provided-root-key', 'active', null, created.created_at]);
  assert.ok(imported.updated_at > created.updated_at);

  // The customer's root replaces the environment root key; a new master key generation lives under it.
  const after = await allKeys();
  const byKid = (kid: string) => after.find((k) => k.kid === kid);
  assert.equal(byKid(rootBefore.kid).state, 'destroyed');
  assert.deepEqual([byKid(masterBefore.kid).state, byKid(masterBefore.kid).parent_kid], ['destroyed', created.kid]);
  const master = await activeOf('tenant-master-key');
  assert.notEqual(master.kid, masterBefore.kid);
  assert.equal(master.parent_kid, created.kid);
  assert.equal(after[0].kid, master.kid, 'newest first');
  const row = await stored(created.kid);
  assert.equal(row.wrapping, undefined, 'the wrapping key is spent');
  assert.equal(s.runtime.env.box.open(row.material), customerKey.toString('base64'), 'the customer key is kept, sealed');
  assert.ok(!JSON.stringify(await doc('encryption-keys')).includes(customerKey.toString('base64')));

  // An active key takes neither new material nor a new wrapping key.
  assertError(await s.api('POST', `/keys/encryption/${created.kid}`, { body: { wrapped_key: wrapForImport(wrapping.public_key, customerKey) } }), 409, /pre-activation/);
  assertError(await s.api('POST', `/keys/encryption/${created.kid}/wrapping-key`), 409, /pre-activation/);
});

test('BYOK: an import needs a wrapping key, and only the latest wrapping key unwraps', async () => {
  const k: any = await mc.keys.encryption.create({ type: 'customer-provided-root-key' });
  assertError(await s.api('POST', '/keys/encryption', { body: { type: 'customer-provided-root-key' } }), 409, /already waiting/);
  assertError(await s.api('POST', `/keys/encryption/${k.kid}`, { body: { wrapped_key: 'AAAA' } }), 409, /wrapping key/);
  const first: any = await mc.keys.encryption.createPublicWrappingKey(k.kid);
  const second: any = await mc.keys.encryption.createPublicWrappingKey(k.kid);
  assert.notEqual(first.public_key, second.public_key);
  const material = randomBytes(32);
  assertError(await s.api('POST', `/keys/encryption/${k.kid}`, { body: { wrapped_key: wrapForImport(first.public_key, material) } }), 400);
  assert.equal((await mc.keys.encryption.get(k.kid)).state, 'pre-activation');
  const previousRoot = await activeOf('customer-provided-root-key');
  const r = await s.api('POST', `/keys/encryption/${k.kid}`, { body: { wrapped_key: wrapForImport(second.public_key, material) } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.state, 'active');
  // The new customer root replaces the previous one.
  assert.equal((await mc.keys.encryption.get(previousRoot.kid)).state, 'destroyed');
  assert.equal((await activeOf('customer-provided-root-key')).kid, k.kid);
  assert.equal((await activeOf('tenant-master-key')).parent_kid, k.kid);
});

test('rekey: a new tenant master key under the active root; the previous one is destroyed', async () => {
  const root = (await allKeys()).find((k) => ['environment-root-key', 'customer-provided-root-key'].includes(k.type) && k.state === 'active');
  const old = await activeOf('tenant-master-key');
  await mc.keys.encryption.rekey();
  const fresh = await activeOf('tenant-master-key');
  assert.notEqual(fresh.kid, old.kid);
  assert.equal(fresh.parent_kid, root.kid);
  const was: any = await mc.keys.encryption.get(old.kid);
  assert.deepEqual([was.state, was.parent_kid], ['destroyed', root.kid]);
  assert.ok(was.updated_at > old.updated_at);
  assert.equal((await mc.keys.encryption.get(root.kid)).state, 'active', 'the root is untouched');
  const r = await s.api('POST', '/keys/encryption/rekey');
  assert.equal(r.status, 204);
  assert.notEqual((await activeOf('tenant-master-key')).kid, fresh.kid);
});

test('delete: Auth0\'s own keys are refused, customer keys are destroyed and stay listed; deleting the active root brings back an environment root key', async () => {
  const master = await activeOf('tenant-master-key');
  const before = JSON.stringify(await doc('encryption-keys'));
  assertError(await s.api('DELETE', `/keys/encryption/${master.kid}`), 400, /tenant-master-key cannot be deleted/);
  const erk = (await allKeys()).find((k) => k.type === 'environment-root-key');
  assertError(await s.api('DELETE', `/keys/encryption/${erk.kid}`), 400, /environment-root-key cannot be deleted/);
  assertError(await s.api('POST', `/keys/encryption/${master.kid}/wrapping-key`), 400, /managed by Auth0/);
  assertError(await s.api('POST', `/keys/encryption/${erk.kid}`, { body: { wrapped_key: 'AAAA' } }), 400, /managed by Auth0/);
  assert.equal(JSON.stringify(await doc('encryption-keys')), before, 'refused requests wrote nothing');

  // A pending key is simply destroyed.
  const pending: any = await mc.keys.encryption.create({ type: 'customer-provided-root-key' });
  await mc.keys.encryption.createPublicWrappingKey(pending.kid);
  await mc.keys.encryption.delete(pending.kid);
  const gone: any = await mc.keys.encryption.get(pending.kid);
  assert.equal(gone.state, 'destroyed');
  assert.equal((await stored(pending.kid)).wrapping, undefined, 'a destroyed key keeps no key material');
  assert.ok((await allKeys()).some((k) => k.kid === pending.kid));
  assertError(await s.api('DELETE', `/keys/encryption/${pending.kid}`), 400, /already destroyed/);
  assertError(await s.api('POST', `/keys/encryption/${pending.kid}/wrapping-key`), 409, /destroyed/);

  // The active customer root: destroyed, and an Auth0-managed root with a new master key takes over.
  const cprk = await activeOf('customer-provided-root-key');
  const r = await s.api('DELETE', `/keys/encryption/${cprk.kid}`);
  assert.equal(r.status, 204);
  assert.equal((await mc.keys.encryption.get(cprk.kid)).state, 'destroyed');
  assert.equal((await stored(cprk.kid)).material, undefined);
  assert.equal((await allKeys()).filter((k) => k.type === 'customer-provided-root-key' && k.state === 'active').length, 0);
  const newRoot = await activeOf('environment-root-key');
  assert.notEqual(newRoot.kid, erk.kid);
  assert.equal(newRoot.parent_kid, null);
  const newMaster = await activeOf('tenant-master-key');
  assert.notEqual(newMaster.kid, master.kid);
  assert.equal(newMaster.parent_kid, newRoot.kid);
  assert.deepEqual([(await mc.keys.encryption.get(master.kid)).state, (await mc.keys.encryption.get(master.kid)).parent_kid], ['destroyed', newRoot.kid]);
});

test('a tenant encryption key is imported the same way and sits under the active master key', async () => {
  const k: any = await mc.keys.encryption.create({ type: 'tenant-encryption-key' });
  assert.deepEqual([k.type, k.state, k.parent_kid], ['tenant-encryption-key', 'pre-activation', null]);
  const w: any = await mc.keys.encryption.createPublicWrappingKey(k.kid);
  const imported: any = await mc.keys.encryption.import(k.kid, { wrapped_key: wrapForImport(w.public_key, randomBytes(32)) });
  assert.deepEqual([imported.state, imported.parent_kid], ['active', (await activeOf('tenant-master-key')).kid]);
  assert.equal((await activeOf('environment-root-key')).state, 'active', 'the root stays');
});

test('unknown kids are 404 on every operation; a bad create is 400 and writes nothing', async () => {
  const kid = '00000000-0000-4000-8000-000000000000';
  for (const [method, path, body] of [
    ['GET', `/keys/encryption/${kid}`], ['DELETE', `/keys/encryption/${kid}`],
    ['POST', `/keys/encryption/${kid}`, { wrapped_key: 'AAAA' }], ['POST', `/keys/encryption/${kid}/wrapping-key`],
  ] as const) assertError(await s.api(method, path, { body }), 404, 'The encryption key does not exist.');
  const before = JSON.stringify(await doc('encryption-keys'));
  for (const body of [{}, { type: 'tenant-master-key' }, { type: 'environment-root-key' }, { type: 42 }]) {
    assertError(await s.api('POST', '/keys/encryption', { body }), 400, /Payload validation error/, 'invalid_body');
  }
  assert.equal(JSON.stringify(await doc('encryption-keys')), before);
});

test('encryption key operations need their scopes', async () => {
  const readOnly = await s.token('read:encryption_keys');
  assert.equal((await s.api('GET', '/keys/encryption', { token: readOnly })).status, 200);
  assertError(await s.api('POST', '/keys/encryption', { token: readOnly, body: { type: 'customer-provided-root-key' } }), 403, /create:encryption_keys/, 'insufficient_scope');
  assertError(await s.api('POST', '/keys/encryption/rekey', { token: readOnly }), 403, /insufficient|create:encryption_keys/i);
  const updateOnly = await s.token('update:encryption_keys');
  assert.equal((await s.api('POST', '/keys/encryption/rekey', { token: updateOnly })).status, 204, 'either scope may rekey');
});

// --- Network ACL keys (EA) -------------------------------------------------------------

const hmacKey = (bytes = 32) => randomBytes(bytes).toString('base64');

test('network ACL keys: created (201), read and listed newest first; the value is never answered and is sealed at rest', async () => {
  const value = hmacKey();
  const a: any = await mc.keys.networkAcls.create({ name: 'edge-a', alg: 'hmac-sha256', value });
  assert.match(a.id, /^key_[A-Za-z0-9]{22}$/);
  assert.deepEqual({ ...a, id: 'x', created_at: 't', updated_at: 't' }, {
    id: 'x', name: 'edge-a', alg: 'hmac-sha256', fingerprint: createHash('sha256').update(Buffer.from(value, 'base64')).digest('hex'), created_at: 't', updated_at: 't',
  });
  const b: any = await mc.keys.networkAcls.create({ name: 'edge-b', alg: 'hmac-sha256', value: hmacKey(512) });
  assert.deepEqual(await mc.keys.networkAcls.get(a.id), a);
  const list: any = await mc.keys.networkAcls.list();
  assert.deepEqual(list, { keys: [b, a] });
  const raw = JSON.stringify(await doc('network-acl-keys'));
  assert.ok(!raw.includes(value) && !JSON.stringify(list).includes(value));
  const row = (await doc('network-acl-keys')).items.find((x: any) => x.id === a.id);
  assert.equal(s.runtime.env.box.open(row.value), value);
});

test('network ACL keys: bad input is 400 and writes nothing; a duplicate name is 409; at most ten', async () => {
  const before = JSON.stringify(await doc('network-acl-keys'));
  for (const body of [
    {}, { name: 'x', alg: 'hmac-sha256' }, { name: '', alg: 'hmac-sha256', value: hmacKey() }, { name: 'x'.repeat(256), alg: 'hmac-sha256', value: hmacKey() },
    { name: 'x', alg: 'hmac-sha512', value: hmacKey() }, { name: 'x', alg: 'hmac-sha256', value: hmacKey(31) }, { name: 'x', alg: 'hmac-sha256', value: hmacKey(513) },
    { name: 'x', alg: 'hmac-sha256', value: 'not base64!' }, { name: 'x', alg: 'hmac-sha256', value: hmacKey(), extra: 1 }, { name: 7, alg: 'hmac-sha256', value: hmacKey() },
    'a string', [1], null,
  ]) assertError(await s.api('POST', '/keys/network-acls', { body: JSON.stringify(body) }), 400, /Payload validation error/, 'invalid_body');
  assert.equal(JSON.stringify(await doc('network-acl-keys')), before);
  assertError(await s.api('POST', '/keys/network-acls', { body: { name: 'edge-a', alg: 'hmac-sha256', value: hmacKey() } }), 409, /already exists/);
  const count = (await mc.keys.networkAcls.list()).keys.length;
  for (let i = count; i < 10; i++) await mc.keys.networkAcls.create({ name: `fill-${i}`, alg: 'hmac-sha256', value: hmacKey() });
  assertError(await s.api('POST', '/keys/network-acls', { body: { name: 'eleventh', alg: 'hmac-sha256', value: hmacKey() } }), 400, /at most 10/);
  assert.equal((await mc.keys.networkAcls.list()).keys.length, 10);
});

test('network ACL keys: a delete is gone (404 after); unknown ids are 404', async () => {
  const { keys } = await mc.keys.networkAcls.list();
  const victim = keys.find((k: any) => k.name === 'edge-a')!;
  await mc.keys.networkAcls.delete(victim.id);
  assertError(await s.api('GET', `/keys/network-acls/${victim.id}`), 404, 'Network ACL key not found', 'inexistent_network_acl_key');
  assertError(await s.api('DELETE', `/keys/network-acls/${victim.id}`), 404);
  assert.ok(!(await mc.keys.networkAcls.list()).keys.some((k: any) => k.id === victim.id));
  // The freed place takes a new key, under the name that was deleted.
  const again: any = await mc.keys.networkAcls.create({ name: 'edge-a', alg: 'hmac-sha256', value: hmacKey() });
  assert.notEqual(again.id, victim.id);
});
