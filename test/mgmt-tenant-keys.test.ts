import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ManagementClient } from 'auth0';
import { decodeProtectedHeader } from 'jose';
import { startServer, type TestServer } from './helpers/server.ts';
import { managementClient } from './helpers/sdk.ts';
import { assertError } from './helpers/assert.ts';

// Tenant settings, signing keys (rotate, revoke, and what a revoked key means
// for tokens it signed), and the per-client rate limiter.

let s: TestServer;
let mc: ManagementClient;
before(async () => {
  s = await startServer();
  mc = managementClient(s);
});
after(async () => { await s?.close(); });


test('tenant settings: get, patch (nested objects merge), validation', async () => {
  const t: any = await mc.tenants.settings.get();
  assert.equal(typeof t.friendly_name, 'string');
  assert.equal(t.flags.enable_client_connections, true);
  const u: any = await mc.tenants.settings.update({ friendly_name: 'Acme', support_email: 'help@acme.example', flags: { revoke_refresh_token_grant: true } as any, session_lifetime: 24 });
  assert.equal(u.friendly_name, 'Acme');
  assert.equal(u.support_email, 'help@acme.example');
  assert.equal(u.session_lifetime, 24);
  assert.equal(u.flags.revoke_refresh_token_grant, true);
  assert.equal(u.flags.enable_client_connections, true, 'flags merge');
  const again: any = await mc.tenants.settings.get();
  assert.equal(again.friendly_name, 'Acme');
  const projected = await s.api('GET', '/tenants/settings?fields=friendly_name&include_fields=true');
  assert.deepEqual(projected.body, { friendly_name: 'Acme' });

  assertError(await s.api('PATCH', '/tenants/settings', { body: { session_lifetime: 'long' } }), 400, /^Payload validation error/, 'invalid_body');
  assertError(await s.api('PATCH', '/tenants/settings', { body: { not_a_setting: true } }), 400, /Additional properties not allowed: not_a_setting/);
  assertError(await s.api('PATCH', '/tenants/settings', { body: '{oops' }), 400, 'Invalid request payload JSON format');
  assert.equal((await mc.tenants.settings.get() as any).friendly_name, 'Acme', 'rejected writes change nothing');
});

test('signing keys: list, get, rotate, revoke; a revoked key stops validating', async () => {
  const list: any[] = await mc.keys.signing.list() as any;
  assert.equal(list.length, 2);
  const cur = list.find((k) => k.current);
  const next = list.find((k) => k.next);
  assert.ok(cur && next && cur.kid !== next.kid);
  assert.ok(cur.cert.includes('BEGIN CERTIFICATE') && cur.pkcs7.includes('PKCS7'));
  assert.match(cur.fingerprint, /^([0-9A-F]{2}:){19}[0-9A-F]{2}$/);
  assert.match(cur.thumbprint, /^[0-9a-f]{40}$/);
  const one: any = await mc.keys.signing.get(cur.kid);
  assert.deepEqual(one, cur);
  assertError(await s.api('GET', '/keys/signing/no-such-kid'), 404);

  // A token signed by the current key, kept across the rotation.
  const oldToken = await s.token();
  assert.equal(decodeProtectedHeader(oldToken).kid, cur.kid);
  assertError(await s.api('PUT', `/keys/signing/${cur.kid}/revoke`), 400, undefined, 'invalid_key');

  const rotated: any = await mc.keys.signing.rotate();
  assert.equal(rotated.kid, next.kid, 'the published next key becomes current');
  assert.ok(rotated.cert.includes('BEGIN CERTIFICATE'));
  const after: any[] = await mc.keys.signing.list() as any;
  assert.equal(after.length, 3);
  assert.equal(after.find((k) => k.kid === cur.kid).previous, true);
  assert.equal(after.find((k) => k.kid === next.kid).current, true);
  const newNext = after.find((k) => k.next);
  assert.ok(newNext && ![cur.kid, next.kid].includes(newNext.kid));

  const jwks = await (await fetch(`${s.baseUrl}/.well-known/jwks.json`)).json() as any;
  assert.deepEqual(jwks.keys.map((k: any) => k.kid).sort(), [cur.kid, next.kid, newNext.kid].sort());
  const fresh = await s.token();
  assert.equal(decodeProtectedHeader(fresh).kid, next.kid, 'new tokens are signed by the new current key');
  assert.equal((await s.api('GET', '/tenants/settings', { token: oldToken })).status, 200, 'the previous key still validates');

  const revoked: any = await mc.keys.signing.revoke(cur.kid);
  assert.equal(revoked.kid, cur.kid);
  // The SDK's cached token was signed by the key just revoked, so it is now refused as well.
  await assert.rejects(mc.keys.signing.get(cur.kid), (e: any) => e.statusCode === 401);
  const k = (await s.api('GET', `/keys/signing/${cur.kid}`, { token: fresh })).body;
  assert.equal(k.revoked, true);
  assert.ok(k.revoked_at);
  const r = await s.api('GET', '/tenants/settings', { token: oldToken });
  assertError(r, 401, 'Invalid token');
  assert.equal((await s.api('GET', '/tenants/settings', { token: fresh })).status, 200);
  const jwks2 = await (await fetch(`${s.baseUrl}/.well-known/jwks.json`)).json() as any;
  assert.ok(!jwks2.keys.some((x: any) => x.kid === cur.kid), 'revoked keys are unpublished');
  assertError(await s.api('PUT', '/keys/signing/no-such-kid/revoke', { token: fresh }), 404);
});

test('signing keys: concurrent rotations leave exactly one current and one next key', async () => {
  const token = await s.token();
  const answers = await Promise.all(Array.from({ length: 8 }, () => s.api('POST', '/keys/signing/rotate', { token })));
  assert.deepEqual(answers.map((r) => r.status), Array(8).fill(201));
  const keys = (await s.api('GET', '/keys/signing', { token })).body as any[];
  const current = keys.filter((k) => k.current);
  assert.equal(current.length, 1, JSON.stringify(keys.map((k) => [k.kid, k.current, k.next])));
  assert.equal(keys.filter((k) => k.next).length, 1);
  // The last answer names the key that is current once all have landed.
  assert.ok(answers.some((r) => r.body.kid === current[0].kid));
  // Whatever raced, tokens are signed with that key and published in the JWKS.
  const jwks = await (await fetch(`${s.baseUrl}/.well-known/jwks.json`)).json() as { keys: any[] };
  assert.ok(jwks.keys.some((k) => k.kid === current[0].kid));
  assert.equal(decodeProtectedHeader(await s.token()).kid, current[0].kid);
});

test('rate limiting: the request over the limit gets 429 in the Auth0 shape with Retry-After', async () => {
  const limited = await startServer(['--rate-limit', '5']);
  try {
    const token = await limited.token();
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await limited.api('GET', '/tenants/settings', { token });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('x-ratelimit-limit'), '5');
      seen.push(Number(r.headers.get('x-ratelimit-remaining')));
    }
    assert.deepEqual(seen, [4, 3, 2, 1, 0]);
    const sixth = await limited.api('GET', '/users', { token });
    assert.equal(sixth.status, 429);
    assert.deepEqual(sixth.body, { statusCode: 429, error: 'Too Many Requests', message: sixth.body.message, errorCode: 'too_many_requests' });
    assert.equal(typeof sixth.body.message, 'string');
    assert.match(String(sixth.headers.get('retry-after')), /^[1-9]\d*$/);
    assert.ok(Number(sixth.headers.get('retry-after')) <= 60);
    assert.equal(sixth.headers.get('x-ratelimit-remaining'), '0');
    const reset = Number(sixth.headers.get('x-ratelimit-reset'));
    assert.ok(Number.isInteger(reset) && reset > Date.now() / 1000);
    // Writes are refused too, and nothing is written.
    const write = await limited.api('POST', '/resource-servers', { token, body: { identifier: 'urn:over-limit' } });
    assert.equal(write.status, 429);
    assert.equal((await limited.runtime.env.store.resourceServers.findBy('identifier', 'urn:over-limit')), undefined);
    // Another client has its own window.
    assert.equal((await s.api('GET', '/tenants/settings')).status, 200);
  } finally {
    await limited.close();
  }
});
