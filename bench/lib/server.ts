import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { fetchRetry } from './http.ts';

// The real server as a child process, exactly as an operator starts it, on a
// free loopback port with a data dir of its own under bench/.data/<run>.

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const DATA_ROOT = join(ROOT, 'bench', '.data');
export const RUN_DIR = join(DATA_ROOT, `run-${process.pid}`);
/** The bench CA, made before the run so NODE_EXTRA_CA_CERTS can name it (see run.ts). */
export const CA_DIR = join(DATA_ROOT, 'ca');

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address() as any; s.close(() => res(port)); });
  });
}

export interface Bootstrap { domain: string; issuer: string; client_id: string; client_secret: string; audience: string; ca_cert: string | null }

export interface BenchServer {
  name: string; port: number; baseUrl: string; dataDir: string; databaseUrl?: string;
  info: Bootstrap; ca: string; child: ChildProcess;
  /** Management API token from the bootstrap client. */
  token(): Promise<string>;
  api(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: any }>;
  /** VmRSS in kB of the primary and every cluster worker. */
  rss(): { totalKb: number; perProcessKb: number[] };
  /** CPU seconds (user + system) the primary and its workers have used so far. */
  cpuSeconds(): number;
  alive(): boolean;
  /** Starts it again on the same data (new port) after something else ended it. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch { return []; }
}
const CLK_TCK = 100; // Linux USER_HZ
function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from 3 on; utime, stime are 14 and 15
    return Number(f[11]) + Number(f[12]);
  } catch { return 0; }
}
function vmRssKb(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch { return 0; }
}

export async function startServer(name: string, opts: { databaseUrl?: string; workers?: string } = {}): Promise<BenchServer> {
  const dataDir = join(RUN_DIR, name);
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  if (existsSync(join(CA_DIR, 'tls'))) cpSync(join(CA_DIR, 'tls'), join(dataDir, 'tls'), { recursive: true });
  let stopping = false;

  /** Spawns the server on a free port and waits for its banner. */
  async function launch() {
    const port = await freePort();
    // BENCH_PROFILE=1: V8 CPU profiles of the primary and each worker (open them in Chrome DevTools).
    const profile = process.env.BENCH_PROFILE === '1' ? ['--cpu-prof', `--cpu-prof-dir=${join(DATA_ROOT, 'profiles', name)}`] : [];
    const args = [...profile, join(ROOT, 'bin', 'postern.mjs'), 'start', '--workers', opts.workers ?? 'auto', '--port', String(port),
      '--data-dir', dataDir, '--rate-limit', '100000000', '--log-level', 'warn'];
    if (opts.databaseUrl) args.push('--database-url', opts.databaseUrl);
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d) => { out += d; });
    child.stderr!.on('data', (d) => {
      const text = String(d);
      out += text;
      // Warnings are the only log level on; surface real ones, not the runtime notice.
      // (Once we stop it, cluster workers racing the primary's exit can print EPIPE traces: not a bench result.)
      if (!stopping) for (const line of text.split('\n')) if (line.trim() && !/Unsupported runtime|already parsed request body/.test(line)) process.stderr.write(`  [server ${name}] ${line}\n`);
    });
    child.once('exit', (code, signal) => {
      if (!stopping) process.stderr.write(`  [server ${name}] the server process exited unexpectedly (${signal ? `signal ${signal}` : `code ${code}`})\n`);
    });
    await new Promise<void>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`server ${name} did not start in 60 s:\n${out}`)), 60_000);
      const check = () => { if (/Postern is running/.test(out)) { clearTimeout(timer); res(); } };
      child.stdout!.on('data', check);
      child.once('exit', (code) => { clearTimeout(timer); rej(new Error(`server ${name} exited with ${code}:\n${out}`)); });
    });
    return { child, port, baseUrl: `https://localhost:${port}` };
  }

  const first = await launch();
  const info: Bootstrap = JSON.parse(readFileSync(join(dataDir, 'bootstrap.json'), 'utf8'));
  const ca = readFileSync(info.ca_cert ?? join(dataDir, 'tls', 'ca.pem'), 'utf8');
  const s: BenchServer = {
    name, ...first, dataDir, databaseUrl: opts.databaseUrl, info, ca,
    alive() { return s.child.exitCode === null && s.child.signalCode === null; },
    async restart() { Object.assign(s, await launch()); },
    async token() {
      const r = await fetchRetry(`${s.baseUrl}/oauth/token`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: 'client_credentials', client_id: info.client_id, client_secret: info.client_secret, audience: info.audience }),
      });
      const j = await r.json() as any;
      if (!j.access_token) throw new Error(`token request failed: ${r.status} ${JSON.stringify(j)}`);
      return j.access_token;
    },
    async api(method, path, body, token) {
      const r = await fetchRetry(`${s.baseUrl}/api/v2${path}`, {
        method,
        headers: { authorization: `Bearer ${token ?? await s.token()}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await r.text();
      let parsed: any = text;
      try { parsed = text ? JSON.parse(text) : undefined; } catch { /* keep text */ }
      return { status: r.status, body: parsed };
    },
    rss() {
      const pids = [s.child.pid!, ...childrenOf(s.child.pid!)];
      const perProcessKb = pids.map(vmRssKb);
      return { totalKb: perProcessKb.reduce((a, b) => a + b, 0), perProcessKb };
    },
    cpuSeconds() {
      return [s.child.pid!, ...childrenOf(s.child.pid!)].reduce((a, p) => a + cpuTicks(p), 0) / CLK_TCK;
    },
    async stop() {
      const child = s.child;
      if (child.exitCode !== null || child.signalCode !== null) return;
      stopping = true;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => { for (const p of childrenOf(child.pid!)) try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } child.kill('SIGKILL'); }, 10_000);
      await exited;
      clearTimeout(t);
    },
  };
  return s;
}

/** A schema of its own in the bench PostgreSQL database, dropped by `drop()`. */
export async function pgSchema(base: string): Promise<{ url: string; schema: string; drop(): Promise<void> }> {
  const schema = `bench_${process.pid}`;
  const c = new pg.Client({ connectionString: base, connectionTimeoutMillis: 3000 });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await c.query(`CREATE SCHEMA ${schema}`);
  await c.end();
  const u = new URL(base);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: u.toString(), schema,
    async drop() {
      const d = new pg.Client({ connectionString: base });
      await d.connect();
      await d.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await d.end();
    },
  };
}

export async function pgReachable(url: string) {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try { await c.connect(); await c.end(); return true; } catch { return false; }
}
