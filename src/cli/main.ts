import cluster from 'node:cluster';
import { createServer as createHttps } from 'node:https';
import { createServer as createHttp, type Server } from 'node:http';
import { ConfigError, parseConfig, type Config } from './config.ts';
import type { createRuntime } from '../server.ts';
import { ensureTls } from '../tenant/tls.ts';
import { relayCacheInvalidations, workerCacheBus, type CacheBus } from './cache-bus.ts';

const USAGE = `usage: postern start [--port N] [--domain HOST[:PORT]] [--data-dir DIR] [--database-url URL]
                     [--http] [--workers N|auto] [--master-key HEX] [--host ADDR] [--rate-limit N] [--log-level LEVEL]
                     [--allow-private-fetch] [--actions on|off] [--action-timeout MS]`;

/**
 * The server module, loaded after the configuration is known to be valid.
 * oidc-provider warns on import that it prefers Node 22; Postern supports
 * Node >= 20.19 (package.json engines) and start-up must print one clear line
 * on failure, so that one notice is dropped.
 */
async function loadServer() {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => { if (!/^oidc-provider WARNING: Unsupported runtime/.test(String(args[0]))) warn(...args); };
  try { return await import('../server.ts'); } finally { console.warn = warn; }
}

/** Starts one listening process; returns the server once it listens. */
export async function serve(config: Config, opts: { primary: boolean; quiet?: boolean; bus?: CacheBus }) {
  const tls = config.http ? undefined : ensureTls(config.dataDir, config.domain);
  const { createRuntime } = await loadServer();
  const runtime = await createRuntime(config, { primary: opts.primary, caPath: tls?.caPath ?? null, bus: opts.bus });
  const handler = runtime.app.callback();
  const server: Server = tls ? createHttps({ key: tls.key, cert: tls.cert }, handler) : createHttp(handler);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  return { server, runtime, tls };
}

function banner(config: Config, info: NonNullable<Awaited<ReturnType<typeof createRuntime>>['bootstrap']>, caPath?: string) {
  const lines = [
    '',
    `Postern is running: ${config.http ? 'http' : 'https'}://${config.host}:${config.port}  (issuer ${config.issuer})`,
    `  workers:        ${config.workerCount}`,
    `  data dir:       ${config.dataDir}`,
    `  database:       ${config.databaseUrl?.startsWith('postgres') ? 'PostgreSQL' : 'SQLite in the data dir'}`,
    `  Management API: ${config.issuer}api/v2/`,
    `  client_id:      ${info.client_id}`,
    `  client_secret:  ${info.client_secret}`,
    `  (also in ${config.dataDir}/bootstrap.json, mode 0600)`,
  ];
  if (caPath) lines.push(`  local CA:       ${caPath}`, '', `  export NODE_EXTRA_CA_CERTS=${caPath}`);
  lines.push('');
  process.stdout.write(lines.join('\n') + '\n');
}

export async function main(argv: string[]) {
  const [command, ...rest] = argv;
  if (command !== 'start') {
    process.stderr.write(`${USAGE}\n`);
    process.exit(command === undefined || command === 'help' || command === '--help' ? 0 : 2);
  }
  let config: Config;
  try {
    config = parseConfig(rest);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`postern: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }

  if (cluster.isPrimary && config.workerCount > 1) {
    // The primary prepares the database and files, then hands the port to workers.
    let runtime: Awaited<ReturnType<typeof createRuntime>>;
    let tls: ReturnType<typeof ensureTls> | undefined;
    try {
      tls = config.http ? undefined : ensureTls(config.dataDir, config.domain);
      runtime = await (await loadServer()).createRuntime(config, { primary: true, caPath: tls?.caPath ?? null });
      await runtime.close();
    } catch (e) {
      failStart(config, e);
    }
    let ready = 0;
    let stopping = false;
    relayCacheInvalidations();
    for (let i = 0; i < config.workerCount; i++) cluster.fork();
    cluster.on('listening', () => { if (++ready === config.workerCount) banner(config, runtime.bootstrap!, tls?.caPath); });
    cluster.on('exit', (w, code) => {
      if (code === 0 || stopping) return;
      process.stderr.write(`postern: worker ${w.process.pid} exited with ${code}\n`);
      // A worker that dies before every worker listens means the start failed: say so, don't linger.
      if (ready < config.workerCount) {
        for (const other of Object.values(cluster.workers ?? {})) other?.kill();
        process.exit(1);
      }
    });
    // Exit only once every worker has: a primary gone first leaves workers writing into a closed pipe.
    const stop = () => {
      if (stopping) return;
      stopping = true;
      const workers = Object.values(cluster.workers ?? {}).filter((w) => w && !w.isDead());
      let left = workers.length;
      if (!left) process.exit(0);
      for (const w of workers) {
        w!.once('exit', () => { if (--left === 0) process.exit(0); });
        w!.process.kill('SIGTERM');
      }
      setTimeout(() => { for (const w of workers) w!.process.kill('SIGKILL'); process.exit(1); }, 10_000).unref();
    };
    process.on('SIGINT', stop); process.on('SIGTERM', stop);
    return;
  }
  try {
    const { runtime, tls, server } = await serve(config, { primary: cluster.isPrimary, bus: cluster.isWorker ? workerCacheBus() : undefined });
    if (cluster.isPrimary) banner(config, runtime.bootstrap!, tls?.caPath);
    let stopping = false; // Ctrl-C reaches the workers too, then the primary's SIGTERM
    const stop = () => {
      if (stopping) return;
      stopping = true;
      server.close();
      runtime.close().finally(() => process.exit(0));
    };
    process.on('SIGINT', stop); process.on('SIGTERM', stop);
  } catch (e) {
    failStart(config, e);
  }
}

/** One line naming the setting at fault, then a non-zero exit. */
function failStart(config: Config, e: unknown): never {
  let err = e as NodeJS.ErrnoException;
  while (!err?.code && (err as any)?.cause) err = (err as any).cause; // wrapped driver errors keep their code in cause
  const first = String(err?.message ?? err).split('\n')[0];
  if (err?.code === 'EADDRINUSE') process.stderr.write(`postern: invalid --port (POSTERN_PORT): ${config.port} is already in use\n`);
  else if (err?.code === 'EACCES') process.stderr.write(`postern: invalid --port (POSTERN_PORT): ${first}\n`);
  else if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', '28P01', '3D000', '28000'].includes(String(err?.code)) || /password authentication|database .* does not exist/.test(first)) {
    process.stderr.write(`postern: invalid --database-url (POSTERN_DATABASE_URL): ${first}\n`);
  } else process.stderr.write(`postern: ${first}\n`);
  process.exit(1);
}
