import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { startServer, type TestServer } from './helpers/server.ts';
import { createApp, createUser, scriptedLogin } from './helpers/login-flow.ts';

// Dex's oidc connector as Pachyderm runs it (../shared/integrations/dex-pachyderm.md):
// discovery from the issuer without its trailing slash, sorted query with `+`
// for spaces, Basic credentials URL-escaped before base64, id_token required
// on the exchange and on refresh, email_verified a JSON boolean.

let s: TestServer;
let app: { client_id: string; client_secret?: string };
const REDIRECT = 'http://127.0.0.1:30658/callback';

before(async () => {
  s = await startServer();
  app = await createApp(s, { name: 'Pachyderm Dex', app_type: 'regular_web', grant_types: ['authorization_code', 'refresh_token'], callbacks: [REDIRECT] });
  await createUser(s, 'dana@example.com', 'Dana-pw-123!', { name: 'Dana Scully' });
});
after(async () => { await s?.close(); });

function basic(id: string, secret: string) {
  const q = (v: string) => new URLSearchParams({ v }).toString().slice(2); // Go's url.QueryEscape
  return `Basic ${Buffer.from(`${q(id)}:${q(secret)}`).toString('base64')}`;
}

test('a Dex-style connector logs in, verifies the ID token and refreshes', async () => {
  const issuer = `${s.baseUrl}/`;
  const disco = await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
  assert.equal(disco.status, 200);
  const meta = await disco.json() as any;
  assert.equal(meta.issuer, issuer, 'issuer must equal the configured one, trailing slash included');
  assert.ok(meta.token_endpoint_auth_methods_supported.includes('client_secret_basic'));
  assert.ok(meta.id_token_signing_alg_values_supported.includes('RS256'));

  // url.Values.Encode(): sorted keys, spaces as '+'; Pachyderm v2.0-2.6 add offline_access, upstream adds access_type+prompt.
  const q = new URLSearchParams([
    ['access_type', 'offline'], ['client_id', app.client_id], ['login_hint', 'dana@example.com'], ['prompt', 'consent'],
    ['redirect_uri', REDIRECT], ['response_type', 'code'], ['scope', 'openid profile email groups offline_access'], ['state', 'dex-req-1'],
  ]);
  const { url } = await scriptedLogin(s, `${meta.authorization_endpoint}?${q.toString()}`, 'dana@example.com', 'Dana-pw-123!');
  const cb = new URL(url);
  assert.equal(cb.origin + cb.pathname, REDIRECT, url);
  assert.equal(cb.searchParams.get('state'), 'dex-req-1');
  const code = cb.searchParams.get('code')!;

  const tok = await fetch(meta.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(app.client_id, app.client_secret!) },
    body: new URLSearchParams({ code, grant_type: 'authorization_code', redirect_uri: REDIRECT }),
  });
  assert.equal(tok.status, 200);
  const t = await tok.json() as any;
  assert.equal(t.token_type, 'Bearer');
  assert.equal(typeof t.expires_in, 'number');
  assert.ok(t.access_token && t.id_token && t.refresh_token);

  const jwks = createRemoteJWKSet(new URL(meta.jwks_uri));
  const { payload } = await jwtVerify(t.id_token, jwks, { issuer, audience: app.client_id, algorithms: ['RS256'] });
  assert.match(String(payload.sub), /^auth0\|/);
  assert.equal(payload.name, 'Dana Scully');
  assert.equal(payload.email, 'dana@example.com');
  assert.equal(payload.email_verified, false);
  assert.equal(typeof payload.email_verified, 'boolean');

  const info = await fetch(meta.userinfo_endpoint, { headers: { authorization: `Bearer ${t.access_token}` } });
  assert.equal(info.status, 200);
  const claims = await info.json() as any;
  assert.equal(claims.sub, payload.sub);
  assert.equal(claims.email_verified, false);

  const ref = await fetch(meta.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(app.client_id, app.client_secret!) },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: t.refresh_token }),
  });
  assert.equal(ref.status, 200);
  const r = await ref.json() as any;
  assert.ok(r.id_token, 'a refresh returns a fresh id_token');
  const again = await jwtVerify(r.id_token, jwks, { issuer, audience: app.client_id });
  assert.equal(again.payload.sub, payload.sub);
  assert.equal(again.payload.name, 'Dana Scully');
  assert.equal(typeof again.payload.email_verified, 'boolean');
});
