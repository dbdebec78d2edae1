import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import type { ManagementClient } from 'auth0';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { startServer, type TestServer } from './helpers/server.ts';
import { managementClient } from './helpers/sdk.ts';

// Auth0's /oauth/token client_credentials grant, discovery and JWKS, driven
// over HTTPS. Fixtures (an API, an M2M app and its grant) are made with the
// official ManagementClient.

let s: TestServer;
let mc: ManagementClient;
const API = 'https://cc-api.example.com/';
let app: { client_id: string; client_secret: string };
let ungranted: { client_id: string; client_secret: string };
let noCc: { client_id: string; client_secret: string };

before(async () => {
  s = await startServer();
  mc = managementClient(s);
  await mc.resourceServers.create({
    name: 'CC API', identifier: API, token_lifetime: 1234,
    scopes: [{ value: 'read:things', description: 'r' }, { value: 'write:things', description: 'w' }, { value: 'delete:things', description: 'd' }],
  });
  // A secret with characters that must be form-encoded in Basic credentials.
  app = await mc.clients.create({ name: 'cc app', app_type: 'non_interactive' }) as any;
  app = await mc.clients.update(app.client_id, { client_secret: 'sec:ret/with+odd&chars%=-and-more' }) as any;
  assert.equal(app.client_secret, 'sec:ret/with+odd&chars%=-and-more');
  await mc.clientGrants.create({ client_id: app.client_id, audience: API, scope: ['read:things', 'write:things'] });
  ungranted = await mc.clients.create({ name: 'cc no grant', app_type: 'non_interactive' }) as any;
  noCc = await mc.clients.create({ name: 'spa', app_type: 'spa', token_endpoint_auth_method: 'client_secret_post', grant_types: ['authorization_code'] } as any) as any;
  await mc.clientGrants.create({ client_id: noCc.client_id, audience: API, scope: ['read:things'] });
});
after(async () => { await s?.close(); });

async function post(body: Record<string, string>, opts: { json?: boolean; basic?: string; path?: string } = {}) {
  const headers: Record<string, string> = { 'content-type': opts.json ? 'application/json' : 'application/x-www-form-urlencoded' };
  if (opts.basic) headers.authorization = `Basic ${opts.basic}`;
  const r = await fetch(`${s.baseUrl}${opts.path ?? '/oauth/token'}`, {
    method: 'POST', headers, body: opts.json ? JSON.stringify(body) : new URLSearchParams(body).toString(),
  });
  return { status: r.status, body: await r.json() as any, headers: r.headers };
}
const cc = (extra: Record<string, string> = {}) => ({ grant_type: 'client_credentials', client_id: app.client_id, client_secret: app.client_secret, audience: API, ...extra });

async function verify(token: string, audience = API) {
  const jwks = createRemoteJWKSet(new URL(`${s.baseUrl}/.well-known/jwks.json`));
  return (await jwtVerify(token, jwks, { issuer: `https://${s.domain}/`, audience, algorithms: ['RS256'] })).payload;
}

test('discovery: exact issuer, Auth0 endpoint paths, client auth methods', async () => {
  const r = await fetch(`${s.baseUrl}/.well-known/openid-configuration`);
  assert.equal(r.status, 200);
  const d = await r.json() as any;
  const base = `https://${s.domain}`;
  assert.equal(d.issuer, `${base}/`);
  assert.equal(d.token_endpoint, `${base}/oauth/token`);
  assert.equal(d.authorization_endpoint, `${base}/authorize`);
  assert.equal(d.userinfo_endpoint, `${base}/userinfo`);
  assert.equal(d.jwks_uri, `${base}/.well-known/jwks.json`);
  assert.equal(d.revocation_endpoint, `${base}/oauth/revoke`);
  assert.equal(d.end_session_endpoint, `${base}/oidc/logout`);
  assert.equal(d.device_authorization_endpoint, `${base}/oauth/device/code`);
  assert.ok(d.token_endpoint_auth_methods_supported.includes('client_secret_basic'));
  assert.ok(d.token_endpoint_auth_methods_supported.includes('client_secret_post'));
  assert.ok(d.grant_types_supported.includes('client_credentials'));
});

test('JWKS publishes the current and the next key, each with kid and x5c', async () => {
  const r = await fetch(`${s.baseUrl}/.well-known/jwks.json`);
  assert.equal(r.status, 200);
  const { keys } = await r.json() as any;
  assert.equal(keys.length, 2);
  const current = s.runtime.env.keys.current().row.kid;
  const next = s.runtime.env.keys.keys.find((k) => k.row.status === 'next')!.row.kid;
  assert.deepEqual(keys.map((k: any) => k.kid).sort(), [current, next].sort());
  for (const k of keys) {
    assert.equal(k.kty, 'RSA');
    assert.equal(k.use, 'sig');
    assert.ok(Array.isArray(k.x5c) && k.x5c.length === 1 && k.x5c[0].length > 100);
    // go-jose (Dex) rejects the whole JWKS when x5c does not hold the key itself.
    const certKey = new X509Certificate(Buffer.from(k.x5c[0], 'base64')).publicKey.export({ format: 'jwk' }) as any;
    assert.equal(certKey.n, k.n);
    assert.equal(certKey.e, k.e);
    assert.equal(k.d, undefined, 'no private parts');
    assert.equal(k.p, undefined);
  }
});

test('form body with client_secret_post: Auth0 response and claims', async () => {
  const r = await post(cc());
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(Object.keys(r.body).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
  assert.equal(r.body.token_type, 'Bearer');
  assert.equal(r.body.expires_in, 1234);
  assert.equal(r.body.scope, 'read:things write:things');
  assert.equal(decodeProtectedHeader(r.body.access_token).kid, s.runtime.env.keys.current().row.kid);
  const p = await verify(r.body.access_token);
  assert.deepEqual(Object.keys(p).sort(), ['aud', 'azp', 'exp', 'gty', 'iat', 'iss', 'scope', 'sub']);
  assert.equal(p.iss, `https://${s.domain}/`);
  assert.equal(p.sub, `${app.client_id}@clients`);
  assert.equal(p.aud, API);
  assert.equal(p.azp, app.client_id);
  assert.equal(p.gty, 'client-credentials');
  assert.equal(p.scope, 'read:things write:things');
  assert.equal(p.exp! - p.iat!, 1234);
  assert.ok(Math.abs(p.iat! - Date.now() / 1000) < 30);
});

test('JSON body works the same', async () => {
  const r = await post(cc(), { json: true });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const p = await verify(r.body.access_token);
  assert.equal(p.sub, `${app.client_id}@clients`);
});

test('client_secret_basic, with URL-escaped credentials', async () => {
  const enc = (v: string) => encodeURIComponent(v);
  const basic = Buffer.from(`${enc(app.client_id)}:${enc(app.client_secret)}`).toString('base64');
  const r = await post({ grant_type: 'client_credentials', audience: API }, { basic });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal((await verify(r.body.access_token)).azp, app.client_id);
  const bad = Buffer.from(`${enc(app.client_id)}:${enc('nope')}`).toString('base64');
  const r2 = await post({ grant_type: 'client_credentials', audience: API }, { basic: bad });
  assert.equal(r2.status, 401);
  assert.deepEqual(r2.body, { error: 'access_denied', error_description: 'Unauthorized' });
});

test('the bootstrap client gets a Management API token', async () => {
  const r = await post({ grant_type: 'client_credentials', client_id: s.clientId, client_secret: s.clientSecret, audience: s.audience });
  assert.equal(r.status, 200);
  const p = await verify(r.body.access_token, s.audience);
  assert.equal(p.exp! - p.iat!, 86400);
  assert.ok(String(p.scope).split(' ').includes('read:users'));
});

test('scope subset, and absent scope gives all granted scopes', async () => {
  const sub = await post(cc({ scope: 'write:things' }));
  assert.equal(sub.status, 200);
  assert.equal(sub.body.scope, 'write:things');
  assert.equal((await verify(sub.body.access_token)).scope, 'write:things');
  const empty = await post(cc({ scope: '' }));
  assert.equal(empty.status, 200);
  assert.equal(empty.body.scope, 'read:things write:things');
});

test('an ungranted scope is 403 access_denied', async () => {
  const r = await post(cc({ scope: 'read:things delete:things' }));
  assert.equal(r.status, 403);
  assert.equal(r.body.error, 'access_denied');
  assert.match(r.body.error_description, /delete:things/);
  assert.deepEqual(Object.keys(r.body).sort(), ['error', 'error_description']);
});

test('audience is required', async () => {
  const { audience: _, ...noAud } = cc();
  const r = await post(noAud);
  assert.equal(r.status, 403);
  assert.equal(r.body.error, 'access_denied');
  assert.match(r.body.error_description, /audience/);
});

test('an unknown audience is 403 access_denied', async () => {
  const r = await post(cc({ audience: 'https://unknown.example.com/' }));
  assert.equal(r.status, 403);
  assert.deepEqual(r.body, { error: 'access_denied', error_description: 'Service not enabled within domain: https://unknown.example.com/' });
});

test('an audience without a client grant is 403 access_denied', async () => {
  const r = await post({ grant_type: 'client_credentials', client_id: ungranted.client_id, client_secret: ungranted.client_secret, audience: API });
  assert.equal(r.status, 403);
  assert.equal(r.body.error, 'access_denied');
  assert.match(r.body.error_description, /^Client is not authorized to access "https:\/\/cc-api.example.com\/"/);
});

test('wrong secret and unknown client are 401 access_denied', async () => {
  for (const body of [cc({ client_secret: 'wrong' }), cc({ client_id: 'no-such-client' }), cc({ client_secret: '' })]) {
    const r = await post(body);
    assert.equal(r.status, 401, JSON.stringify(body));
    assert.deepEqual(r.body, { error: 'access_denied', error_description: 'Unauthorized' });
  }
  // A wrong secret never leaks whether the audience is granted.
  const r = await post({ grant_type: 'client_credentials', client_id: ungranted.client_id, client_secret: 'wrong', audience: API });
  assert.equal(r.status, 401);
});

test('a client without the client_credentials grant type is 403 unauthorized_client', async () => {
  const r = await post({ grant_type: 'client_credentials', client_id: noCc.client_id, client_secret: noCc.client_secret, audience: API });
  assert.equal(r.status, 403);
  assert.deepEqual(r.body, { error: 'unauthorized_client', error_description: "Grant type 'client_credentials' not allowed for the client." });
});

test('missing grant_type is 400 invalid_request; unsupported grant type is 400', async () => {
  const { grant_type: _, ...rest } = cc();
  const r = await post(rest);
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid_request');
  assert.match(r.body.error_description, /grant_type/);
  const u = await post(cc({ grant_type: 'urn:example:nope' }));
  assert.equal(u.status, 400);
  assert.equal(u.body.error, 'unsupported_grant_type');
  assert.equal(typeof u.body.error_description, 'string');
});

test('malformed JSON body is 400 invalid_request', async () => {
  const r = await fetch(`${s.baseUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"grant_type":' });
  assert.equal(r.status, 400);
  assert.equal((await r.json() as any).error, 'invalid_request');
});

test('POST /{domain}/oauth/token is an alias', async () => {
  const r = await post(cc(), { path: `/${s.domain}/oauth/token` });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal((await verify(r.body.access_token)).aud, API);
  const bad = await post(cc({ client_secret: 'x' }), { path: `/${s.domain}/oauth/token` });
  assert.equal(bad.status, 401);
});

test('a token from one API does not carry another API\'s claims', async () => {
  const r = await post(cc());
  const p = decodeJwt(r.body.access_token);
  assert.equal(p.jti, undefined);
  assert.equal((p as any).client_id, undefined);
});
