import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { Page } from 'playwright-core';
import { startServer, type TestServer } from './helpers/server.ts';
import { browserRig, type BrowserRig } from './helpers/browser.ts';
import { createApp, createUser } from './helpers/login-flow.ts';

// Auth0's legacy Authentication API endpoints that auth0.js still calls:
// /oauth/ro (Authentication.loginWithResourceOwner) and /delegation
// (Authentication.delegation), driven by auth0.js itself in Chromium (it needs
// XMLHttpRequest, so not in Node), from an application's page on another
// origin; /tokeninfo and the requests auth0.js cannot make with fetch. Tokens
// are checked with jose against the tenant's JWKS.

const RO = 'http://auth0.com/oauth/legacy/grant-type/ro';
const RO_JWT = 'http://auth0.com/oauth/legacy/grant-type/ro/jwt-bearer';
const DELEGATION_ID = 'http://auth0.com/oauth/legacy/grant-type/delegation/id_token';
const DELEGATION_RT = 'http://auth0.com/oauth/legacy/grant-type/delegation/refresh_token';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const DB = 'Username-Password-Authentication';
const PW = 'Legacy-pw-123!';
const AUTH0_JS = readFileSync('node_modules/auth0-js/dist/auth0.min.js', 'utf8');

let s: TestServer;
let rig: BrowserRig | undefined;
let page: Page;
let legacy: { client_id: string };
let plain: { client_id: string };
let target: { client_id: string };
let shortLived: { client_id: string };
let userId = '';
let jwks: ReturnType<typeof createRemoteJWKSet>;

before(async () => {
  s = await startServer();
  rig = await browserRig(s);
  const origin = rig.origin;
  const spa = (name: string, grants: string[], extra: Record<string, unknown> = {}) => createApp(s, {
    name, app_type: 'spa', token_endpoint_auth_method: 'none', callbacks: [`${origin}/callback`], allowed_origins: [origin], web_origins: [origin],
    grant_types: ['authorization_code', ...grants], ...extra,
  });
  legacy = await spa('Legacy app', [RO, RO_JWT, DELEGATION_ID, DELEGATION_RT]);
  plain = await spa('Modern app', ['refresh_token']);
  shortLived = await spa('Short-lived ID tokens', [RO, DELEGATION_ID], { jwt_configuration: { alg: 'RS256', lifetime_in_seconds: 1 } });
  target = await createApp(s, { name: 'Delegation target', app_type: 'regular_web', callbacks: [`${origin}/callback`], grant_types: ['authorization_code'] });
  userId = (await createUser(s, 'rose@example.com', PW, { name: 'Rose' })).user_id;
  jwks = createRemoteJWKSet(new URL(`${s.baseUrl}/.well-known/jwks.json`));
  rig.serve((req, res) => {
    if (req.url === '/auth0.js') { res.writeHead(200, { 'content-type': 'text/javascript' }); res.end(AUTH0_JS); return; }
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><html><head><script src="/auth0.js"></script></head><body><p>app</p></body></html>');
  });
  page = await rig.context.newPage();
  await page.goto(`${origin}/`);
});
after(async () => {
  await rig?.close();
  await s?.close();
});

interface SdkAnswer { result?: any; err?: { code?: string; description?: string; statusCode?: number } }

/** One of auth0.js's Authentication methods, called in the page; its callback's error or result. */
function sdk(clientId: string, method: 'loginWithResourceOwner' | 'delegation', options: Record<string, unknown>): Promise<SdkAnswer> {
  return page.evaluate(([domain, clientID, m, o]) => new Promise<any>((resolve) => {
    const a = new (window as any).auth0.Authentication({ domain, clientID });
    a[m](o, (err: any, result: any) => resolve(err ? { err: { code: err.code, description: err.description, statusCode: err.statusCode } } : { result }));
  }), [s.domain, clientId, method, options] as const);
}

async function post(path: string, body: Record<string, unknown>) {
  const r = await fetch(`${s.baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, body: await r.json() as any };
}

const ro = (clientId: string, extra: Record<string, unknown> = {}) =>
  sdk(clientId, 'loginWithResourceOwner', { connection: DB, username: 'rose@example.com', password: PW, ...extra });

test('/oauth/ro through auth0.js: an engine-signed ID token for the application, an access token for /userinfo, and a refresh token only for a named device', async () => {
  const { result, err } = await ro(legacy.client_id, { scope: 'openid email offline_access', device: 'Rose\'s phone' });
  assert.equal(err, undefined, JSON.stringify(err));
  assert.equal(result.tokenType, 'bearer');
  assert.ok(result.refreshToken, 'offline_access with a device gives a refresh token');
  const { payload } = await jwtVerify(result.idToken, jwks, { issuer: s.issuer, audience: legacy.client_id });
  assert.equal(payload.sub, userId);
  assert.equal(payload.email, 'rose@example.com');
  const info = await fetch(`${s.baseUrl}/userinfo`, { headers: { authorization: `Bearer ${result.accessToken}` } });
  assert.equal(info.status, 200);
  assert.equal((await info.json() as any).sub, userId);

  const noDevice = await ro(legacy.client_id, { scope: 'openid offline_access' });
  assert.ok(noDevice.result?.idToken, JSON.stringify(noDevice));
  assert.equal(noDevice.result.refreshToken, undefined);
  // No scope: the legacy default, openid.
  const bare = await ro(legacy.client_id);
  assert.equal((await jwtVerify(bare.result.idToken, jwks, { issuer: s.issuer, audience: legacy.client_id })).payload.sub, userId);
});

test('/oauth/ro refusals: a wrong password, an application without the legacy grant, missing and unknown parameters', async () => {
  const wrong = await ro(legacy.client_id, { password: 'not-it' });
  assert.deepEqual(wrong.err, { code: 'invalid_user_password', description: 'Wrong email or password.', statusCode: 401 });

  const modern = await ro(plain.client_id);
  assert.deepEqual(modern.err, { code: 'unauthorized_client', description: `Grant type '${RO}' not allowed for the client.`, statusCode: 403 });

  const noConnection = await post('/oauth/ro', { client_id: legacy.client_id, grant_type: 'password', username: 'rose@example.com', password: PW });
  assert.deepEqual(noConnection, { status: 400, body: { error: 'invalid_request', error_description: 'Missing required parameter: connection' } });
  const noGrant = await post('/oauth/ro', { client_id: legacy.client_id, username: 'rose@example.com', password: PW, connection: DB });
  assert.deepEqual(noGrant, { status: 400, body: { error: 'invalid_request', error_description: 'Missing required parameter: grant_type' } });
  const other = await post('/oauth/ro', { client_id: legacy.client_id, grant_type: 'client_credentials' });
  assert.equal(other.status, 400);
  assert.equal(other.body.error, 'unsupported_grant_type');
  const unknownClient = await post('/oauth/ro', { client_id: 'no-such-client', grant_type: 'password', username: 'rose@example.com', password: PW, connection: DB });
  assert.equal(unknownClient.status, 401);
  const unknownConnection = await post('/oauth/ro', { client_id: legacy.client_id, grant_type: 'password', username: 'rose@example.com', password: PW, connection: 'nope' });
  assert.equal(unknownConnection.status, 400);
  assert.equal(unknownConnection.body.error, 'invalid_request');
});

test('/oauth/ro with jwt-bearer: the application\'s own ID token for new tokens; another application\'s or a forged one is refused', async () => {
  const first = (await ro(legacy.client_id, { scope: 'openid' })).result;
  const again = await post('/oauth/ro', { client_id: legacy.client_id, grant_type: JWT_BEARER, id_token: first.idToken, scope: 'openid email' });
  assert.equal(again.status, 200, JSON.stringify(again.body));
  assert.equal(again.body.token_type, 'bearer');
  const { payload } = await jwtVerify(again.body.id_token, jwks, { issuer: s.issuer, audience: legacy.client_id });
  assert.equal(payload.sub, userId);
  assert.equal(payload.email, 'rose@example.com');

  const [h, p] = first.idToken.split('.');
  const forged = `${h}.${p}.${Buffer.from('not the signature').toString('base64url')}`;
  const bad = await post('/oauth/ro', { client_id: legacy.client_id, grant_type: JWT_BEARER, id_token: forged });
  assert.deepEqual(bad, { status: 401, body: { error: 'invalid_token', error_description: 'invalid signature' } });
  const shortToken = (await ro(shortLived.client_id)).result.idToken;
  const foreign = await post('/oauth/ro', { client_id: legacy.client_id, grant_type: JWT_BEARER, id_token: shortToken });
  assert.equal(foreign.status, 401);
  assert.match(foreign.body.error_description, /audience/);
  const missing = await post('/oauth/ro', { client_id: legacy.client_id, grant_type: JWT_BEARER });
  assert.deepEqual(missing, { status: 400, body: { error: 'invalid_request', error_description: 'Missing required parameter: id_token' } });
  const noGrant = await post('/oauth/ro', { client_id: shortLived.client_id, grant_type: JWT_BEARER, id_token: shortToken });
  assert.deepEqual(noGrant, { status: 403, body: { error: 'unauthorized_client', error_description: `Grant type '${RO_JWT}' not allowed for the client.` } });
});

test('/delegation through auth0.js: an ID token or a legacy refresh token for an ID token of the target application', async () => {
  const login = (await ro(legacy.client_id, { scope: 'openid offline_access', device: 'laptop' })).result;
  const byIdToken = await sdk(legacy.client_id, 'delegation', {
    grant_type: JWT_BEARER, id_token: login.idToken, target: target.client_id, scope: 'openid email', api_type: 'app',
  });
  assert.equal(byIdToken.err, undefined, JSON.stringify(byIdToken.err));
  assert.equal(byIdToken.result.tokenType, 'Bearer');
  assert.ok(byIdToken.result.expiresIn > 0 && byIdToken.result.expiresIn <= 36000);
  const { payload } = await jwtVerify(byIdToken.result.idToken, jwks, { issuer: s.issuer, audience: target.client_id });
  assert.equal(payload.sub, userId);
  assert.equal(payload.email, 'rose@example.com');

  const byRefresh = await sdk(legacy.client_id, 'delegation', { grant_type: JWT_BEARER, refresh_token: login.refreshToken });
  assert.equal(byRefresh.err, undefined, JSON.stringify(byRefresh.err));
  // No target: the caller itself.
  assert.equal((await jwtVerify(byRefresh.result.idToken, jwks, { issuer: s.issuer, audience: legacy.client_id })).payload.sub, userId);
  // The legacy refresh token is not spent by a delegation.
  assert.ok((await sdk(legacy.client_id, 'delegation', { grant_type: JWT_BEARER, refresh_token: login.refreshToken })).result?.idToken);
});

test('/delegation refusals: unknown target, add-on api_type, an application without the grant, a bad refresh token, missing parameters', async () => {
  const idToken = (await ro(legacy.client_id)).result.idToken;
  const call = (clientId: string, o: Record<string, unknown>) => sdk(clientId, 'delegation', { grant_type: JWT_BEARER, ...o });

  assert.deepEqual((await call(legacy.client_id, { id_token: idToken, target: 'no-such-app' })).err,
    { code: 'invalid_request', description: 'Target client not found: no-such-app', statusCode: 400 });
  const firebase = (await call(legacy.client_id, { id_token: idToken, api_type: 'firebase' })).err;
  assert.equal(firebase?.statusCode, 400);
  assert.equal(firebase?.code, 'invalid_request');
  assert.match(firebase!.description!, /firebase add-on/);
  assert.deepEqual((await call(plain.client_id, { id_token: idToken })).err,
    { code: 'unauthorized_client', description: `Grant type '${DELEGATION_ID}' not allowed for the client.`, statusCode: 403 });
  assert.deepEqual((await call(legacy.client_id, { refresh_token: 'not-a-refresh-token' })).err,
    { code: 'invalid_refresh_token', description: 'Unknown or invalid refresh token.', statusCode: 401 });
  assert.deepEqual((await call(legacy.client_id, {})).err,
    { code: 'invalid_request', description: 'Missing required parameter: id_token or refresh_token', statusCode: 400 });
  const wrongGrant = await post('/delegation', { client_id: legacy.client_id, grant_type: 'password', id_token: idToken });
  assert.equal(wrongGrant.status, 400);
  assert.equal(wrongGrant.body.error, 'unsupported_grant_type');
  const garbage = await post('/delegation', { client_id: legacy.client_id, grant_type: JWT_BEARER, id_token: 'garbage' });
  assert.deepEqual(garbage, { status: 401, body: { error: 'invalid_token', error_description: 'jwt malformed' } });
});

test('/tokeninfo: the profile of the ID token\'s user; a forged, expired or missing token is refused', async () => {
  const idToken = (await ro(legacy.client_id, { scope: 'openid email' })).result.idToken;
  const ok = await post('/tokeninfo', { id_token: idToken });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.user_id, userId);
  assert.equal(ok.body.email, 'rose@example.com');
  assert.equal(ok.body.name, 'Rose');
  assert.equal(ok.body.identities[0].connection, DB);

  const [h, p] = idToken.split('.');
  assert.deepEqual(await post('/tokeninfo', { id_token: `${h}.${p}.AAAA` }), { status: 401, body: { error: 'invalid_token', error_description: 'invalid signature' } });
  assert.deepEqual(await post('/tokeninfo', {}), { status: 400, body: { error: 'invalid_request', error_description: 'Missing required parameter: id_token' } });
  assert.deepEqual(await post('/tokeninfo', { id_token: 'a.b' }), { status: 401, body: { error: 'invalid_token', error_description: 'jwt malformed' } });

  const short = (await ro(shortLived.client_id)).result.idToken;
  await new Promise((r) => setTimeout(r, 2100));
  assert.deepEqual(await post('/tokeninfo', { id_token: short }), { status: 401, body: { error: 'invalid_token', error_description: 'jwt expired' } });
  const expiredDelegation = await post('/delegation', { client_id: shortLived.client_id, grant_type: JWT_BEARER, id_token: short });
  assert.deepEqual(expiredDelegation, { status: 401, body: { error: 'invalid_token', error_description: 'jwt expired' } });
});
