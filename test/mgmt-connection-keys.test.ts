import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import type { ManagementClient } from 'auth0';
import { startServer, type TestServer } from './helpers/server.ts';
import { managementClient } from './helpers/sdk.ts';
import { clientAssertion } from '../src/connections/keys.ts';

// A connection's own signing keys (/connections/{id}/keys), through the
// official SDK and plain fetch: provisioning, listing, rotation, and the
// private_key_jwt client assertions they sign, checked against the published
// certificates.

let s: TestServer;
let mc: ManagementClient;
before(async () => {
  s = await startServer();
  mc = managementClient(s);
});
after(async () => { await s?.close(); });

const TOKEN_ENDPOINT = 'https://acme.okta.com/oauth2/v1/token';
const LIST_FIELDS = ['algorithm', 'cert', 'current', 'fingerprint', 'key_use', 'kid', 'next', 'pkcs', 'previous', 'subject_dn', 'thumbprint'];

async function oktaConnection(name: string, options: Record<string, unknown> = {}) {
  const r = await s.api('POST', '/connections', {
    body: {
      strategy: 'okta', name,
      options: {
        client_id: 'x', client_secret: 'y', domain: 'acme.okta.com', token_endpoint_auth_method: 'private_key_jwt',
        oidc_metadata: {
          issuer: 'https://acme.okta.com', authorization_endpoint: 'https://acme.okta.com/oauth2/v1/authorize',
          token_endpoint: TOKEN_ENDPOINT, jwks_uri: 'https://acme.okta.com/oauth2/v1/keys', id_token_signing_alg_values_supported: ['RS256'],
        },
        ...options,
      },
    },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id as string;
}

/** The stored connection, as the login code will hand it to clientAssertion. */
async function assertionFor(id: string) {
  const conn = await s.runtime.env.store.connections.get(id);
  assert.ok(conn);
  return clientAssertion(s.runtime.env, conn, TOKEN_ENDPOINT);
}

/** The certificate's SHA-1, as Auth0 shows it. */
function sha1Of(cert: string) {
  const hex = createHash('sha1').update(new X509Certificate(cert).raw).digest('hex').toUpperCase();
  return { fingerprint: hex.match(/../g)!.join(':'), thumbprint: hex };
}

function assertPublicOnly(body: unknown) {
  const text = JSON.stringify(body);
  assert.doesNotMatch(text, /PRIVATE KEY|private_key|"d":|enc:v1:/, 'no private key material in an answer');
}

const notFoundBody = { statusCode: 404, error: 'Not Found', message: 'The connection does not exist', errorCode: 'inexistent_connection' };

test('POST provisions a current and a next key (201), a second POST is a 409', async () => {
  const id = await oktaConnection('acme-okta');
  const none = await s.api('GET', `/connections/${id}/keys`);
  assert.equal(none.status, 200);
  assert.deepEqual(none.body, [], 'no keys before they are provisioned');

  const r = await s.api('POST', `/connections/${id}/keys`, { body: { signing_alg: 'RS256' } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assertPublicOnly(r.body);
  assert.equal(r.body.length, 2);
  const [current, next] = r.body;
  for (const k of r.body) {
    assert.deepEqual(Object.keys(k).sort(), [...LIST_FIELDS.filter((f) => f !== 'previous'), ...(k.current ? ['current_since'] : [])].sort());
    assert.equal(k.algorithm, 'RS256');
    assert.equal(k.key_use, 'signing');
    assert.deepEqual({ fingerprint: k.fingerprint, thumbprint: k.thumbprint }, sha1Of(k.cert));
  }
  assert.deepEqual([current.current, current.next, next.current, next.next], [true, false, false, true]);
  assert.ok(Date.parse(current.current_since) <= Date.now());
  assert.notEqual(current.kid, next.kid);

  const again = await s.api('POST', `/connections/${id}/keys`, { body: { signing_alg: 'RS256' } });
  assert.equal(again.status, 409);
  assert.deepEqual({ ...again.body, message: undefined }, { statusCode: 409, error: 'Conflict', message: undefined, errorCode: 'conflict' });
  assert.equal(typeof again.body.message, 'string');
  assert.deepEqual((await s.api('GET', `/connections/${id}/keys`)).body.map((k: any) => k.kid), [current.kid, next.kid], 'the 409 changed nothing');
});

test('GET lists X.509 certificates whose current key verifies the client assertion', async () => {
  const id = await oktaConnection('list-okta');
  await s.api('POST', `/connections/${id}/keys`, { body: {} });
  const keys = await mc.connections.keys.get(id);
  assertPublicOnly(keys);
  assert.equal(keys.length, 2);
  const domain = s.domain.replace(/:\d+$/, '');
  for (const k of keys) {
    assert.deepEqual(Object.keys(k).filter((f) => f !== 'current_since').sort(), LIST_FIELDS);
    const x509 = new X509Certificate(k.cert);
    assert.equal(x509.subject, `CN=${domain}`);
    assert.equal(k.subject_dn, `CN=${domain}`);
    assert.ok(x509.verify(x509.publicKey), 'self-signed');
    assert.equal(x509.publicKey.asymmetricKeyType, 'rsa');
    assert.equal(x509.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
    assert.deepEqual({ fingerprint: k.fingerprint, thumbprint: k.thumbprint }, sha1Of(k.cert));
    assert.match(k.pkcs!, /^-----BEGIN PKCS7-----\r\n[\s\S]+\r\n-----END PKCS7-----\r\n$/);
    const p7 = Buffer.from(k.pkcs!.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    assert.ok(p7.includes(x509.raw), 'the PKCS#7 carries the certificate');
  }
  const current = keys.find((k) => k.current)!;
  const next = keys.find((k) => k.next)!;
  assert.equal(current.previous, false);

  const jwt = await assertionFor(id);
  assert.deepEqual(decodeProtectedHeader(jwt), { alg: 'RS256', kid: current.kid });
  const { payload } = await jwtVerify(jwt, new X509Certificate(current.cert).publicKey, { issuer: 'x', subject: 'x', audience: TOKEN_ENDPOINT });
  assert.equal(payload.exp! - payload.iat!, 60);
  assert.ok(Math.abs(payload.iat! - Date.now() / 1000) < 30);
  assert.match(String(payload.jti), /^.{16,}$/);
  assert.notEqual((await jwtVerify(await assertionFor(id), new X509Certificate(current.cert).publicKey)).payload.jti, payload.jti, 'a fresh jti each time');
  await assert.rejects(jwtVerify(jwt, new X509Certificate(next.cert).publicKey), 'signed with the current key, not the next one');
});

test('rotate (SDK): next becomes current, current becomes previous, a new next is returned', async () => {
  const id = await oktaConnection('rotate-okta');
  await s.api('POST', `/connections/${id}/keys`, { body: { signing_alg: 'RS256' } });
  const before = await mc.connections.keys.get(id);
  const oldCurrent = before.find((k) => k.current)!;
  const oldNext = before.find((k) => k.next)!;

  const raw = await s.api('POST', `/connections/${id}/keys/rotate`, { body: { signing_alg: 'RS256' } });
  assert.equal(raw.status, 201, JSON.stringify(raw.body));
  assert.deepEqual(Object.keys(raw.body).sort(), ['algorithm', 'cert', 'fingerprint', 'key_use', 'kid', 'next', 'pkcs', 'subject_dn', 'thumbprint']);
  assert.equal(raw.body.next, true);

  const rotated = await mc.connections.keys.rotate(id, { signing_alg: 'RS256' });
  assertPublicOnly(rotated);
  assert.equal(rotated.next, true);
  assert.equal(rotated.algorithm, 'RS256');
  assert.deepEqual({ fingerprint: rotated.fingerprint, thumbprint: rotated.thumbprint }, sha1Of(rotated.cert));

  // Two rotations: the first one's next key (raw) is current now, oldNext the previous one, oldCurrent is gone.
  const after = await mc.connections.keys.get(id);
  const byState = (f: 'current' | 'next' | 'previous') => after.filter((k) => k[f]).map((k) => k.kid);
  assert.deepEqual(byState('current'), [raw.body.kid]);
  assert.deepEqual(byState('next'), [rotated.kid]);
  assert.deepEqual(byState('previous'), [oldNext.kid]);
  assert.ok(!after.some((k) => k.kid === oldCurrent.kid), 'older previous keys are dropped');
  assert.ok(Date.parse(after.find((k) => k.current)!.current_since!) >= Date.parse(oldCurrent.current_since!));

  const jwt = await assertionFor(id);
  assert.equal(decodeProtectedHeader(jwt).kid, raw.body.kid, 'assertions are signed with the new current key');
  await jwtVerify(jwt, new X509Certificate(raw.body.cert).publicKey, { audience: TOKEN_ENDPOINT });
});

test('concurrent rotations leave exactly one current and one next key', async () => {
  const id = await oktaConnection('race-okta');
  await s.api('POST', `/connections/${id}/keys`, { body: { signing_alg: 'ES256' } });
  const results = await Promise.all(Array.from({ length: 6 }, () => s.api('POST', `/connections/${id}/keys/rotate`, { body: {} })));
  for (const r of results) assert.equal(r.status, 201, JSON.stringify(r.body));
  const keys = (await s.api('GET', `/connections/${id}/keys`)).body;
  assert.equal(keys.filter((k: any) => k.current).length, 1);
  assert.equal(keys.filter((k: any) => k.next).length, 1);
  assert.equal(keys.filter((k: any) => k.previous).length, 1);
  assert.equal(new Set(keys.map((k: any) => k.kid)).size, 3);
  const nextKids = new Set(results.map((r) => r.body.kid));
  assert.equal(nextKids.size, 6, 'every rotation made its own next key');
  // Serialised, six rotations promote the keys the fifth and fourth returned; a lost update would leave older ones.
  for (const state of ['next', 'current', 'previous']) {
    assert.ok(nextKids.has(keys.find((k: any) => k[state]).kid), `the ${state} key is one a rotation returned`);
  }
  assert.ok(keys.every((k: any) => k.algorithm === 'ES256'), 'a rotation without signing_alg keeps the current algorithm');
});

test('ES256 and ES384 keys: EC certificates, and assertions signed with ES*', async () => {
  const es256 = await oktaConnection('es256-okta');
  const created = await mc.connections.keys.create(es256, { signing_alg: 'ES256' });
  assert.equal(created.length, 2);
  for (const k of created) {
    assert.equal(k.algorithm, 'ES256');
    const pub = new X509Certificate(k.cert).publicKey;
    assert.equal(pub.asymmetricKeyType, 'ec');
    assert.equal(pub.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.ok(new X509Certificate(k.cert).verify(pub));
  }
  const current = created.find((k) => k.current)!;
  const jwt = await assertionFor(es256);
  assert.deepEqual(decodeProtectedHeader(jwt), { alg: 'ES256', kid: current.kid });
  await jwtVerify(jwt, new X509Certificate(current.cert).publicKey, { algorithms: ['ES256'], issuer: 'x', audience: TOKEN_ENDPOINT });

  // Rotating to another algorithm: the new next key is P-384.
  const rotated = await mc.connections.keys.rotate(es256, { signing_alg: 'ES384' });
  assert.equal(rotated.algorithm, 'ES384');
  assert.equal(new X509Certificate(rotated.cert).publicKey.asymmetricKeyDetails?.namedCurve, 'secp384r1');
});

test('a private_key_jwt connection without keys gets them on first use, with its configured algorithm', async () => {
  const id = await oktaConnection('lazy-okta', { token_endpoint_auth_signing_alg: 'ES384' });
  assert.deepEqual((await s.api('GET', `/connections/${id}/keys`)).body, []);
  const [a, b] = await Promise.all([assertionFor(id), assertionFor(id)]);
  const keys = (await s.api('GET', `/connections/${id}/keys`)).body;
  assert.equal(keys.length, 2, 'concurrent first uses provision once');
  const current = keys.find((k: any) => k.current);
  assert.equal(current.algorithm, 'ES384');
  for (const jwt of [a, b]) {
    assert.deepEqual(decodeProtectedHeader(jwt), { alg: 'ES384', kid: current.kid });
    await jwtVerify(jwt, new X509Certificate(current.cert).publicKey, { audience: TOKEN_ENDPOINT });
  }
});

test('rotate on a connection without keys provisions them and answers with the next key', async () => {
  const id = await oktaConnection('rotate-first-okta');
  const r = await s.api('POST', `/connections/${id}/keys/rotate`, { body: { signing_alg: 'PS256' } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const keys = (await s.api('GET', `/connections/${id}/keys`)).body;
  assert.deepEqual(keys.map((k: any) => [k.current, k.next, k.algorithm]), [[true, false, 'PS256'], [false, true, 'PS256']]);
  assert.equal(keys[1].kid, r.body.kid);
  const jwt = await assertionFor(id);
  assert.equal(decodeProtectedHeader(jwt).alg, 'PS256');
  await jwtVerify(jwt, new X509Certificate(keys[0].cert).publicKey, { algorithms: ['PS256'] });
});

test('a bad signing_alg or an unknown property is a 400 in Auth0 shape', async () => {
  const id = await oktaConnection('bad-alg-okta');
  for (const [path, body, property] of [
    ['keys', { signing_alg: 'HS256' }, 'on property signing_alg'],
    ['keys', { signing_alg: 42 }, 'on property signing_alg'],
    ['keys/rotate', { signing_alg: 'none' }, 'on property signing_alg'],
    ['keys', { signing_alg: 'RS256', use: 'sig' }, 'Additional properties not allowed: use'],
  ] as const) {
    const r = await s.api('POST', `/connections/${id}/${path}`, { body });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.deepEqual(Object.keys(r.body).sort(), ['error', 'errorCode', 'message', 'statusCode']);
    assert.equal(r.body.statusCode, 400);
    assert.equal(r.body.error, 'Bad Request');
    assert.equal(r.body.errorCode, 'invalid_body');
    assert.match(r.body.message, /^Payload validation error: '.+'/);
    assert.ok(r.body.message.includes(property), r.body.message);
  }
  assert.deepEqual((await s.api('GET', `/connections/${id}/keys`)).body, [], 'rejected requests made no keys');
});

test('an unknown connection is a 404 for every keys operation', async () => {
  for (const [method, path] of [['GET', 'keys'], ['POST', 'keys'], ['POST', 'keys/rotate']]) {
    const r = await s.api(method, `/connections/con_doesnotexist0000/${path}`, method === 'POST' ? { body: { signing_alg: 'RS256' } } : {});
    assert.equal(r.status, 404, `${method} ${path}`);
    assert.deepEqual(r.body, notFoundBody, `${method} ${path}`);
  }
  await assert.rejects(mc.connections.keys.get('con_doesnotexist0000'), (e: any) => e.statusCode === 404);
  await assert.rejects(clientAssertion(s.runtime.env, { id: 'con_doesnotexist0000', data: { options: { client_id: 'x' } } }, TOKEN_ENDPOINT),
    (e: any) => e.statusCode === 404, 'no keys are made for a connection that does not exist');
  assert.equal(await s.runtime.env.store.connectionKeys.get('con_doesnotexist0000'), undefined);
});

test('private keys rest sealed, outside the connection options, and go with the connection', async () => {
  const id = await oktaConnection('delete-okta');
  await s.api('POST', `/connections/${id}/keys`, { body: { signing_alg: 'RS256' } });
  const store = s.runtime.env.store;
  const stored = await store.connectionKeys.list({ name: id });
  assert.equal(stored.items.length, 1);
  const raw = JSON.stringify(stored.items[0].data);
  assert.doesNotMatch(raw, /PRIVATE KEY/, 'private keys are sealed at rest');
  assert.equal(stored.items[0].data.keys.length, 2);
  for (const k of stored.items[0].data.keys) assert.match(k.private_key, /^enc:v1:/);
  const conn = await s.api('GET', `/connections/${id}`);
  assert.doesNotMatch(JSON.stringify(conn.body), /CERTIFICATE|PRIVATE|enc:v1:/, 'the connection options hold no key');

  const del = await s.api('DELETE', `/connections/${id}`);
  assert.equal(del.status, 202);
  assert.equal((await store.connectionKeys.list({ name: id })).items.length, 0, 'the keys went with the connection');
  assert.deepEqual((await s.api('GET', `/connections/${id}/keys`)).body, notFoundBody);

  const again = await oktaConnection('delete-okta');
  assert.deepEqual((await s.api('GET', `/connections/${again}/keys`)).body, [], 'a new connection of the same name starts without keys');
});
