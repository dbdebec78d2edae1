import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { join, resolve } from 'node:path';
import { freePort, TEST_ROOT } from './helpers/server.ts';

// `postern start` as a user runs it: a child process of bin/postern.mjs.

const BIN = resolve(import.meta.dirname, '../bin/postern.mjs');
const children = new Set<ChildProcess>();
after(() => { for (const c of children) if (c.exitCode === null) c.kill('SIGKILL'); });

/** The environment without any POSTERN_* settings of the test runner. */
function cleanEnv() {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('POSTERN_') && k !== 'NODE_EXTRA_CA_CERTS') env[k] = v;
  return env;
}
function dataDir() {
  mkdirSync(TEST_ROOT, { recursive: true });
  return mkdtempSync(join(TEST_ROOT, 'cli-'));
}

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const c = spawn(process.execPath, [BIN, ...args], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(c);
    let stdout = '', stderr = '';
    c.stdout!.on('data', (d) => { stdout += d; });
    c.stderr!.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => c.kill('SIGKILL'), 30_000);
    c.on('exit', (code) => { clearTimeout(timer); res({ code, stdout, stderr }); });
  });
}

/** Starts a server and resolves once the banner (ending with the CA export line) is out. */
function start(args: string[]): Promise<{ child: ChildProcess; stdout: string }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [BIN, 'start', '--log-level', 'silent', ...args], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '', stderr = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); rej(new Error(`no banner in 60s: ${stdout} ${stderr}`)); }, 60_000);
    child.stdout!.on('data', (d) => {
      stdout += d;
      if (/export NODE_EXTRA_CA_CERTS=\S+\n/.test(stdout)) { clearTimeout(timer); res({ child, stdout }); }
    });
    child.stderr!.on('data', (d) => { stderr += d; });
    child.on('exit', (code) => { clearTimeout(timer); rej(new Error(`exited ${code}: ${stderr}`)); });
  });
}
function stop(child: ChildProcess): Promise<void> {
  return new Promise((res) => {
    if (child.exitCode !== null) return res();
    child.once('exit', () => res());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
  });
}

/** HTTPS with only the CA the server printed: proves the printed CA validates the server. */
function call(port: number, ca: string, method: string, path: string, opts: { body?: unknown; token?: string; fresh?: boolean } = {}): Promise<{ status: number; body: any }> {
  return new Promise((res, rej) => {
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = request({
      host: 'localhost', port, method, path, ca: readFileSync(ca), ...(opts.fresh ? { agent: false } : {}), // a new connection: any worker
      headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
    }, (r) => {
      let text = '';
      r.on('data', (d) => { text += d; });
      r.on('end', () => { let j: any = text; try { j = JSON.parse(text); } catch { /* text */ } res({ status: r.statusCode!, body: j }); });
    });
    req.on('error', rej);
    req.end(body);
  });
}

test('invalid settings exit non-zero with one line naming the setting', async () => {
  const dir = dataDir();
  const cases: [string[], RegExp][] = [
    [['--port', 'abc'], /--port/],
    [['--port', '70000'], /--port/],
    [['--domain', 'https://example.com/path'], /--domain/],
    [['--database-url', 'mysql://localhost/db'], /--database-url/],
    [['--master-key', 'too-short'], /--master-key/],
    [['--workers', '0'], /--workers/],
    [['--workers', 'many'], /--workers/],
    [['--no-such-flag'], /no-such-flag/],
  ];
  for (const [args, re] of cases) {
    const r = await run(['start', '--data-dir', dir, ...args]);
    assert.notEqual(r.code, 0, args.join(' '));
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(lines[0], re, args.join(' '));
    assert.equal(r.stdout, '', 'nothing printed as if it had started');
  }
});

test('an unreachable database exits non-zero with one line naming --database-url', async () => {
  const port = await freePort();
  const r = await run(['start', '--data-dir', dataDir(), '--port', String(port), '--log-level', 'silent', '--database-url', `postgres://postgres@127.0.0.1:${await freePort()}/none`]);
  assert.notEqual(r.code, 0);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /--database-url/);
});

test('a port in use exits non-zero with one line naming --port', async () => {
  const dir = dataDir();
  const port = await freePort();
  const first = await start(['--port', String(port), '--data-dir', dir]);
  try {
    const r = await run(['start', '--port', String(port), '--data-dir', dataDir(), '--log-level', 'silent']);
    assert.notEqual(r.code, 0);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /--port/);
  } finally {
    await stop(first.child);
  }
});

test('first start prints URL and credentials, writes bootstrap.json 0600; restart is idempotent', async () => {
  const dir = dataDir();
  const port = await freePort();
  const { child, stdout } = await start(['--port', String(port), '--data-dir', dir]);
  let client_id: string, client_secret: string, ca: string, kids: string[];
  try {
    assert.match(stdout, new RegExp(`https://[^\\s]+:${port}`));
    client_id = /client_id:\s+(\S+)/.exec(stdout)![1];
    client_secret = /client_secret:\s+(\S+)/.exec(stdout)![1];
    ca = /export NODE_EXTRA_CA_CERTS=(\S+)/.exec(stdout)![1];
    assert.equal(ca, join(dir, 'tls', 'ca.pem'));

    const file = join(dir, 'bootstrap.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const info = JSON.parse(readFileSync(file, 'utf8'));
    assert.deepEqual(Object.keys(info).sort(), ['audience', 'ca_cert', 'client_id', 'client_secret', 'domain', 'issuer']);
    assert.deepEqual(info, {
      domain: `localhost:${port}`, issuer: `https://localhost:${port}/`, client_id, client_secret,
      audience: `https://localhost:${port}/api/v2/`, ca_cert: ca,
    });

    const tok = await call(port, ca, 'POST', '/oauth/token', { body: { grant_type: 'client_credentials', client_id, client_secret, audience: info.audience } });
    assert.equal(tok.status, 200, JSON.stringify(tok.body));
    const jwks = await call(port, ca, 'GET', '/.well-known/jwks.json');
    kids = jwks.body.keys.map((k: any) => k.kid).sort();
    assert.equal(kids.length, 2);
  } finally {
    await stop(child);
  }

  const again = await start(['--port', String(port), '--data-dir', dir]);
  try {
    assert.equal(/client_id:\s+(\S+)/.exec(again.stdout)![1], client_id);
    assert.equal(/client_secret:\s+(\S+)/.exec(again.stdout)![1], client_secret);
    const jwks = await call(port, ca, 'GET', '/.well-known/jwks.json');
    assert.deepEqual(jwks.body.keys.map((k: any) => k.kid).sort(), kids, 'same keys');
    const tok = await call(port, ca, 'POST', '/oauth/token', { body: { grant_type: 'client_credentials', client_id, client_secret, audience: `https://localhost:${port}/api/v2/` } });
    assert.equal(tok.status, 200);
    const token = tok.body.access_token;
    const apis = await call(port, ca, 'GET', '/api/v2/resource-servers', { token });
    assert.equal(apis.body.filter((r: any) => r.is_system).length, 1, 'one system API');
    const conns = await call(port, ca, 'GET', '/api/v2/connections', { token });
    assert.deepEqual(conns.body.map((c: any) => c.name), ['Username-Password-Authentication'], 'one connection');
    const clients = await call(port, ca, 'GET', '/api/v2/clients?fields=client_id,global', { token });
    assert.equal(clients.body.filter((c: any) => !c.global).length, 1, 'one bootstrap client');
    assert.equal(clients.body.filter((c: any) => c.global).length, 1, 'one global client');
    const grants = await call(port, ca, 'GET', `/api/v2/client-grants?client_id=${client_id}`, { token });
    assert.equal(grants.body.length, 1, 'one grant');
    assert.equal(statSync(join(dir, 'bootstrap.json')).mode & 0o777, 0o600);
  } finally {
    await stop(again.child);
  }
});

test('--workers 2 serves token requests', async () => {
  const dir = dataDir();
  const port = await freePort();
  const { child, stdout } = await start(['--port', String(port), '--data-dir', dir, '--workers', '2']);
  try {
    assert.match(stdout, /workers:\s+2/);
    const client_id = /client_id:\s+(\S+)/.exec(stdout)![1];
    const client_secret = /client_secret:\s+(\S+)/.exec(stdout)![1];
    const ca = /export NODE_EXTRA_CA_CERTS=(\S+)/.exec(stdout)![1];
    const audience = `https://localhost:${port}/api/v2/`;
    const results = await Promise.all(Array.from({ length: 12 }, () =>
      call(port, ca, 'POST', '/oauth/token', { body: { grant_type: 'client_credentials', client_id, client_secret, audience } })));
    for (const r of results) assert.equal(r.status, 200, JSON.stringify(r.body));
    const users = await call(port, ca, 'GET', '/api/v2/users', { token: results[0].body.access_token });
    assert.equal(users.status, 200);
  } finally {
    await stop(child);
  }
  assert.notEqual(child.exitCode ?? child.signalCode, null);
});

test('--workers 2: client grants created or deleted through one worker hold on every worker at once', async () => {
  const dir = dataDir();
  const port = await freePort();
  const { child, stdout } = await start(['--port', String(port), '--data-dir', dir, '--workers', '2']);
  try {
    const ca = /export NODE_EXTRA_CA_CERTS=(\S+)/.exec(stdout)![1];
    const mgmt = await call(port, ca, 'POST', '/oauth/token', { body: {
      grant_type: 'client_credentials', audience: `https://localhost:${port}/api/v2/`,
      client_id: /client_id:\s+(\S+)/.exec(stdout)![1], client_secret: /client_secret:\s+(\S+)/.exec(stdout)![1],
    } });
    const api = (method: string, path: string, body?: unknown) => call(port, ca, method, `/api/v2${path}`, { body, token: mgmt.body.access_token, fresh: true });
    const audience = 'https://workers.example.com/api';
    assert.equal((await api('POST', '/resource-servers', { identifier: audience, name: 'workers', scopes: [{ value: 'read:things' }] })).status, 201);
    const app = await api('POST', '/clients', { name: 'workers m2m', app_type: 'non_interactive', grant_types: ['client_credentials'] });
    assert.equal(app.status, 201, JSON.stringify(app.body));
    const token = () => call(port, ca, 'POST', '/oauth/token', { fresh: true, body: {
      grant_type: 'client_credentials', client_id: app.body.client_id, client_secret: app.body.client_secret, audience,
    } });
    const statuses = async (n: number) => { const out: number[] = []; for (let i = 0; i < n; i++) out.push((await token()).status); return out; };
    // Every worker now caches the client without a grant for this API.
    assert.deepEqual(await statuses(6), Array(6).fill(403));
    const grant = await api('POST', '/client-grants', { client_id: app.body.client_id, audience, scope: ['read:things'] });
    assert.equal(grant.status, 201, JSON.stringify(grant.body));
    assert.deepEqual(await statuses(30), Array(30).fill(200));
    assert.equal((await api('DELETE', `/client-grants/${grant.body.id}`)).status, 204);
    assert.deepEqual(await statuses(10), Array(10).fill(403));
  } finally {
    await stop(child);
  }
});

test('--workers 2: SIGTERM ends the workers first, then the primary, quietly', async () => {
  const dir = dataDir();
  const port = await freePort();
  const { child } = await start(['--port', String(port), '--data-dir', dir, '--workers', '2']);
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr += d; });
  const workers = execFileSync('ps', ['-o', 'pid=', '--ppid', String(child.pid)], { encoding: 'utf8' }).trim().split(/\s+/).map(Number);
  assert.equal(workers.length, 2);
  const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };
  await stop(child);
  assert.equal(child.exitCode, 0);
  assert.deepEqual(workers.filter(alive), [], 'no worker outlives the primary');
  assert.equal(stderr, '');
});
