import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ManagementClient } from 'auth0';
import { startServer, type TestServer } from './helpers/server.ts';
import { managementClient } from './helpers/sdk.ts';
import { createApp, createUser, formFields, go, Jar } from './helpers/login-flow.ts';

// Brute-force protection as the tenant's attack-protection settings configure
// it, enforced on the password grants and the login page, and lifted through
// /user-blocks or a password reset.

let s: TestServer;
let mc: ManagementClient;
let app: { client_id: string; client_secret?: string };
let trusted: { client_id: string; client_secret?: string };
const REALM = 'http://auth0.com/oauth/grant-type/password-realm';
const CONN = 'Username-Password-Authentication';
const BLOCKED = 'Your account has been blocked after multiple consecutive login attempts.';

async function login(client: { client_id: string; client_secret?: string }, username: string, password: string, headers: Record<string, string> = {}) {
  const r = await fetch(`${s.baseUrl}/oauth/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ grant_type: REALM, client_id: client.client_id, client_secret: client.client_secret!, realm: CONN, username, password, scope: 'openid' }),
  });
  return { status: r.status, body: await r.json() as any };
}
const fail = async (email: string, n: number, headers: Record<string, string> = {}) => {
  for (let i = 0; i < n; i++) assert.equal((await login(app, email, 'wrong-password', headers)).status, 403);
};

before(async () => {
  s = await startServer();
  mc = managementClient(s);
  const grant_types = [REALM, 'authorization_code'];
  app = await createApp(s, { name: 'Guarded', app_type: 'regular_web', grant_types, callbacks: ['https://app.example.com/cb'] });
  trusted = await createApp(s, { name: 'Trusted backend', app_type: 'regular_web', grant_types, is_token_endpoint_ip_header_trusted: true });
  await mc.attackProtection.bruteForceProtection.update({ max_attempts: 3 });
});
after(async () => { await s?.close(); });

test('the third wrong password blocks the account: even the right password is refused with 429, and the log says why', async () => {
  const user = await createUser(s, 'ann@example.com', 'Ann-pw-123!');
  await fail('ann@example.com', 2);
  assert.equal((await login(app, 'ann@example.com', 'Ann-pw-123!')).status, 200, 'a success ends the run of failures');
  await fail('ann@example.com', 3);
  const refused = await login(app, 'ann@example.com', 'Ann-pw-123!');
  assert.equal(refused.status, 429);
  assert.deepEqual(refused.body, { error: 'too_many_attempts', error_description: BLOCKED });

  const blocks: any = await mc.userBlocks.list(user.user_id);
  assert.deepEqual(blocks.blocked_for.map((b: any) => [b.identifier, b.connection]), [['ann@example.com', CONN]]);
  assert.match(blocks.blocked_for[0].ip, /127\.0\.0\.1/);
  const byIdentifier: any = await mc.userBlocks.listByIdentifier({ identifier: 'ann@example.com' });
  assert.deepEqual(byIdentifier, blocks);
  const events = (await s.api('GET', `/logs?q=${encodeURIComponent(`user_id:"${user.user_id}" AND type:limit_wc`)}`)).body;
  assert.equal(events.length, 2, 'one when the block was set, one for the refused attempt');

  await mc.userBlocks.delete(user.user_id);
  assert.deepEqual(await mc.userBlocks.list(user.user_id), { blocked_for: [] });
  assert.equal((await login(app, 'ann@example.com', 'Ann-pw-123!')).status, 200);
});

test('unknown users are never blocked, and neither is an allowlisted address', async () => {
  await fail('ghost@example.com', 4);
  assert.deepEqual((await login(app, 'ghost@example.com', 'x')).body.error, 'invalid_grant');
  await createUser(s, 'al@example.com', 'Al-pw-123!');
  await mc.attackProtection.bruteForceProtection.update({ allowlist: ['127.0.0.0/8', '::1'] });
  try {
    await fail('al@example.com', 4);
    assert.equal((await login(app, 'al@example.com', 'Al-pw-123!')).status, 200);
  } finally {
    await mc.attackProtection.bruteForceProtection.update({ allowlist: [] });
  }
});

test('the block is per address: a trusted backend reports the end user\'s, an untrusted one cannot', async () => {
  await createUser(s, 'cy@example.com', 'Cy-pw-123!');
  // From an untrusted application the header is ignored: every attempt counts against 127.0.0.1.
  await fail('cy@example.com', 3, { 'auth0-forwarded-for': '203.0.113.1' });
  assert.equal((await login(app, 'cy@example.com', 'Cy-pw-123!', { 'auth0-forwarded-for': '203.0.113.2' })).status, 429);
  // The trusted backend's users come from elsewhere, and are not blocked by what happened at 127.0.0.1.
  assert.equal((await login(trusted, 'cy@example.com', 'Cy-pw-123!', { 'auth0-forwarded-for': '198.51.100.7' })).status, 200);
  const blocks: any = await mc.userBlocks.listByIdentifier({ identifier: 'cy@example.com' });
  assert.deepEqual(blocks.blocked_for.map((b: any) => b.ip.replace(/^::ffff:/, '')), ['127.0.0.1']);
  await mc.userBlocks.deleteByIdentifier({ identifier: 'cy@example.com' });
  assert.equal((await login(app, 'cy@example.com', 'Cy-pw-123!')).status, 200);
});

test('the login page refuses a blocked account with the same message, and disabled protection counts nothing', async () => {
  await createUser(s, 'di@example.com', 'Di-pw-123!');
  await fail('di@example.com', 3);
  const jar = new Jar();
  const u = new URL(`${s.baseUrl}/authorize`);
  u.search = new URLSearchParams({ client_id: app.client_id, response_type: 'code', redirect_uri: 'https://app.example.com/cb', scope: 'openid', state: 'st' }).toString();
  let res = await go(jar, u.toString());
  while (res.status >= 300 && res.status < 400) res = await go(jar, new URL(res.headers.get('location')!, s.baseUrl).toString());
  const fields = formFields(await res.text());
  const posted = await go(jar, `${s.baseUrl}/u/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...fields, username: 'di@example.com', password: 'Di-pw-123!' }) });
  assert.equal(posted.status, 429);
  assert.match(await posted.text(), new RegExp(BLOCKED));

  await createUser(s, 'ed@example.com', 'Ed-pw-123!');
  await mc.attackProtection.bruteForceProtection.update({ enabled: false });
  try {
    await fail('ed@example.com', 5);
    assert.equal((await login(app, 'ed@example.com', 'Ed-pw-123!')).status, 200);
  } finally {
    await mc.attackProtection.bruteForceProtection.update({ enabled: true });
  }
});

test('user-blocks answers Auth0\'s errors', async () => {
  assert.equal((await s.api('GET', '/user-blocks/auth0%7Cnobody')).status, 404);
  const missing = await s.api('GET', '/user-blocks');
  assert.equal(missing.status, 400);
  assert.equal(missing.body.statusCode, 400);
  assert.equal((await s.api('GET', '/user-blocks', { token: await s.token('read:clients') })).status, 403);
});

test('suspicious-IP throttling: failed logins from one address, across accounts, block every login from it until an administrator lifts it', async () => {
  await createUser(s, 'fay@example.com', 'Fay-pw-123!');
  await mc.attackProtection.suspiciousIpThrottling.update({ stage: { 'pre-login': { max_attempts: 3, rate: 86_400_000 } } });
  // The tests above failed logins from this address too; start from an empty count.
  const [earlier] = (await s.api('GET', `/logs?q=${encodeURIComponent('type:fu')}&per_page=1`)).body as any[];
  assert.equal((await s.api('DELETE', `/anomaly/blocks/ips/${encodeURIComponent(earlier.ip)}`)).status, 204);
  try {
    // Unknown accounts count too: this is credential stuffing, not one account's brute force.
    for (const who of ['x1@example.com', 'x2@example.com', 'x3@example.com']) assert.equal((await login(app, who, 'guess')).status, 403);
    assert.equal((await login(app, 'x4@example.com', 'guess')).status, 403, 'the attempt that fills the bucket is still answered');
    const refused = await login(app, 'fay@example.com', 'Fay-pw-123!');
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error, 'too_many_attempts');
    assert.match(refused.body.error_description, /suspicious login behavior/);
    const events = (await s.api('GET', `/logs?q=${encodeURIComponent('type:limit_mu')}`)).body as any[];
    assert.equal(events.length, 2, 'the block, and the refused login');
    const ip = events[0].ip;
    assert.equal((await s.api('GET', `/anomaly/blocks/ips/${encodeURIComponent(ip)}`)).status, 200);
    assert.equal((await s.api('GET', '/anomaly/blocks/ips/198.51.100.9')).status, 404);
    assert.equal((await s.api('DELETE', `/anomaly/blocks/ips/${encodeURIComponent(ip)}`)).status, 204);
    assert.equal((await s.api('GET', `/anomaly/blocks/ips/${encodeURIComponent(ip)}`)).status, 404);
    assert.equal((await login(app, 'fay@example.com', 'Fay-pw-123!')).status, 200);
  } finally {
    await mc.attackProtection.suspiciousIpThrottling.update({ stage: { 'pre-login': { max_attempts: 100, rate: 864000 } } });
  }
});
