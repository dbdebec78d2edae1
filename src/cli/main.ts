import cluster from 'node:cluster';
import { createServer as createHttps } from 'node:https';
import { createServer as createHttp, type Server } from 'node:http';
import { ConfigError, parseConfig, type Config } from './config.ts';
import { createRuntime } from '../server.ts';
import { ensureTls } from '../tenant/tls.ts';

const USAGE = `usage: postern start [--port N] [--domain HOST[:PORT]] [--data-dir DIR] [--database-url URL]
                     [--http] [--workers N|auto] [--master-key HEX] [--host ADDR] [--rate-limit N] [--log-level LEVEL]`;

/** Starts one listening process; returns the server once it listens. */
export async function serve(config: Config, opts: { primary: boolean; quiet?: boolean }) {
  const tls = config.http ? undefined : ensureTls(config.dataDir, config.domain);
  const runtime = await createRuntime(config, { primary: opts.primary, caPath: tls?.caPath ?? null });
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
    const tls = config.http ? undefined : ensureTls(config.dataDir, config.domain);
    const runtime = await createRuntime(config, { primary: true, caPath: tls?.caPath ?? null });
    await runtime.close();
    let ready = 0;
    for (let i = 0; i < config.workerCount; i++) cluster.fork();
    cluster.on('listening', () => { if (++ready === config.workerCount) banner(config, runtime.bootstrap!, tls?.caPath); });
    cluster.on('exit', (w, code) => { if (code !== 0) process.stderr.write(`postern: worker ${w.process.pid} exited with ${code}\n`); });
    const stop = () => { for (const w of Object.values(cluster.workers ?? {})) w?.kill(); process.exit(0); };
    process.on('SIGINT', stop); process.on('SIGTERM', stop);
    return;
  }
  try {
    const { runtime, tls, server } = await serve(config, { primary: cluster.isPrimary });
    if (cluster.isPrimary) banner(config, runtime.bootstrap!, tls?.caPath);
    const stop = () => { server.close(); runtime.close().finally(() => process.exit(0)); };
    process.on('SIGINT', stop); process.on('SIGTERM', stop);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE') process.stderr.write(`postern: invalid --port (POSTERN_PORT): ${config.port} is already in use\n`);
    else if (err.code === 'ECONNREFUSED' || /password authentication|database .* does not exist/.test(err.message)) process.stderr.write(`postern: invalid --database-url (POSTERN_DATABASE_URL): ${err.message}\n`);
    else process.stderr.write(`postern: ${err.message}\n`);
    process.exit(1);
  }
}
