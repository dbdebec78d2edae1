import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, KeyObject, randomUUID, webcrypto, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { ManagementClient } from 'auth0';
import { calculateJwkThumbprint, createRemoteJWKSet, jwtVerify, SignJWT } from 'jose';
import { startServer, type TestServer } from './helpers/server.ts';
import { managementClient } from './helpers/sdk.ts';
import { assertError } from './helpers/assert.ts';

// Client credentials for private_key_jwt, as the Auth0 SDKs and the Terraform
// provider configure them: the credentials of an application (public keys and
// certificates made here with node:crypto and @peculiar/x509), the
// application's client_authentication_methods naming them, and /oauth/token
// accepting a client assertion signed by one of those keys, and nothing else.

let s: TestServer;
let mc: ManagementClient;
const API = 'https://pkjwt-api.example.com/';
const CRED_ID = /^cred_[A-Za-z0-9]{22}$/;
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

x509.cryptoProvider.set(webcrypto as Crypto);

interface Pair { privateKey: KeyObject; publicKey: KeyObject; spki: string; pkcs1: string; pkcs8: string }
function rsa(bits = 2048): Pair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return {
    privateKey, publicKey,
    spki: publicKey.export({ type: 'spki', format: 'pem' }) as string,
    pkcs1: publicKey.export({ type: 'pkcs1', format: 'pem' }) as string,
    pkcs8: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}
/** A self-signed certificate of a fresh 2048-bit key, valid until `notAfter`. */
async function selfSigned(notAfter: Date) {
  const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) };
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'C=es, ST=Madrid, CN=Postern Test', keys, signingAlgorithm: alg,
    notBefore: new Date(Date.now() - 60_000), notAfter,
  });
  return { pem: cert.toString('pem'), privateKey: KeyObject.from(keys.privateKey) };
}
const kidOf = async (k: KeyObject) => calculateJwkThumbprint(k.export({ format: 'jwk' }) as any, 'sha256');

let n = 0;
const newApp = async (extra: Record<string, unknown> = {}) =>
  (await mc.clients.create({ name: `pkjwt app ${++n}`, app_type: 'non_interactive', ...extra } as any)) as any;
const addCredential = async (clientId: string, body: Record<string, unknown>) =>
  (await mc.clients.credentials.create(clientId, { credential_type: 'public_key', ...body } as any)) as any;
const attach = (clientId: string, ids: string[]) => s.api('PATCH', `/clients/${clientId}`, {
  body: { client_authentication_methods: { private_key_jwt: { credentials: ids.map((id) => ({ id })) } }, token_endpoint_auth_method: null },
});
const stored = async (clientId: string) => (await s.runtime.env.store.clients.get(clientId))!.data;

before(async () => {
  s = await startServer();
  mc = managementClient(s);
  await mc.resourceServers.create({ name: 'PKJWT API', identifier: API, scopes: [{ value: 'read:things', description: 'r' }] });
});
after(async () => { await s?.close(); });

// --- the credentials of an application -------------------------------------------------

test('credentials: create, read, list, update and delete through the SDK, in Auth0\'s shapes and never with the pem', async () => {
  const app = await newApp();
  const key = rsa();
  const made = await addCredential(app.client_id, { name: 'Key A', pem: key.spki });
  assert.match(made.id, CRED_ID);
  assert.deepEqual({ ...made, id: 0, created_at: 0, updated_at: 0 }, {
    id: 0, credential_type: 'public_key', kid: await kidOf(key.publicKey), alg: 'RS256', name: 'Key A', created_at: 0, updated_at: 0,
  }, 'the kid defaults to the RFC 7638 thumbprint; no pem, no expiry');
  assert.equal(made.created_at, made.updated_at);
  assert.ok(!Number.isNaN(Date.parse(made.created_at)));
  assert.deepEqual(await mc.clients.credentials.get(app.client_id, made.id), made);

  // A certificate gives its expiry when asked; an explicit expires_at wins; PKCS#1 keys and a chosen kid and alg.
  const notAfter = new Date(Math.floor(Date.now() / 1000 + 86400 * 400) * 1000);
  const cert = await selfSigned(notAfter);
  const fromCert = await addCredential(app.client_id, { pem: cert.pem, parse_expiry_from_cert: true });
  assert.equal(fromCert.expires_at, notAfter.toISOString());
  assert.equal(fromCert.kid, await kidOf(new X509Certificate(cert.pem).publicKey));
  assert.equal('name' in fromCert, false, 'no name when none was given');
  const pkcs1 = rsa();
  const custom = await addCredential(app.client_id, { pem: pkcs1.pkcs1, kid: 'my-key-id-0001', alg: 'PS256', expires_at: '2095-05-13T09:33:13Z' });
  assert.deepEqual([custom.kid, custom.alg, custom.expires_at], ['my-key-id-0001', 'PS256', '2095-05-13T09:33:13.000Z']);

  const list = await mc.clients.credentials.list(app.client_id) as any[];
  assert.deepEqual(list.map((c) => c.id), [made.id, fromCert.id, custom.id]);
  assert.ok(list.every((c) => !('pem' in c)));
  // Paging parameters change nothing: Auth0 answers the array (go-auth0 sends include_totals).
  assert.deepEqual((await s.api('GET', `/clients/${app.client_id}/credentials?include_totals=true&per_page=1`)).body, list);

  // Where it rests: inside the application, with the pem; the application's reads never show it.
  const doc = await stored(app.client_id);
  assert.deepEqual(doc.credentials.map((c: any) => c.id), [made.id, fromCert.id, custom.id]);
  assert.equal(doc.credentials[0].pem.trim(), key.spki.trim());
  const client = (await s.api('GET', `/clients/${app.client_id}`)).body;
  assert.equal('credentials' in client, false);
  assert.equal(client.token_endpoint_auth_method, 'client_secret_post', 'a credential alone changes nothing about the client');
  assert.equal(typeof client.client_secret, 'string');

  // PATCH changes expires_at only; null lifts it.
  await new Promise((r) => setTimeout(r, 5));
  const up = await mc.clients.credentials.update(app.client_id, made.id, { expires_at: '2096-05-13T09:33:13Z' }) as any;
  assert.equal(up.expires_at, '2096-05-13T09:33:13.000Z');
  assert.ok(up.updated_at > made.updated_at);
  assert.deepEqual({ ...up, expires_at: 0, updated_at: 0 }, { ...made, expires_at: 0, updated_at: 0 });
  assert.equal((await mc.clients.credentials.get(app.client_id, made.id) as any).expires_at, '2096-05-13T09:33:13.000Z');
  const lifted = (await s.api('PATCH', `/clients/${app.client_id}/credentials/${custom.id}`, { body: { expires_at: null } })).body;
  assert.equal('expires_at' in lifted, false);
  assertError(await s.api('PATCH', `/clients/${app.client_id}/credentials/${made.id}`, { body: { name: 'renamed' } }), 400, /Additional properties not allowed: name/);
  assertError(await s.api('PATCH', `/clients/${app.client_id}/credentials/${made.id}`, { body: {} }), 400);

  await mc.clients.credentials.delete(app.client_id, fromCert.id);
  assertError(await s.api('GET', `/clients/${app.client_id}/credentials/${fromCert.id}`), 404, 'The credential does not exist');
  assert.deepEqual((await mc.clients.credentials.list(app.client_id) as any[]).map((c) => c.id), [made.id, custom.id]);
  assert.deepEqual((await stored(app.client_id)).credentials.map((c: any) => c.id), [made.id, custom.id]);
});

test('credentials: certificates for mTLS keep their thumbprint, expiry and subject', async () => {
  const app = await newApp();
  const notAfter = new Date(Math.floor(Date.now() / 1000 + 86400 * 30) * 1000);
  const cert = await selfSigned(notAfter);
  const der = new X509Certificate(cert.pem).raw;
  const x = (await s.api('POST', `/clients/${app.client_id}/credentials`, { body: { credential_type: 'x509_cert', name: 'mtls', pem: cert.pem } })).body;
  assert.deepEqual({ ...x, id: 0, created_at: 0, updated_at: 0 }, {
    id: 0, credential_type: 'x509_cert', name: 'mtls', thumbprint_sha256: createHash('sha256').update(der).digest('base64url'),
    created_at: 0, updated_at: 0, expires_at: notAfter.toISOString(),
  });
  const dn = (await s.api('POST', `/clients/${app.client_id}/credentials`, { body: { credential_type: 'cert_subject_dn', pem: cert.pem } })).body;
  assert.equal(dn.subject_dn, 'C=es\nST=Madrid\nCN=Postern Test');
  const given = (await s.api('POST', `/clients/${app.client_id}/credentials`, { body: { credential_type: 'cert_subject_dn', subject_dn: 'CN=Someone' } })).body;
  assert.equal(given.subject_dn, 'CN=Someone');
  assertError(await s.api('POST', `/clients/${app.client_id}/credentials`, { body: { credential_type: 'cert_subject_dn', subject_dn: 'CN=x', pem: cert.pem } }), 400);
  assertError(await s.api('POST', `/clients/${app.client_id}/credentials`, { body: { credential_type: 'x509_cert', pem: rsa().spki } }), 400, /X\.509 certificate/);
  assertError(await s.api('POST', `/clients/${app.client_id}/credentials`, { body: { credential_type: 'x509_cert', pem: cert.pem, alg: 'RS256' } }), 400, /Additional properties not allowed: alg/);
  // An mTLS method cannot be enabled: Postern cannot check client certificates.
  const r = await s.api('PATCH', `/clients/${app.client_id}`, { body: { client_authentication_methods: { self_signed_tls_client_auth: { credentials: [{ id: x.id }] } }, token_endpoint_auth_method: null } });
  assertError(r, 400, /self_signed_tls_client_auth is not supported/);
  assert.equal((await stored(app.client_id)).token_endpoint_auth_method, 'client_secret_post');
});

test('credentials: bad PEMs, private keys, short or non-RSA keys are refused and nothing is stored', async () => {
  const app = await newApp();
  const post = (body: Record<string, unknown>) => s.api('POST', `/clients/${app.client_id}/credentials`, { body: { credential_type: 'public_key', ...body } });
  const key = rsa();
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ pem: 'not a pem at all' }, /no PEM encoded public key/],
    [{ pem: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----' }, /cannot be parsed/],
    [{ pem: key.pkcs8 }, /private key/],
    [{ pem: key.privateKey.export({ type: 'pkcs1', format: 'pem' }) }, /private key/],
    [{ pem: `${key.spki}\n${key.pkcs8}` }, /private key/],
    [{ pem: `${key.spki}\n${rsa().spki}` }, /exactly one/],
    [{ pem: rsa(1024).spki }, /1024 bits/],
    [{ pem: ec.publicKey.export({ type: 'spki', format: 'pem' }) }, /RSA key/],
    [{ pem: key.spki, parse_expiry_from_cert: true }, /X\.509 certificate/],
    [{}, /Missing required property: pem/],
    [{ pem: key.spki, subject_dn: 'CN=x' }, /Additional properties not allowed: subject_dn/],
    [{ pem: key.spki, kid: 'short' }, /kid/],
    [{ pem: key.spki, alg: 'HS256' }, /alg/],
    [{ pem: key.spki, expires_at: 'tomorrow' }, /expires_at/],
    [{ pem: key.spki, credential_type: 'password' }, /credential_type/],
  ];
  for (const [body, message] of cases) assertError(await post(body), 400, message);
  assert.deepEqual(await mc.clients.credentials.list(app.client_id), []);
  const doc = await stored(app.client_id);
  assert.equal(doc.credentials, undefined, 'nothing of a refused credential rests');
  assert.ok(!JSON.stringify(doc).includes('PRIVATE KEY'));
});

test('credentials: unknown clients and credentials are 404s, other clients\' credentials too; four per client, no key twice', async () => {
  const a = await newApp();
  const b = await newApp();
  const key = rsa();
  const ofB = await addCredential(b.client_id, { pem: key.spki });
  assertError(await s.api('GET', '/clients/nope/credentials'), 404, 'The client does not exist');
  assertError(await s.api('POST', '/clients/nope/credentials', { body: { credential_type: 'public_key', pem: key.spki } }), 404);
  assertError(await s.api('PATCH', `/clients/nope/credentials/${ofB.id}`, { body: { expires_at: null } }), 404, 'The client does not exist');
  assertError(await s.api('DELETE', `/clients/nope/credentials/${ofB.id}`), 404, 'The client does not exist');
  for (const [method, body] of [['GET'], ['PATCH', { expires_at: '2090-01-01T00:00:00Z' }], ['DELETE']] as const) {
    assertError(await s.api(method, `/clients/${a.client_id}/credentials/${ofB.id}`, { body }), 404, 'The credential does not exist', 'inexistent_credential');
    assertError(await s.api(method, `/clients/${a.client_id}/credentials/cred_0000000000000000000000`, { body }), 404);
  }
  assert.equal((await mc.clients.credentials.get(b.client_id, ofB.id) as any).id, ofB.id, 'B\'s credential is untouched');

  // The same public key twice on one client is refused; on another client it is fine.
  assertError(await s.api('POST', `/clients/${b.client_id}/credentials`, { body: { credential_type: 'public_key', pem: key.pkcs1, name: 'again' } }), 400, 'credentials contains public keys that already exist in client');
  await addCredential(a.client_id, { pem: key.spki });
  for (let i = 0; i < 3; i++) await addCredential(a.client_id, { pem: rsa().spki });
  assertError(await s.api('POST', `/clients/${a.client_id}/credentials`, { body: { credential_type: 'public_key', pem: rsa().spki } }), 400, 'A client can have a maximum of 4 credentials.');
  assert.equal((await mc.clients.credentials.list(a.client_id) as any[]).length, 4);
});

// --- the application's authentication method ---------------------------------------------

test('client_authentication_methods: PATCH names the client\'s own public keys (at most two); the secret is then neither shown nor accepted', async () => {
  const app = await newApp();
  const other = await newApp();
  const [k1, k2, k3] = [rsa(), rsa(), rsa()];
  const [c1, c2, c3] = [await addCredential(app.client_id, { pem: k1.spki }), await addCredential(app.client_id, { pem: k2.spki }), await addCredential(app.client_id, { pem: k3.spki })];
  const foreign = await addCredential(other.client_id, { pem: rsa().spki });
  const mtls = (await s.api('POST', `/clients/${app.client_id}/credentials`, { body: { credential_type: 'cert_subject_dn', subject_dn: 'CN=x' } })).body;

  const before = await stored(app.client_id);
  assertError(await attach(app.client_id, ['cred_0000000000000000000000']), 400, /do not exist/);
  assertError(await attach(app.client_id, [foreign.id]), 400, /do not exist/);
  assertError(await attach(app.client_id, [c1.id, c2.id, c3.id]), 400, "Payload validation error: 'Array is too long (3), maximum 2' on property client_authentication_methods.private_key_jwt.credentials.");
  assertError(await attach(app.client_id, [c1.id, c1.id]), 400, /unique/);
  assertError(await attach(app.client_id, [mtls.id]), 400, /Only public_key credentials/);
  assertError(await s.api('PATCH', `/clients/${app.client_id}`, { body: { client_authentication_methods: { private_key_jwt: { credentials: [{ id: c1.id }] } } } }), 400, /token_endpoint_auth_method must be null/);
  assertError(await s.api('PATCH', `/clients/${app.client_id}`, { body: { token_endpoint_auth_method: null } }), 400, /Either token_endpoint_auth_method or client_authentication_methods/);
  assert.deepEqual(await stored(app.client_id), before, 'refused PATCHes change nothing');

  const r = await attach(app.client_id, [c1.id, c2.id]);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.client_authentication_methods, { private_key_jwt: { credentials: [{ id: c1.id }, { id: c2.id }] } });
  assert.equal('token_endpoint_auth_method' in r.body, false, 'Auth0 leaves the field out');
  assert.equal('client_secret' in r.body, false, 'the secret is hidden once private_key_jwt is on');
  const read = await mc.clients.get(app.client_id) as any;
  assert.deepEqual(read.client_authentication_methods, r.body.client_authentication_methods);
  assert.equal(read.client_secret, undefined);
  const listed = (await s.api('GET', `/clients?fields=client_id,client_secret,client_authentication_methods&include_fields=true`)).body.find((c: any) => c.client_id === app.client_id);
  assert.deepEqual(listed, { client_id: app.client_id, client_authentication_methods: r.body.client_authentication_methods });

  // A named credential cannot be deleted; once no longer named, it can.
  assertError(await s.api('DELETE', `/clients/${app.client_id}/credentials/${c1.id}`), 400, 'Cannot delete credential still associated with a client');
  assert.ok((await stored(app.client_id)).credentials.some((c: any) => c.id === c1.id));
  assert.equal((await attach(app.client_id, [c2.id])).status, 200);
  assert.equal((await s.api('DELETE', `/clients/${app.client_id}/credentials/${c1.id}`)).status, 204);
  assert.equal((await s.api('DELETE', `/clients/${app.client_id}/credentials/${c3.id}`)).status, 204);

  // Back to the secret, as the Terraform provider does it: the secret shows (and works) again.
  const back = await s.api('PATCH', `/clients/${app.client_id}`, { body: { client_authentication_methods: null, token_endpoint_auth_method: 'client_secret_post' } });
  assert.equal(back.status, 200);
  assert.equal('client_authentication_methods' in back.body, false);
  assert.equal(back.body.client_secret, app.client_secret);
  assert.equal(back.body.token_endpoint_auth_method, 'client_secret_post');
});

test('client_authentication_methods on POST /clients: the inline credentials become the new client\'s own', async () => {
  const [k1, k2] = [rsa(), rsa()];
  const made = await newApp({
    client_authentication_methods: { private_key_jwt: { credentials: [
      { credential_type: 'public_key', name: 'first', pem: k1.spki },
      { credential_type: 'public_key', name: 'second', pem: k2.spki, alg: 'RS384' },
    ] } },
  });
  assert.equal('client_secret' in made, false);
  assert.equal('token_endpoint_auth_method' in made, false);
  const creds = await mc.clients.credentials.list(made.client_id) as any[];
  assert.deepEqual(creds.map((c) => [c.name, c.alg, c.kid]), [['first', 'RS256', await kidOf(k1.publicKey)], ['second', 'RS384', await kidOf(k2.publicKey)]]);
  assert.deepEqual(made.client_authentication_methods, { private_key_jwt: { credentials: creds.map((c) => ({ id: c.id })) } });

  const name = `refused ${randomUUID()}`;
  const bad = async (methods: unknown, extra: Record<string, unknown> = {}) =>
    s.api('POST', '/clients', { body: { name, app_type: 'non_interactive', client_authentication_methods: methods, ...extra } });
  const three = [rsa(), rsa(), rsa()].map((k) => ({ credential_type: 'public_key', pem: k.spki }));
  assertError(await bad({ private_key_jwt: { credentials: three } }), 400, /Array is too long \(3\), maximum 2/);
  assertError(await bad({ private_key_jwt: { credentials: [{ credential_type: 'public_key', pem: rsa(1024).spki }] } }), 400, /1024 bits/);
  assertError(await bad({ private_key_jwt: { credentials: [{ credential_type: 'public_key', pem: k1.pkcs8 }] } }), 400, /private key/);
  assertError(await bad({ private_key_jwt: { credentials: [{ credential_type: 'public_key', pem: k1.spki }, { credential_type: 'public_key', pem: k1.pkcs1 }] } }), 400, /already exist/);
  assertError(await bad({ private_key_jwt: { credentials: [{ credential_type: 'public_key', pem: k1.spki }] } }, { token_endpoint_auth_method: 'client_secret_post' }), 400, /must be null/);
  assertError(await bad({ private_key_jwt: { credentials: [{ id: 'cred_x' }] } }), 400);
  assert.equal((await s.api('GET', '/clients')).body.some((c: any) => c.name === name), false, 'no half-made client');
});

// --- /oauth/token --------------------------------------------------------------------------

async function token(body: Record<string, string>) {
  const r = await fetch(`${s.baseUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body).toString() });
  return { status: r.status, body: await r.json() as any };
}
function assertion(clientId: string, key: KeyObject, opts: { alg?: string; kid?: string; aud?: string; lifetime?: number; age?: number } = {}) {
  const iat = Math.floor(Date.now() / 1000) - (opts.age ?? 0);
  return new SignJWT({}).setProtectedHeader({ alg: opts.alg ?? 'RS256', ...(opts.kid ? { kid: opts.kid } : {}) })
    .setIssuer(clientId).setSubject(clientId).setAudience(opts.aud ?? s.issuer).setIssuedAt(iat)
    .setExpirationTime(iat + (opts.lifetime ?? 60)).setJti(randomUUID()).sign(key);
}
const grant = (clientAssertion: string, extra: Record<string, string> = {}) =>
  token({ grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: clientAssertion, audience: API, ...extra });
function assertInvalidClient(r: { status: number; body: any }) {
  assert.equal(r.status, 401, JSON.stringify(r.body));
  assert.equal(r.body.error, 'invalid_client');
  assert.equal(typeof r.body.error_description, 'string');
  assert.equal(r.body.access_token, undefined);
}

test('/oauth/token: the official SDK authenticates with private_key_jwt and reaches the Management API', async () => {
  const key = rsa();
  const app = await newApp({ client_authentication_methods: { private_key_jwt: { credentials: [{ credential_type: 'public_key', pem: key.spki }] } } });
  await mc.clientGrants.create({ client_id: app.client_id, audience: s.audience, scope: ['read:clients', 'read:client_credentials'] });
  const viaJwt = new ManagementClient({ domain: s.domain, clientId: app.client_id, clientAssertionSigningKey: key.pkcs8 });
  const creds = await viaJwt.clients.credentials.list(app.client_id) as any[];
  assert.equal(creds.length, 1);
  assert.equal(creds[0].kid, await kidOf(key.publicKey));
});

test('/oauth/token: a signed assertion gets a token; wrong keys, replays, stale or long-lived assertions and the old secret do not', async () => {
  const [k1, k2, stranger] = [rsa(), rsa(), rsa()];
  const app = await newApp();
  await mc.clientGrants.create({ client_id: app.client_id, audience: API, scope: ['read:things'] });
  const c1 = await addCredential(app.client_id, { pem: k1.spki });
  const c2 = await addCredential(app.client_id, { pem: k2.spki, alg: 'PS256' });
  // Before the method names the key, an assertion is no way in.
  assertInvalidClient(await grant(await assertion(app.client_id, k1.privateKey)));
  assert.equal((await attach(app.client_id, [c1.id, c2.id])).status, 200);

  const ok = await grant(await assertion(app.client_id, k1.privateKey, { kid: c1.kid }), { client_id: app.client_id });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  const claims = (await jwtVerify(ok.body.access_token, createRemoteJWKSet(new URL(`${s.baseUrl}/.well-known/jwks.json`)), { issuer: s.issuer, audience: API })).payload;
  assert.deepEqual([claims.sub, claims.azp, claims.gty, claims.scope], [`${app.client_id}@clients`, app.client_id, 'client-credentials', 'read:things']);
  // Without client_id (the assertion's sub names the client), with the token endpoint as aud, by the second key with its own alg.
  assert.equal((await grant(await assertion(app.client_id, k1.privateKey, { aud: `${s.issuer}oauth/token` }))).status, 200);
  assert.equal((await grant(await assertion(app.client_id, k2.privateKey, { alg: 'PS256' }))).status, 200);

  // Replays: the same assertion twice.
  const once = await assertion(app.client_id, k1.privateKey);
  assert.equal((await grant(once)).status, 200);
  assertInvalidClient(await grant(once));
  // A key that is not one of the client's, even under one of its kids.
  assertInvalidClient(await grant(await assertion(app.client_id, stranger.privateKey)));
  assertInvalidClient(await grant(await assertion(app.client_id, stranger.privateKey, { kid: c1.kid })));
  // The credential's alg is the only one it verifies.
  assertInvalidClient(await grant(await assertion(app.client_id, k1.privateKey, { alg: 'PS256' })));
  // Another tenant's audience, more than Auth0's five minutes of life.
  assertInvalidClient(await grant(await assertion(app.client_id, k1.privateKey, { aud: 'https://elsewhere.example.com/' })));
  assertInvalidClient(await grant(await assertion(app.client_id, k1.privateKey, { lifetime: 600 })));
  // Expired: Auth0 allows ten seconds of skew (the engine alone would take fifteen).
  assert.equal((await grant(await assertion(app.client_id, k1.privateKey, { age: 65 }))).status, 200);
  assertInvalidClient(await grant(await assertion(app.client_id, k1.privateKey, { age: 72 })));
  // A bad assertion learns nothing about grants: an unauthorized audience still reads as a failed authentication...
  assertInvalidClient(await grant(await assertion(app.client_id, stranger.privateKey), { audience: s.audience }));
  // ...while the client itself gets Auth0's grant error.
  const noGrant = await grant(await assertion(app.client_id, k1.privateKey), { audience: s.audience });
  assert.equal(noGrant.status, 403);
  assert.equal(noGrant.body.error, 'access_denied');
  // The secret no longer counts, and fails as a secret does in Auth0.
  const secret = await token({ grant_type: 'client_credentials', client_id: app.client_id, client_secret: app.client_secret, audience: API });
  assert.deepEqual([secret.status, secret.body], [401, { error: 'access_denied', error_description: 'Unauthorized' }]);

  // A credential taken off the method stops working at once.
  assert.equal((await attach(app.client_id, [c2.id])).status, 200);
  assertInvalidClient(await grant(await assertion(app.client_id, k1.privateKey)));
  assert.equal((await grant(await assertion(app.client_id, k2.privateKey, { alg: 'PS256' }))).status, 200);
});

test('/oauth/token: an expired credential is refused, the moment it expires', async () => {
  const key = rsa();
  const app = await newApp();
  await mc.clientGrants.create({ client_id: app.client_id, audience: API, scope: ['read:things'] });
  const expiresAt = new Date(Date.now() + 1500);
  const cred = await addCredential(app.client_id, { pem: key.spki, expires_at: expiresAt.toISOString() });
  assert.equal((await attach(app.client_id, [cred.id])).status, 200);
  assert.equal((await grant(await assertion(app.client_id, key.privateKey))).status, 200, 'valid until it expires');
  await new Promise((r) => setTimeout(r, expiresAt.getTime() - Date.now() + 50));
  assertInvalidClient(await grant(await assertion(app.client_id, key.privateKey)));
  // A later expiry brings it back.
  await mc.clients.credentials.update(app.client_id, cred.id, { expires_at: new Date(Date.now() + 3_600_000).toISOString() });
  assert.equal((await grant(await assertion(app.client_id, key.privateKey))).status, 200);
});
