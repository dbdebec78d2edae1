import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { parseConfig } from '../../src/cli/config.ts';
import { serve } from '../../src/cli/main.ts';

// Starts the real server, in this process, on a free loopback port with HTTPS
// and the run's shared local CA (scripts/run-tests.mjs sets NODE_EXTRA_CA_CERTS
// to it, so fetch and the Auth0 SDKs trust it). The backend is SQLite unless
// POSTERN_TEST_DATABASE_URL names a PostgreSQL database; each server then gets
// a schema of its own.

export const TEST_ROOT = resolve(process.env.POSTERN_TEST_ROOT ?? '.test-data');

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address() as any; s.close(() => res(port)); });
  });
}

async function pgSchemaUrl(base: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const schema = `t_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const c = new pg.Client({ connectionString: base });
  await c.connect();
  await c.query(`CREATE SCHEMA ${schema}`);
  await c.end();
  const u = new URL(base);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: u.toString(),
    drop: async () => {
      const d = new pg.Client({ connectionString: base });
      await d.connect();
      await d.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await d.end();
    },
  };
}

export interface TestServer {
  baseUrl: string; domain: string; issuer: string; audience: string; dataDir: string; port: number;
  clientId: string; clientSecret: string;
  runtime: Awaited<ReturnType<typeof serve>>['runtime'];
  /** A Management API token for the bootstrap client, optionally narrowed to some scopes. */
  token(scope?: string): Promise<string>;
  /** fetch against /api/v2 with a bearer token; returns status, headers and parsed JSON. */
  api(method: string, path: string, opts?: { token?: string; body?: unknown; headers?: Record<string, string> }): Promise<{ status: number; body: any; headers: Headers }>;
  close(): Promise<void>;
}

export async function startServer(extraArgs: string[] = []): Promise<TestServer> {
  const port = await freePort();
  mkdirSync(TEST_ROOT, { recursive: true });
  const dataDir = mkdtempSync(join(TEST_ROOT, 'srv-'));
  const caDir = process.env.POSTERN_TEST_CA_DIR;
  if (caDir) cpSync(caDir, join(dataDir, 'tls'), { recursive: true });
  let drop: (() => Promise<void>) | undefined;
  const args = ['--port', String(port), '--data-dir', dataDir, '--log-level', process.env.POSTERN_TEST_LOG_LEVEL ?? 'silent', ...extraArgs];
  if (process.env.POSTERN_TEST_DATABASE_URL && !extraArgs.includes('--database-url')) {
    const s = await pgSchemaUrl(process.env.POSTERN_TEST_DATABASE_URL);
    drop = s.drop;
    args.push('--database-url', s.url);
  }
  const config = parseConfig(args, {});
  const { server, runtime } = await serve(config, { primary: true });
  const info = runtime.bootstrap!;
  const baseUrl = `https://localhost:${port}`;
  const t: TestServer = {
    baseUrl, domain: config.domain, issuer: config.issuer, audience: info.audience, dataDir, port,
    clientId: info.client_id, clientSecret: info.client_secret, runtime,
    async token(scope?: string) {
      const r = await fetch(`${baseUrl}/oauth/token`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: 'client_credentials', client_id: info.client_id, client_secret: info.client_secret, audience: info.audience, ...(scope ? { scope } : {}) }),
      });
      const j = await r.json() as any;
      if (!j.access_token) throw new Error(`token request failed: ${r.status} ${JSON.stringify(j)}`);
      return j.access_token;
    },
    async api(method, path, opts = {}) {
      const token = opts.token ?? await t.token();
      const r = await fetch(`${baseUrl}/api/v2${path}`, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers },
        body: opts.body === undefined ? undefined : (typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body)),
      });
      const text = await r.text();
      let body: any = text;
      try { body = text ? JSON.parse(text) : undefined; } catch { /* keep text */ }
      return { status: r.status, body, headers: r.headers };
    },
    async close() {
      await new Promise((r) => server.close(r));
      server.closeAllConnections?.();
      await runtime.close();
      await drop?.();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return t;
}
