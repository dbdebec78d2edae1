import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startServer, type TestServer } from './helpers/server.ts';

// The README's promise for production: several stateless nodes share one
// PostgreSQL database (same --master-key and --domain). Two servers here play
// those nodes. What one writes, the other serves: tokens, new applications,
// key rotations, and concurrent changes to one user, without losing any.

const base = process.env.POSTERN_TEST_DATABASE_URL;
const nodes: TestServer[] = [];
let drop: (() => Promise<void>) | undefined;
after(async () => {
  for (const n of nodes) await n.close();
  await drop?.();
});

async function sharedSchema(url: string) {
  const schema = `nodes_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  drop = async () => {
    const d = new pg.Client({ connectionString: url });
    await d.connect();
    await d.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await d.end();
  };
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

/** Polls `check` until it holds, for at most `ms` (the nodes' caches live 5 s for clients, 10 s for keys). */
async function eventually(what: string, check: () => Promise<boolean>, ms = 15_000) {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) assert.fail(`${what} did not happen within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const kidOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString()).kid as string;

test('two nodes on one PostgreSQL database serve one tenant', { skip: base ? false : 'runs on PostgreSQL only' }, async () => {
  const url = await sharedSchema(base!);
  const masterKey = randomBytes(32).toString('hex');
  const a = await startServer(['--database-url', url, '--master-key', masterKey]);
  nodes.push(a);
  const b = await startServer(['--database-url', url, '--master-key', masterKey, '--domain', a.domain]);
  nodes.push(b);
  assert.equal(b.issuer, a.issuer);
  assert.equal(b.clientId, a.clientId, 'the second node found the bootstrap client instead of making one');
  const clients = (await a.api('GET', '/clients')).body;
  assert.equal(clients.filter((c: any) => c.name === 'Postern Bootstrap (M2M)').length, 1);
  assert.equal(clients.filter((c: any) => c.global).length, 1, 'one global client');

  // A token from one node is accepted by the other.
  const tokenA = await a.token();
  assert.equal((await b.api('GET', '/clients', { token: tokenA })).status, 200);

  // An application created through one node gets tokens from the other.
  const api = (await a.api('POST', '/resource-servers', { token: tokenA, body: { name: 'Shared', identifier: 'https://shared.example/', scopes: [{ value: 'read:shared' }] } })).body;
  const app = (await a.api('POST', '/clients', { token: tokenA, body: { name: 'shared-m2m', app_type: 'non_interactive' } })).body;
  await a.api('POST', '/client-grants', { token: tokenA, body: { client_id: app.client_id, audience: api.identifier, scope: ['read:shared'] } });
  await eventually('node B issuing tokens to the application made on node A', async () => {
    const r = await fetch(`${b.baseUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: 'client_credentials', client_id: app.client_id, client_secret: app.client_secret, audience: api.identifier }) });
    return r.status === 200;
  });

  // Concurrent changes to one user through both nodes all land.
  const user = (await a.api('POST', '/users', { token: tokenA, body: { connection: 'Username-Password-Authentication', email: 'shared@example.com', password: 'Shared-pw-123!' } })).body;
  const id = encodeURIComponent(user.user_id);
  const tokenB = await b.token();
  await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).api('PATCH', `/users/${id}`, { token: i % 2 ? tokenA : tokenB, body: { app_metadata: { [`n${i}`]: i } } })));
  assert.equal(Object.keys((await b.api('GET', `/users/${id}`, { token: tokenB })).body.app_metadata).length, 12);

  // Rotations racing on both nodes leave one current and one next key, and both nodes sign with the current one.
  const rotated = await Promise.all([a.api('POST', '/keys/signing/rotate', { token: tokenA }), b.api('POST', '/keys/signing/rotate', { token: tokenB })]);
  assert.deepEqual(rotated.map((r) => r.status), [201, 201]);
  const keys = (await a.api('GET', '/keys/signing', { token: tokenA })).body as any[];
  const current = keys.filter((k) => k.current);
  assert.equal(current.length, 1);
  assert.equal(keys.filter((k) => k.next).length, 1);
  await eventually('both nodes signing with the current key', async () => kidOf(await a.token()) === current[0].kid && kidOf(await b.token()) === current[0].kid);
  assert.equal((await a.api('GET', '/clients', { token: await b.token() })).status, 200, 'a token from node B after the rotation works on node A');
});
