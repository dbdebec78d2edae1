import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as client from 'openid-client';
import { AuthClient } from '@auth0/auth0-auth-js';
import { SignJWT, calculateJwkThumbprint, decodeJwt, exportJWK, generateKeyPair } from 'jose';
import { startServer, type TestServer } from './helpers/server.ts';
import { createApp, createUser, scriptedLogin } from './helpers/login-flow.ts';

// DPoP as Auth0 does it: the application, the API and the request's proof
// decide together whether a token is bound to the caller's key.

let s: TestServer;
let spa: { client_id: string };
let m2m: { client_id: string; client_secret?: string };
let strict: { client_id: string; client_secret?: string };
const CB = 'http://localhost:3000/callback';
const USER = 'dora@example.com';
const PASSWORD = 'Dora-pw-123!';

async function api(identifier: string, pop?: object) {
  const r = await s.api('POST', '/resource-servers', { body: { name: identifier, identifier, scopes: [{ value: 'read:x', description: 'r' }], allow_offline_access: true, ...(pop ? { proof_of_possession: pop } : {}) } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.deepEqual(r.body.proof_of_possession, pop);
}

async function grant(clientId: string, audience: string) {
  const r = await s.api('POST', '/client-grants', { body: { client_id: clientId, audience, scope: ['read:x'] } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
}

before(async () => {
  s = await startServer();
  spa = await createApp(s, { name: 'SPA', app_type: 'spa', callbacks: [CB], web_origins: ['http://localhost:3000'] });
  m2m = await createApp(s, { name: 'M2M', app_type: 'non_interactive', grant_types: ['client_credentials', 'password', 'refresh_token'] });
  strict = await createApp(s, { name: 'Strict', app_type: 'non_interactive', grant_types: ['client_credentials'], require_proof_of_possession: true });
  await createUser(s, USER, PASSWORD, { email_verified: true });
  await api('https://allowed.example', { mechanism: 'dpop', required: false });
  await api('https://required.example', { mechanism: 'dpop', required: true });
  await api('https://public-only.example', { mechanism: 'dpop', required: true, required_for: 'public_clients' });
  await api('https://mtls.example', { mechanism: 'mtls', required: true });
  await api('https://plain.example');
  for (const a of ['https://allowed.example', 'https://required.example', 'https://public-only.example', 'https://mtls.example', 'https://plain.example']) {
    await grant(m2m.client_id, a);
    await grant(strict.client_id, a);
  }
});
after(async () => { await s?.close(); });

/** A key and proofs signed with it, as a DPoP client makes them. */
async function dpopKey() {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = await exportJWK(publicKey);
  return {
    jkt: await calculateJwkThumbprint(jwk),
    proof: (htu: string, htm = 'POST', extra: Record<string, unknown> = {}) =>
      new SignJWT({ htu, htm, jti: randomUUID(), ...extra }).setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk }).setIssuedAt().sign(privateKey),
  };
}

async function token(body: Record<string, string>, proof?: string) {
  const r = await fetch(`${s.baseUrl}/oauth/token`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...(proof ? { dpop: proof } : {}) }, body: JSON.stringify(body),
  });
  return { status: r.status, body: await r.json() as any, nonce: r.headers.get('dpop-nonce') };
}

const cc = (c: { client_id: string; client_secret?: string }, audience: string) =>
  ({ grant_type: 'client_credentials', client_id: c.client_id, client_secret: c.client_secret!, audience });

test('discovery lists ES256 for DPoP proofs', async () => {
  const doc = await (await fetch(`${s.baseUrl}/.well-known/openid-configuration`)).json() as any;
  assert.deepEqual(doc.dpop_signing_alg_values_supported, ['ES256']);
});

test('openid-client: a public SPA gets key-bound tokens after the nonce round trip, refreshes and calls /userinfo with proofs', async () => {
  const config = await client.discovery(new URL(s.baseUrl), spa.client_id, undefined, client.None());
  const keys = await client.randomDPoPKeyPair('ES256');
  const DPoP = client.getDPoPHandle(config, keys);
  const jkt = await calculateJwkThumbprint(await exportJWK(keys.publicKey));
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: CB, scope: 'openid email offline_access', audience: 'https://allowed.example',
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  const { url: callback } = await scriptedLogin(s, url.href, USER, PASSWORD);
  assert.ok(callback.startsWith(CB), callback);

  // A public client's first proof has no nonce: Auth0 answers use_dpop_nonce with one, and the client retries.
  const code = new URL(callback).searchParams.get('code')!;
  const bare = await dpopKey();
  const first = await fetch(`${s.baseUrl}/oauth/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: await bare.proof(`${s.baseUrl}/oauth/token`) },
    body: new URLSearchParams({ grant_type: 'authorization_code', client_id: spa.client_id, code, code_verifier: verifier, redirect_uri: CB }),
  });
  assert.equal(first.status, 400);
  assert.equal((await first.json() as any).error, 'use_dpop_nonce');
  assert.ok(first.headers.get('dpop-nonce'));

  const tokens = await client.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: verifier }, undefined, { DPoP });
  assert.equal(tokens.token_type.toLowerCase(), 'dpop');
  const at = decodeJwt(tokens.access_token);
  assert.deepEqual(at.cnf, { jkt });
  assert.deepEqual(at.aud, ['https://allowed.example', `${s.baseUrl}/userinfo`]);

  // /userinfo: the bound JWT works with its proof, and not as a Bearer token.
  const info = await client.fetchUserInfo(config, tokens.access_token, at.sub as string, { DPoP });
  assert.equal(info.email, USER);
  const asBearer = await fetch(`${s.baseUrl}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.equal(asBearer.status, 401);
  const otherKey = await fetch(`${s.baseUrl}/userinfo`, {
    headers: { authorization: `DPoP ${tokens.access_token}`, dpop: await bare.proof(`${s.baseUrl}/userinfo`, 'GET') },
  });
  assert.equal(otherKey.status, 401, 'a proof by another key does not count');
  assert.match(otherKey.headers.get('www-authenticate') ?? '', /^DPoP /);

  // The refresh token is bound to the same key: with it, a new bound token; without a proof, nothing.
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!, undefined, { DPoP });
  assert.deepEqual(decodeJwt(refreshed.access_token).cnf, { jkt });
  const stolen = await token({ grant_type: 'refresh_token', client_id: spa.client_id, refresh_token: refreshed.refresh_token ?? tokens.refresh_token! });
  assert.notEqual(stolen.status, 200);
  assert.equal(stolen.body.access_token, undefined);
});

test('openid-client: a token for /userinfo alone is bound too (the engine checks its proofs)', async () => {
  const config = await client.discovery(new URL(s.baseUrl), spa.client_id, undefined, client.None());
  const DPoP = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: CB, scope: 'openid email', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  const { url: callback } = await scriptedLogin(s, url.href, USER, PASSWORD);
  const tokens = await client.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: verifier }, undefined, { DPoP });
  assert.equal(tokens.token_type.toLowerCase(), 'dpop');
  const sub = tokens.claims()!.sub;
  assert.equal((await client.fetchUserInfo(config, tokens.access_token, sub, { DPoP })).email, USER);
  const asBearer = await fetch(`${s.baseUrl}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.equal(asBearer.status, 401);
});

test('client credentials: bound where the API takes DPoP, Bearer where it does not; a confidential client needs no nonce', async () => {
  const key = await dpopKey();
  const htu = `${s.baseUrl}/oauth/token`;
  const bound = await token(cc(m2m, 'https://allowed.example'), await key.proof(htu));
  assert.equal(bound.status, 200, JSON.stringify(bound.body));
  assert.equal(bound.body.token_type, 'DPoP');
  assert.deepEqual(decodeJwt(bound.body.access_token).cnf, { jkt: key.jkt });

  const plain = await token(cc(m2m, 'https://plain.example'), await key.proof(htu));
  assert.equal(plain.status, 200, JSON.stringify(plain.body));
  assert.equal(plain.body.token_type, 'Bearer');
  assert.equal(decodeJwt(plain.body.access_token).cnf, undefined);
  // The Management API binds nothing either, and takes that token as any other.
  const mgmt = await token(cc({ client_id: s.clientId, client_secret: s.clientSecret }, s.audience), await key.proof(htu));
  assert.equal(mgmt.body.token_type, 'Bearer');
  assert.equal(decodeJwt(mgmt.body.access_token).cnf, undefined);
  const users = await fetch(`${s.baseUrl}/api/v2/users`, { headers: { authorization: `Bearer ${mgmt.body.access_token}` } });
  assert.equal(users.status, 200);

  const noProof = await token(cc(m2m, 'https://allowed.example'));
  assert.equal(noProof.body.token_type, 'Bearer', 'an API that allows DPoP still issues Bearer tokens without a proof');
});

test('required proofs: refused without one, as Auth0 issues nothing', async () => {
  const key = await dpopKey();
  const htu = `${s.baseUrl}/oauth/token`;
  const missing = await token(cc(m2m, 'https://required.example'));
  assert.equal(missing.status, 400);
  assert.equal(missing.body.error, 'invalid_request');
  assert.match(missing.body.error_description, /DPoP proof is required/);
  assert.equal(missing.body.access_token, undefined);
  assert.equal((await token(cc(m2m, 'https://required.example'), await key.proof(htu))).body.token_type, 'DPoP');

  // required_for public_clients: a confidential client goes without.
  const confidential = await token(cc(m2m, 'https://public-only.example'));
  assert.equal(confidential.status, 200);
  assert.equal(confidential.body.token_type, 'Bearer');

  // An application that requires proof: never without one, and never for an API that cannot bind.
  const strictBare = await token(cc(strict, 'https://allowed.example'));
  assert.equal(strictBare.status, 400);
  assert.equal(strictBare.body.error, 'invalid_request');
  const strictPlain = await token(cc(strict, 'https://plain.example'), await key.proof(htu));
  assert.equal(strictPlain.status, 400);
  assert.match(strictPlain.body.error_description, /does not support/);
  const strictOk = await token(cc(strict, 'https://allowed.example'), await key.proof(htu));
  assert.equal(strictOk.status, 200);
  assert.equal(strictOk.body.token_type, 'DPoP');

  // mTLS cannot be done here: an API that requires it issues nothing.
  const mtls = await token(cc(m2m, 'https://mtls.example'), await key.proof(htu));
  assert.equal(mtls.status, 400);
  assert.match(mtls.body.error_description, /mTLS/);
});

test('bad proofs: replayed, wrong URL, wrong algorithm', async () => {
  const key = await dpopKey();
  const htu = `${s.baseUrl}/oauth/token`;
  const proof = await key.proof(htu);
  assert.equal((await token(cc(m2m, 'https://allowed.example'), proof)).status, 200);
  const replay = await token(cc(m2m, 'https://allowed.example'), proof);
  assert.equal(replay.body.access_token, undefined);
  assert.ok(replay.status >= 400 && replay.status < 500, String(replay.status));
  assert.equal(replay.body.error, 'invalid_grant');

  const wrongUrl = await token(cc(m2m, 'https://allowed.example'), await key.proof(`${s.baseUrl}/elsewhere`));
  assert.equal(wrongUrl.status, 400);
  assert.equal(wrongUrl.body.error, 'invalid_dpop_proof');

  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const rsa = await new SignJWT({ htu, htm: 'POST', jti: randomUUID() }).setProtectedHeader({ alg: 'RS256', typ: 'dpop+jwt', jwk: await exportJWK(publicKey) }).setIssuedAt().sign(privateKey);
  const wrongAlg = await token(cc(m2m, 'https://allowed.example'), rsa);
  assert.equal(wrongAlg.status, 400);
  assert.equal(wrongAlg.body.error, 'invalid_dpop_proof');
});

test('auth0-auth-js password grant with a proof: bound for a DPoP API, Bearer for another', async () => {
  const key = await dpopKey();
  const htu = `${s.baseUrl}/oauth/token`;
  const body = { grant_type: 'password', client_id: m2m.client_id, client_secret: m2m.client_secret!, username: USER, password: PASSWORD, realm: 'Username-Password-Authentication', scope: 'openid offline_access' };
  const bound = await token({ ...body, audience: 'https://allowed.example' }, await key.proof(htu));
  assert.equal(bound.status, 200, JSON.stringify(bound.body));
  assert.equal(bound.body.token_type, 'DPoP');
  assert.deepEqual(decodeJwt(bound.body.access_token).cnf, { jkt: key.jkt });
  const plain = await token({ ...body, audience: 'https://plain.example' }, await key.proof(htu));
  assert.equal(plain.body.token_type, 'Bearer');
  assert.equal(decodeJwt(plain.body.access_token).cnf, undefined);
  const missing = await token({ ...body, audience: 'https://required.example' });
  assert.equal(missing.status, 400);
  assert.equal(missing.body.error, 'invalid_request');

  // The SDK without DPoP still gets Bearer tokens for an API that merely allows it.
  const auth = new AuthClient({ domain: s.domain, clientId: m2m.client_id, clientSecret: m2m.client_secret! });
  const t: any = await auth.getTokenByPassword({ username: USER, password: PASSWORD, realm: 'Username-Password-Authentication', audience: 'https://allowed.example', scope: 'openid' } as any);
  assert.equal(decodeJwt(t.accessToken).cnf, undefined);
});

/** A login of the SPA through the real login page; returns the callback URL and the PKCE verifier. */
async function spaLogin(config: client.Configuration, params: Record<string, string>) {
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: CB, scope: 'openid email', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...params,
  });
  const { url: callback } = await scriptedLogin(s, url.href, USER, PASSWORD);
  assert.ok(callback.startsWith(CB), callback);
  return { callback: new URL(callback), verifier };
}

test('openid-client: dpop_jkt at /authorize binds the code to that key; a code for an API without DPoP yields a Bearer token', async () => {
  const config = await client.discovery(new URL(s.baseUrl), spa.client_id, undefined, client.None());
  const keys = await client.randomDPoPKeyPair('ES256');
  const DPoP = client.getDPoPHandle(config, keys);
  const jkt = await DPoP.calculateThumbprint();

  const other = await spaLogin(config, { dpop_jkt: jkt });
  await assert.rejects(
    client.authorizationCodeGrant(config, other.callback, { pkceCodeVerifier: other.verifier }, undefined, { DPoP: client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256')) }),
    (e: any) => e.error === 'invalid_grant',
  );
  const right = await spaLogin(config, { dpop_jkt: jkt });
  const tokens = await client.authorizationCodeGrant(config, right.callback, { pkceCodeVerifier: right.verifier }, undefined, { DPoP });
  assert.equal(tokens.token_type.toLowerCase(), 'dpop');

  const plain = await spaLogin(config, { audience: 'https://plain.example' });
  const bearer = await client.authorizationCodeGrant(config, plain.callback, { pkceCodeVerifier: plain.verifier }, undefined, { DPoP });
  assert.equal(bearer.token_type.toLowerCase(), 'bearer');
  assert.equal(decodeJwt(bearer.access_token).cnf, undefined);
  assert.ok((decodeJwt(bearer.access_token).aud as string[]).includes('https://plain.example'));
});

test('openid-client: a code for an API that requires DPoP is refused without a proof', async () => {
  const config = await client.discovery(new URL(s.baseUrl), spa.client_id, undefined, client.None());
  const login = await spaLogin(config, { audience: 'https://required.example' });
  await assert.rejects(
    client.authorizationCodeGrant(config, login.callback, { pkceCodeVerifier: login.verifier }),
    (e: any) => e.error === 'invalid_request' && /DPoP proof is required/.test(e.error_description),
  );
});
