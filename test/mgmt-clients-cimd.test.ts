import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { ManagementClient } from 'auth0';
import { decodeJwt, SignJWT } from 'jose';
import { freePort, startServer, type TestServer } from './helpers/server.ts';
import { managementClient } from './helpers/sdk.ts';
import { assertError } from './helpers/assert.ts';
import { startReceiver } from './helpers/https-receiver.ts';
import { createUser, follow, formFields, go, Jar, scriptedLogin } from './helpers/login-flow.ts';
import { fetchJsonObject } from '../src/management/cimd-fetch.ts';

// Applications registered from a Client ID Metadata Document: preview and
// register against documents that a local HTTPS server serves, Auth0's URL and
// document rules, the fetch limits, re-registration, and the application
// logging in with its document's URL as client_id. The server runs with
// --allow-private-fetch, since the documents are on loopback; a second server
// without it shows that loopback and private addresses are refused.

let s: TestServer;
let strict: TestServer;
let mc: ManagementClient;
let host: Awaited<ReturnType<typeof startReceiver>>;
before(async () => {
  s = await startServer(['--allow-private-fetch']);
  strict = await startServer();
  mc = managementClient(s);
  host = await startReceiver();
});
after(async () => { await host?.close(); await s?.close(); await strict?.close(); });

let n = 0;
/** Serves `doc(url)` at a fresh path and returns that URL. */
function serveDoc(doc: (url: string) => Record<string, unknown>, opts: { type?: string } = {}) {
  const path = `/apps/${++n}/client.json`;
  const url = `${host.url}${path}`;
  host.serve[path] = { body: JSON.stringify(doc(url)), type: opts.type };
  return { url, path };
}
const publicDoc = (url: string) => ({
  client_id: url, client_name: 'MCP Tool', description: 'Tools for data analysis', logo_uri: 'https://tool.example/logo.png',
  application_type: 'web', grant_types: ['authorization_code', 'refresh_token'], redirect_uris: ['https://tool.example/callback'],
  token_endpoint_auth_method: 'none', response_types: ['code'],
});
const preview = (external_client_id: unknown, server = s) => server.api('POST', '/clients/cimd/preview', { body: { external_client_id } });
const register = (external_client_id: unknown, opts: { token?: string } = {}) => s.api('POST', '/clients/cimd/register', { body: { external_client_id }, ...opts });
const byUrl = async (url: string) => (await s.api('GET', `/clients?external_client_id=${encodeURIComponent(url)}`)).body as any[];

test('preview: a valid document is mapped to Auth0 fields with its warnings, and nothing is written', async () => {
  const { url } = serveDoc((u) => ({ ...publicDoc(u), grant_types: ['authorization_code', 'implicit', 'refresh_token'], tos_uri: 'https://tool.example/tos' }));
  const body = await mc.clients.previewCimdMetadata({ external_client_id: url });
  assert.deepEqual(body, {
    validation: { valid: true, violations: [], warnings: ["Property not supported: 'tos_uri'", "Grant type not supported: 'implicit'"] },
    mapped_fields: {
      external_client_id: url, name: 'MCP Tool', app_type: 'regular_web', grant_types: ['authorization_code', 'refresh_token'],
      callbacks: ['https://tool.example/callback'], token_endpoint_auth_method: 'none', logo_uri: 'https://tool.example/logo.png',
      description: 'Tools for data analysis',
    },
  });
  assert.deepEqual(await byUrl(url), [], 'a preview registers nothing');
  // read:clients is enough to preview, and not enough to register.
  const reader = await s.token('read:clients');
  assert.equal((await s.api('POST', '/clients/cimd/preview', { token: reader, body: { external_client_id: url } })).status, 200);
  assertError(await register(url, { token: reader }), 403, /create:clients/, 'insufficient_scope');
  assert.deepEqual(await byUrl(url), []);
});

test('register: creates a strict third-party application without a secret (201), which preview then names', async () => {
  const { url } = serveDoc(publicDoc);
  const r = await register(url);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.match(r.body.client_id, /^[A-Za-z0-9]{32}$/);
  assert.equal(r.headers.get('location'), `/api/v2/clients/${r.body.client_id}`);
  assert.deepEqual(r.body.validation, { valid: true, violations: [], warnings: [] });
  assert.equal(r.body.mapped_fields.external_client_id, url);
  const app = await s.api('GET', `/clients/${r.body.client_id}`);
  assert.equal(app.status, 200);
  assert.equal(app.body.client_secret, undefined, 'CIMD applications have no shared secret');
  for (const [k, v] of Object.entries({
    name: 'MCP Tool', app_type: 'regular_web', is_first_party: false, third_party_security_mode: 'strict', external_client_id: url,
    external_metadata_type: 'cimd', external_metadata_created_by: 'admin', token_endpoint_auth_method: 'none',
    logo_uri: 'https://tool.example/logo.png', description: 'Tools for data analysis',
  })) assert.deepEqual(app.body[k], v, k);
  assert.deepEqual(app.body.callbacks, ['https://tool.example/callback']);
  assert.deepEqual(app.body.grant_types, ['authorization_code', 'refresh_token']);
  assert.deepEqual((await byUrl(url)).map((c) => c.client_id), [r.body.client_id], 'GET /clients filters by external_client_id');
  const p = await preview(url);
  assert.equal(p.status, 200);
  assert.equal(p.body.client_id, r.body.client_id);
});

test('register again: the same application is updated from the changed document (200)', async () => {
  const { url, path } = serveDoc(publicDoc);
  const first = await register(url);
  assert.equal(first.status, 201);
  host.serve[path] = {
    body: JSON.stringify({ ...publicDoc(url), client_name: 'MCP Tool v2', application_type: 'native', logo_uri: undefined,
      redirect_uris: ['https://tool.example/cb2', 'http://127.0.0.1:7777/cb'], grant_types: ['authorization_code'] }),
  };
  const sdk = await mc.clients.registerCimdClient({ external_client_id: url });
  assert.equal(sdk.client_id, first.body.client_id);
  const again = await register(url);
  assert.equal(again.status, 200, JSON.stringify(again.body));
  assert.equal(again.headers.get('location'), null);
  const app = (await s.api('GET', `/clients/${first.body.client_id}`)).body;
  assert.equal(app.name, 'MCP Tool v2');
  assert.equal(app.app_type, 'native');
  assert.equal(app.logo_uri, undefined, 'a field the document dropped is dropped');
  assert.deepEqual(app.callbacks, ['https://tool.example/cb2', 'http://127.0.0.1:7777/cb']);
  assert.deepEqual(app.grant_types, ['authorization_code']);
  assert.equal((await byUrl(url)).length, 1, 'still one application for the URL');
  // Updating needs update:clients, creating needs create:clients.
  assertError(await register(url, { token: await s.token('create:clients') }), 403, /update:clients/, 'insufficient_scope');
  const other = serveDoc(publicDoc);
  assertError(await register(other.url, { token: await s.token('update:clients') }), 403, /create:clients/, 'insufficient_scope');
  assert.deepEqual(await byUrl(other.url), []);
});

const VIOLATIONS: [string, (url: string) => Record<string, unknown>, RegExp][] = [
  ['client_id differs from the URL', (u) => ({ ...publicDoc(u), client_id: 'https://elsewhere.example/client.json' }), /client_id must exactly match/],
  ['client_id missing', (u) => ({ ...publicDoc(u), client_id: undefined }), /client_id is required/],
  ['client_name missing', (u) => ({ ...publicDoc(u), client_name: '' }), /client_name is required/],
  ['no supported grant type', (u) => ({ ...publicDoc(u), grant_types: ['client_credentials', 'implicit'] }), /grant_types must include/],
  ['grant_types missing', (u) => ({ ...publicDoc(u), grant_types: undefined }), /grant_types is required/],
  ['redirect_uris missing for authorization_code', (u) => ({ ...publicDoc(u), redirect_uris: undefined }), /redirect_uris is required/],
  ['http redirect for a web application', (u) => ({ ...publicDoc(u), redirect_uris: ['http://tool.example/cb'] }), /redirect_uris must use https/],
  ['duplicate redirect_uris', (u) => ({ ...publicDoc(u), redirect_uris: ['https://a.example/cb', 'https://a.example/cb'] }), /must be unique/],
  ['unknown application_type', (u) => ({ ...publicDoc(u), application_type: 'spa' }), /application_type must be/],
  ['shared-secret method', (u) => ({ ...publicDoc(u), token_endpoint_auth_method: 'client_secret_post' }), /shared secret/],
  ['unknown method', (u) => ({ ...publicDoc(u), token_endpoint_auth_method: 'tls_client_auth' }), /token_endpoint_auth_method must be/],
  ['private_key_jwt without jwks_uri', (u) => ({ ...publicDoc(u), token_endpoint_auth_method: 'private_key_jwt' }), /jwks_uri is required/],
  ['jwks_uri on another origin', (u) => ({ ...publicDoc(u), token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://keys.example/jwks.json' }), /same origin/],
  ['inline jwks', (u) => ({ ...publicDoc(u), jwks: { keys: [] } }), /Inline jwks is not supported/],
  ['logo_uri not a URL', (u) => ({ ...publicDoc(u), logo_uri: 'javascript:alert(1)' }), /logo_uri must be/],
  ['description too long', (u) => ({ ...publicDoc(u), description: 'x'.repeat(141) }), /description must be/],
];

test('each broken document rule: preview reports the violation, register answers 400 and writes nothing', async () => {
  for (const [what, doc, message] of VIOLATIONS) {
    const { url } = serveDoc(doc);
    const p = await preview(url);
    assert.equal(p.status, 200, what);
    assert.equal(p.body.validation.valid, false, what);
    assert.ok(p.body.validation.violations.some((v: string) => message.test(v)), `${what}: ${JSON.stringify(p.body.validation)}`);
    assert.equal(p.body.errors, undefined, what);
    assertError(await register(url), 400, message, 'invalid_client_metadata');
    assert.deepEqual(await byUrl(url), [], `${what}: nothing registered`);
  }
});

test('response_types with code but no authorization_code grant is a warning, not a violation', async () => {
  const { url } = serveDoc((u) => ({ ...publicDoc(u), grant_types: ['refresh_token'], redirect_uris: undefined }));
  const p = await preview(url);
  assert.deepEqual(p.body.validation, { valid: true, violations: [], warnings: ["response_types includes 'code' but grant_types does not include 'authorization_code'"] });
});

test('fetch failures: preview lists them in errors (no validation), register answers 400; nothing is written', async () => {
  const closed = `https://localhost:${await freePort()}/gone/client.json`;
  const big = serveDoc((u) => ({ ...publicDoc(u), padding: 'x'.repeat(6000) }));
  const html = serveDoc(publicDoc, { type: 'text/html' });
  host.serve['/moved/client.json'] = { status: 302, headers: { location: big.path } };
  host.serve['/missing/client.json'] = { status: 404, body: '{}' };
  host.serve['/broken/client.json'] = { body: '{"client_id": ' };
  host.serve['/array/client.json'] = { body: '[]' };
  const cases: [string, RegExp][] = [
    [closed, /Failed to fetch the Client ID Metadata Document: ECONNREFUSED/],
    [big.url, /exceeds the maximum size of 5120 bytes/],
    [html.url, /must be served as application\/json, not 'text\/html'/],
    [`${host.url}/moved/client.json`, /redirects are not followed \(HTTP 302\)/],
    [`${host.url}/missing/client.json`, /HTTP 404/],
    [`${host.url}/broken/client.json`, /is not valid JSON/],
    [`${host.url}/array/client.json`, /is not a JSON object/],
  ];
  for (const [url, message] of cases) {
    const p = await preview(url);
    assert.equal(p.status, 200, url);
    assert.equal(p.body.validation, undefined, url);
    assert.equal(p.body.errors.length, 1, JSON.stringify(p.body));
    assert.match(p.body.errors[0], message);
    assertError(await register(url), 400, message, 'invalid_client_metadata');
    assert.deepEqual(await byUrl(url), [], url);
  }
});

test('a document that never answers is given up after the time limit', async () => {
  host.serve['/slow/client.json'] = { hang: true };
  const p = await preview(`${host.url}/slow/client.json`);
  assert.equal(p.status, 200);
  assert.deepEqual(p.body, { errors: ['Failed to fetch the Client ID Metadata Document: timed out after 5000 ms'] });
});

test("Auth0's URL rules: each broken rule is a 400 before anything is fetched", async () => {
  const before = host.received.length;
  const bad: [string, RegExp][] = [
    ['http://tool.example/client.json', /https scheme/],
    ['https://tool.example/client.json?v=1', /query/],
    ['https://tool.example/client.json#x', /fragment/],
    ['https://tool.example/', /path beyond/],
    ['https://tool.example', /path beyond/],
    ['https://user:pw@tool.example/client.json', /credentials/],
    ['https://tool.example/a/../client.json', /'\.' or '\.\.'/],
    ['https://tool.example/a/%2E%2e/client.json', /'\.' or '\.\.'/],
    ['https://tool.example/bad%zzpath', /two hexadecimal digits/],
    ['https://tool.example:0/client.json', /port 0/],
    [' https://tool.example/client.json', /whitespace/],
    ['https:///client.json', /host name/],
    ['not a url', /absolute URL/],
    [`https://tool.example/${'é'.repeat(55)}`, /at most 120 bytes/],
  ];
  for (const [url, message] of bad) {
    assertError(await preview(url), 400, message, 'invalid_uri');
    assertError(await register(url), 400, message, 'invalid_uri');
  }
  // Over 120 characters is the schema's own limit.
  assertError(await preview(`https://tool.example/${'a'.repeat(120)}`), 400, /external_client_id/);
  assertError(await s.api('POST', '/clients/cimd/preview', { body: {} }), 400, /external_client_id/);
  assert.equal(host.received.length, before, 'nothing was fetched');
});

test('without --allow-private-fetch, loopback and private addresses are refused', async () => {
  const { url } = serveDoc(publicDoc);
  assertError(await preview(url, strict), 400, /localhost is not allowed/, 'invalid_uri');
  const before = host.received.length;
  for (const addr of ['10.0.0.7', '[::ffff:7f00:1]', '169.254.169.254', '[fd00::1]']) {
    const p = await preview(`https://${addr}/client.json`, strict);
    assert.equal(p.status, 200);
    assert.deepEqual(p.body, { errors: [`Failed to fetch the Client ID Metadata Document: ${addr.replace(/^\[|\]$/g, '')} resolves to a loopback or private address`] });
  }
  assert.equal(host.received.length, before);
});

test('the address check is made on what a host name resolves to, at connect time', async () => {
  const { url } = serveDoc(publicDoc);
  const before = host.received.length;
  await assert.rejects(fetchJsonObject(url, { maxBytes: 5120, allowPrivate: false, what: 'the document' }),
    { message: 'Failed to fetch the document: localhost resolves to a loopback or private address' });
  assert.equal(host.received.length, before, 'no request reached the server');
  assert.equal((await fetchJsonObject(url, { maxBytes: 5120, allowPrivate: true, what: 'the document' })).client_name, 'MCP Tool');
});

// --- private_key_jwt -------------------------------------------------------------

const rsaJwk = (kid: string) => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { pub: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' }, priv: privateKey.export({ format: 'jwk' }) };
};

test('private_key_jwt: the JWKS becomes the credentials; a new kid rotates them, a reused kid keeps the registered key', async () => {
  const a = rsaJwk('cimd-key-a');
  const path = `/apps/${++n}/client.json`;
  const url = `${host.url}${path}`;
  const jwksPath = `/apps/${n}/jwks.json`;
  host.serve[jwksPath] = { body: JSON.stringify({ keys: [a.pub] }) };
  const doc = { ...publicDoc(url), token_endpoint_auth_method: 'private_key_jwt', jwks_uri: `${host.url}${jwksPath}` };
  host.serve[path] = { body: JSON.stringify(doc) };

  const p = await preview(url);
  assert.equal(p.body.validation.valid, true, JSON.stringify(p.body));
  assert.deepEqual(p.body.mapped_fields.client_authentication_methods, { private_key_jwt: { credentials: [{ credential_type: 'public_key', kid: 'cimd-key-a', alg: 'RS256' }] } });
  assert.equal(p.body.mapped_fields.jwks_uri, doc.jwks_uri);

  const r = await register(url);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const id = r.body.client_id;
  const creds = (await s.api('GET', `/clients/${id}/credentials`)).body;
  assert.deepEqual(creds.map((c: any) => [c.credential_type, c.kid, c.alg]), [['public_key', 'cimd-key-a', 'RS256']]);
  const app = (await s.api('GET', `/clients/${id}`)).body;
  assert.deepEqual(app.client_authentication_methods, { private_key_jwt: { credentials: [{ id: creds[0].id }] } });
  assert.equal(app.token_endpoint_auth_method, undefined);
  assert.equal(app.jwks_uri, doc.jwks_uri);
  assert.equal(app.client_secret, undefined);

  // Same kid, other key material: the registered key stays, with a warning.
  host.serve[jwksPath] = { body: JSON.stringify({ keys: [rsaJwk('cimd-key-a').pub] }) };
  const same = await register(url);
  assert.equal(same.status, 200);
  assert.match(same.body.validation.warnings.join(), /Key material changed for kid 'cimd-key-a'/);
  assert.deepEqual((await s.api('GET', `/clients/${id}/credentials`)).body, creds);

  // A new kid replaces the old one.
  const b = rsaJwk('cimd-key-b');
  host.serve[jwksPath] = { body: JSON.stringify({ keys: [b.pub] }) };
  assert.equal((await register(url)).status, 200);
  const rotated = (await s.api('GET', `/clients/${id}/credentials`)).body;
  assert.deepEqual(rotated.map((c: any) => c.kid), ['cimd-key-b']);
  assert.deepEqual((await s.api('GET', `/clients/${id}`)).body.client_authentication_methods, { private_key_jwt: { credentials: [{ id: rotated[0].id }] } });

  // Back to a public client: the keys go, the method is none.
  host.serve[path] = { body: JSON.stringify(publicDoc(url)) };
  assert.equal((await register(url)).status, 200);
  const pub = (await s.api('GET', `/clients/${id}`)).body;
  assert.equal(pub.token_endpoint_auth_method, 'none');
  assert.equal(pub.client_authentication_methods, undefined);
  assert.deepEqual((await s.api('GET', `/clients/${id}/credentials`)).body, []);
});

test('private_key_jwt: a JWKS with private key material, no keys, or an unreachable jwks_uri is a violation', async () => {
  const cases: [unknown, RegExp][] = [
    [{ keys: [{ ...rsaJwk('cimd-key-1').priv, kid: 'cimd-key-1' }] }, /private key material/],
    [{ keys: [] }, /at least one key/],
    [{ keys: [{ kty: 'EC', crv: 'P-256', x: 'a', y: 'b', kid: 'ec' }] }, /must be an RSA key/],
    [{ keys: [rsaJwk('cimd-key-1').pub, rsaJwk('cimd-key-2').pub, rsaJwk('cimd-key-3').pub] }, /at most 2 keys/],
    [{ keys: [rsaJwk('short').pub] }, /key 0 cannot be registered: .*kid/],
    [{ keys: [{ ...rsaJwk('cimd-key-1').pub, alg: 'HS256' }] }, /unsupported alg: 'HS256'/],
    [{ keys: [rsaJwk('cimd-key-1').pub, rsaJwk('cimd-key-1').pub] }, /unique kid/],
    [undefined, /Failed to fetch jwks_uri: HTTP 404/],
  ];
  for (const [jwks, message] of cases) {
    const path = `/apps/${++n}/client.json`;
    const url = `${host.url}${path}`;
    if (jwks) host.serve[`/apps/${n}/jwks.json`] = { body: JSON.stringify(jwks) };
    else host.serve[`/apps/${n}/jwks.json`] = { status: 404, body: '{}' };
    host.serve[path] = { body: JSON.stringify({ ...publicDoc(url), token_endpoint_auth_method: 'private_key_jwt', jwks_uri: `${host.url}/apps/${n}/jwks.json` }) };
    const p = await preview(url);
    assert.ok(p.body.validation.violations.some((v: string) => message.test(v)), JSON.stringify(p.body));
    assertError(await register(url), 400, message, 'invalid_client_metadata');
    assert.deepEqual(await byUrl(url), []);
  }
});

// --- the application at /authorize and /oauth/token ----------------------------------

const CB = 'https://tool.example/callback';

/** Registers the document at `url`, enables the database connection for it, and runs /authorize to a code with PKCE (consent accepted). */
async function codeFor(url: string, state: string) {
  const reg = await register(url);
  assert.equal(reg.status, 201, JSON.stringify(reg.body));
  const conn = (await s.api('GET', '/connections?name=Username-Password-Authentication')).body[0];
  assert.equal((await s.api('PATCH', `/connections/${conn.id}/clients`, { body: [{ client_id: reg.body.client_id, status: true }] })).status, 204);
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const authorize = `${s.baseUrl}/authorize?${new URLSearchParams({
    client_id: url, response_type: 'code', redirect_uri: CB, scope: 'openid', state, code_challenge: challenge, code_challenge_method: 'S256',
  })}`;
  const jar = new Jar();
  const login = await scriptedLogin(s, authorize, 'cimd@example.com', 'Cimd-pw-123!', jar);
  assert.match(login.url, /\/u\/consent\?state=/, 'a third-party application asks for consent');
  const consent = await go(jar, `${s.baseUrl}/u/consent`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...formFields(await login.res.text()), action: 'accept' }),
  });
  assert.equal(consent.status, 303);
  const back = await follow(jar, new URL(consent.headers.get('location')!, s.baseUrl).href, s.baseUrl);
  const code = new URL(back.url).searchParams.get('code');
  assert.ok(code, back.url);
  assert.equal(new URL(back.url).searchParams.get('state'), state);
  return { code, verifier };
}
const tokenRequest = (body: Record<string, unknown>) => fetch(`${s.baseUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

test('a public CIMD application logs in with its document URL as client_id (code + PKCE, consent); its tokens name that URL', async () => {
  await createUser(s, 'cimd@example.com', 'Cimd-pw-123!');
  const { url } = serveDoc(publicDoc);
  const { code, verifier } = await codeFor(url, 's1');
  const t = await tokenRequest({ grant_type: 'authorization_code', client_id: url, code, code_verifier: verifier, redirect_uri: CB });
  const tokens = await t.json() as any;
  assert.equal(t.status, 200, JSON.stringify(tokens));
  assert.equal(decodeJwt(tokens.id_token).aud, url);

  // An unregistered URL is an unknown application.
  const unknown = await go(new Jar(), `${s.baseUrl}/authorize?${new URLSearchParams({ client_id: `${host.url}/apps/none/client.json`, response_type: 'code', redirect_uri: CB, state: 's2' })}`);
  assert.equal(unknown.status, 400);
  assert.match(await unknown.text(), /invalid_client/);
});

test('a private_key_jwt CIMD application authenticates at /oauth/token with an assertion from its JWKS key, issued by its URL', async () => {
  const key = rsaJwk('cimd-login-key');
  const path = `/apps/${++n}/client.json`;
  const url = `${host.url}${path}`;
  host.serve[`/apps/${n}/jwks.json`] = { body: JSON.stringify({ keys: [key.pub] }) };
  host.serve[path] = { body: JSON.stringify({ ...publicDoc(url), token_endpoint_auth_method: 'private_key_jwt', jwks_uri: `${host.url}/apps/${n}/jwks.json` }) };
  const { code, verifier } = await codeFor(url, 's3');
  const assertion = (signer: Record<string, unknown>) => new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: 'cimd-login-key' })
    .setIssuer(url).setSubject(url).setAudience(s.issuer).setIssuedAt().setExpirationTime('1m').setJti(randomBytes(8).toString('hex'))
    .sign(createPrivateKey({ key: signer as any, format: 'jwk' }));
  const base = { grant_type: 'authorization_code', client_id: url, code, code_verifier: verifier, redirect_uri: CB, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' };
  // Another key is refused, without using up the code.
  const forged = await tokenRequest({ ...base, client_assertion: await assertion(rsaJwk('x').priv) });
  assert.equal(forged.status, 401, await forged.clone().text());
  assert.equal((await forged.json() as any).error, 'invalid_client');
  const t = await tokenRequest({ ...base, client_assertion: await assertion(key.priv) });
  const tokens = await t.json() as any;
  assert.equal(t.status, 200, JSON.stringify(tokens));
  assert.equal(decodeJwt(tokens.id_token).aud, url);
});
