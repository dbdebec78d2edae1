import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair, importJWK, SignJWT } from 'jose';
import { managementRoutes } from '../src/management/index.ts';
import { startServer, type TestServer } from './helpers/server.ts';

// Every implemented Management API route, called with each kind of bad
// credential. The list comes from the router's own registry, so routes added
// later are covered without touching this file.

let s: TestServer;
let forged: CryptoKey;
let fullToken: string;
const now = () => Math.floor(Date.now() / 1000);

before(async () => {
  s = await startServer();
  forged = (await generateKeyPair('RS256')).privateKey;
  fullToken = await s.token();
});
after(async () => { await s?.close(); });

/** A token the tenant would sign, with the given claim overrides, signed by `key` (default: the real current key). */
async function sign(claims: Record<string, unknown>, key?: CryptoKey) {
  const cur = s.runtime.env.keys.current();
  const k = key ?? await importJWK(cur.privateJwk, 'RS256');
  const iat = now();
  return new SignJWT({ scope: 'read:users', gty: 'client-credentials', azp: s.clientId, ...claims })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: cur.row.kid })
    .setIssuer(s.issuer).setSubject(`${s.clientId}@clients`).setAudience((claims.aud as string) ?? s.audience)
    .setIssuedAt((claims.iat as number) ?? iat).setExpirationTime((claims.exp as number) ?? iat + 3600)
    .sign(k as any);
}

const concrete = (path: string) => path.replace(/\{(\w+)\}/g, (_, name) => `dummy-${name}-0`);

async function call(method: string, path: string, token?: string) {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  let body: string | undefined;
  if (['POST', 'PUT', 'PATCH'].includes(method)) { headers['content-type'] = 'application/json'; body = '{}'; }
  const r = await fetch(`${s.baseUrl}/api/v2${concrete(path)}`, { method, headers, body });
  const text = await r.text();
  let json: any;
  try { json = JSON.parse(text); } catch { json = text; }
  return { status: r.status, body: json, headers: r.headers };
}

function assertRateHeaders(h: Headers, what: string) {
  const limit = h.get('x-ratelimit-limit'), remaining = h.get('x-ratelimit-remaining'), reset = h.get('x-ratelimit-reset');
  assert.match(String(limit), /^\d+$/, `${what}: X-RateLimit-Limit`);
  assert.match(String(remaining), /^\d+$/, `${what}: X-RateLimit-Remaining`);
  assert.match(String(reset), /^\d+$/, `${what}: X-RateLimit-Reset is integer epoch seconds`);
  assert.ok(Number(remaining) <= Number(limit));
  assert.ok(Number(reset) >= now() - 1 && Number(reset) <= now() + 3600, `${what}: reset ${reset} is an epoch time in the near future`);
}

function assert401(r: { status: number; body: any; headers: Headers }, what: string, message: string | RegExp) {
  assert.equal(r.status, 401, `${what}: ${JSON.stringify(r.body)}`);
  assert.equal(r.body.statusCode, 401, what);
  assert.equal(r.body.error, 'Unauthorized', what);
  if (typeof message === 'string') assert.equal(r.body.message, message, what);
  else assert.match(r.body.message, message, what);
  assert.equal(typeof r.body.errorCode, 'string', what);
  assertRateHeaders(r.headers, what);
}

test('the route registry is not empty and every route names its scopes', () => {
  assert.ok(managementRoutes.length >= 30, `only ${managementRoutes.length} routes`);
  for (const { op } of managementRoutes) assert.ok(op.scopes.length > 0, `${op.method} ${op.path} has no scopes`);
});

for (const { op } of managementRoutes) {
  test(`${op.method} ${op.path}: credentials and scope are enforced`, async () => {
    const what = (c: string) => `${op.method} ${op.path} (${c})`;

    assert401(await call(op.method, op.path), what('no token'), 'Missing authentication');

    const garbage = await call(op.method, op.path, 'not-a-jwt');
    assert401(garbage, what('garbage token'), 'Invalid token');

    const badSig = await sign({ scope: op.scopes.join(' ') }, forged);
    assert401(await call(op.method, op.path, badSig), what('bad signature'), 'Invalid token');

    const expired = await sign({ scope: op.scopes.join(' '), iat: now() - 7200, exp: now() - 3600 });
    assert401(await call(op.method, op.path, expired), what('expired'), 'Expired token received for JSON Web Token validation');

    const wrongAud = await sign({ scope: op.scopes.join(' '), aud: 'https://some-other-api.example.com/' });
    assert401(await call(op.method, op.path, wrongAud), what('wrong audience'), /^Bad audience: https:\/\/some-other-api\.example\.com\/$/);

    const wrongIss = await new SignJWT({ scope: op.scopes.join(' ') })
      .setProtectedHeader({ alg: 'RS256', kid: s.runtime.env.keys.current().row.kid })
      .setIssuer('https://evil.example.com/').setAudience(s.audience).setIssuedAt().setExpirationTime('1h')
      .sign(await importJWK(s.runtime.env.keys.current().privateJwk, 'RS256') as any);
    assert401(await call(op.method, op.path, wrongIss), what('wrong issuer'), /^Bad issuer/);

    // A real token from /oauth/token carrying only a scope this operation does not accept.
    const other = ['read:insights', 'read:stats', 'read:logs'].find((x) => !op.scopes.includes(x))!;
    const narrow = await s.token(other);
    const r = await call(op.method, op.path, narrow);
    assert.equal(r.status, 403, what('lacking scope'));
    assert.deepEqual(r.body, {
      statusCode: 403, error: 'Forbidden',
      message: `Insufficient scope, expected any of: ${op.scopes.join(',')}`,
      errorCode: 'insufficient_scope',
    }, what('lacking scope'));
    assertRateHeaders(r.headers, what('lacking scope'));

    // Any single listed scope suffices; with it, dummy ids never produce an auth error or a 5xx.
    // (A `current_user` scope suffices only for the token's own user: test/account-linking.test.ts.)
    const one = await sign({ scope: [...op.scopes].reverse().find((x) => !x.includes(':current_user')) ?? op.scopes[op.scopes.length - 1] });
    const ok = await call(op.method, op.path, one);
    assert.notEqual(ok.status, 401, `${what('one scope')}: ${JSON.stringify(ok.body)}`);
    assert.notEqual(ok.body?.errorCode, 'insufficient_scope', what('one scope'));
    assert.ok(ok.status < 500, `${what('one scope')}: ${ok.status} ${JSON.stringify(ok.body)}`);
    assertRateHeaders(ok.headers, what('one scope'));
    if (ok.status >= 400) {
      assert.deepEqual(Object.keys(ok.body).filter((k) => ['statusCode', 'error', 'message'].includes(k)).sort(), ['error', 'message', 'statusCode'], what('error shape'));
      assert.equal(ok.body.statusCode, ok.status);
    }
  });
}

test('unknown /api/v2 paths get a 404 in the Auth0 shape, with rate limit headers', async () => {
  for (const [method, path] of [['GET', '/no-such-resource'], ['POST', '/users/x/y/z'], ['PUT', '/clients']]) {
    const r = await call(method, path, fullToken);
    assert.equal(r.status, 404, `${method} ${path}`);
    assert.deepEqual(r.body, { statusCode: 404, error: 'Not Found', message: 'Not Found' });
    assertRateHeaders(r.headers, 'unknown path');
  }
});

test('Remaining counts down per client', async () => {
  const a = await call('GET', '/tenants/settings', fullToken);
  const b = await call('GET', '/tenants/settings', fullToken);
  assert.equal(Number(b.headers.get('x-ratelimit-remaining')), Number(a.headers.get('x-ratelimit-remaining')) - 1);
});
