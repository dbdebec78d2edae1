// `npm run bench`: every benchmark in one run, figures printed and a summary
// table at the end. Throughput is reported as a ratio against the machine's raw
// rate for the unavoidable work (RS256 signing, bcrypt), measured in this run.
// Targets print PASS / BELOW TARGET; nothing here fails the process on speed.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { register } from 'tsx/esm/api';
import { bench, wants } from './lib/config.ts';
import { fmt, heading, note, record, skipped, summary } from './lib/report.ts';
import { CA_DIR, RUN_DIR, pgReachable, pgSchema, startServer, type BenchServer } from './lib/server.ts';

// The run's CA must exist before this process starts for fetch to trust it, so
// make it and re-run ourselves with NODE_EXTRA_CA_CERTS pointing at it.
const caPem = join(CA_DIR, 'tls', 'ca.pem');
if (process.env.NODE_EXTRA_CA_CERTS !== caPem) {
  register();
  const { ensureTls } = await import('../src/tenant/tls.ts');
  mkdirSync(CA_DIR, { recursive: true });
  ensureTls(CA_DIR, 'localhost');
  const r = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, NODE_EXTRA_CA_CERTS: caPem } });
  process.exit(r.status ?? 1);
}

const { tokensBench } = await import('./tokens.ts');
const { usersGetBench } = await import('./users-get.ts');
const { searchBench } = await import('./user-search.ts');
const { roleUsersBench } = await import('./role-users.ts');
const { loginBench } = await import('./login.ts');
const { refreshBench } = await import('./refresh.ts');
const { rbacTokensBench } = await import('./rbac-tokens.ts');
const { engineFloorBench } = await import('./engine-floor.ts');
const { analyze, openBenchDb, seedUsers } = await import('./seed-users.ts');

const t0 = performance.now();
const cores = availableParallelism();
process.stdout.write(`Postern benchmarks${bench.quick ? ' (quick)' : ''}: ${cores} cores, ${bench.connections} connections, ${bench.duration} s per phase, users ${bench.users.join(', ')}, backends ${bench.backends.join(', ')}\n`);
rmSync(RUN_DIR, { recursive: true, force: true });
mkdirSync(RUN_DIR, { recursive: true });
// Other jobs on this machine slow every figure; the load average says how much to trust them.
const load = () => loadavg()[0].toFixed(1);
const loadAtStart = load();
if (Number(loadAtStart) > cores) note(`the machine is busy (1-minute load ${loadAtStart} on ${cores} cores): rates will read low; CPU-per-request figures are steadier`);

/** An error's first line, with its cause (fetch hides the socket error there). */
function describe(e: unknown): string {
  const err = e as Error & { cause?: Error & { code?: string } };
  const cause = err.cause ? ` (${err.cause.code ?? ''} ${err.cause.message ?? ''})` : '';
  return `${String(err.message).split('\n')[0].slice(0, 300)}${cause}`;
}

/** Runs one module; a crash is reported as an error row, never hidden and never fatal to the run. */
async function guarded(section: string, name: string, fn: () => Promise<unknown>) {
  try { await fn(); } catch (e) {
    record({ section, metric: name, value: `ERROR: ${describe(e)}` });
  }
}

// Throughput phases: one fresh SQLite server with all cores.
if (['tokens', 'users', 'login', 'refresh', 'rbac', 'rss'].some(wants)) {
  let s: BenchServer | undefined;
  await guarded('server', 'start (SQLite)', async () => {
    s = await startServer('throughput');
    await new Promise((r) => setTimeout(r, 2000)); // let start-up garbage settle before reading RSS
    const rss = s.rss();
    heading('idle server');
    record({ section: 'rss', metric: `idle RSS, SQLite (${rss.perProcessKb.length} processes)`, value: `${fmt.mb(rss.totalKb)}  [${rss.perProcessKb.map(fmt.mb).join(' + ')}]` });
  });
  if (s) {
    if (wants('tokens')) await guarded('tokens', 'client_credentials', () => tokensBench(s!));
    if (wants('users')) await guarded('users', 'GET /users/{id}', () => usersGetBench(s!));
    if (wants('login')) await guarded('login', 'password login', () => loginBench(s!));
    if (wants('refresh')) await guarded('refresh', 'refresh grants', () => refreshBench(s!));
    if (wants('rbac')) await guarded('rbac', 'token issuance with permissions', () => rbacTokensBench(s!));
    await s.stop();
  }
}

// The engine without Postern, for the ceiling the throughput targets meet.
if (wants('engine')) await guarded('engine', 'the engine alone', engineFloorBench);

// User search, RSS with many users, and role-member paging, per backend.
if (wants('search') || wants('role-users')) {
  for (const backend of bench.backends) {
    let databaseUrl: string | undefined;
    let drop: (() => Promise<void>) | undefined;
    if (backend === 'postgres') {
      if (!(await pgReachable(bench.pgUrl))) { skipped('search', 'PostgreSQL', `${bench.pgUrl} is unreachable`); continue; }
      const schema = await pgSchema(bench.pgUrl);
      databaseUrl = schema.url; drop = schema.drop;
      note(`PostgreSQL schema ${schema.schema}`);
    }
    let s: BenchServer | undefined;
    try {
      s = await startServer(`search-${backend}`, { databaseUrl });
      const db = await openBenchDb({ dataDir: s.dataDir, databaseUrl });
      let seeded = 0;
      let roleDone = false;
      try {
        for (const scale of bench.users) {
          heading(`user search, ${backend}, ${scale.toLocaleString('en-US')} users (issue 2)`);
          const secs = await seedUsers(db, seeded, scale);
          await analyze(db);
          note(`seeded ${(scale - seeded).toLocaleString('en-US')} users in ${secs.toFixed(1)} s${backend === 'postgres' ? ' (then ANALYZE users)' : ''}`);
          if (!s.alive()) {
            // Seen on this shared machine: something outside the bench ended the server while it sat idle.
            record({ section: 'server', metric: `${backend} server while seeding ${scale}`, value: `ended from outside (${s.child.signalCode ?? `code ${s.child.exitCode}`}); restarted on the same data` });
            await s.restart();
          }
          seeded = scale;
          if (wants('search')) await guarded('search', `${backend} ${scale}`, () => searchBench(s!, db, backend, scale));
          if (wants('role-users') && !roleDone && scale >= bench.roleMembers) {
            roleDone = true;
            await guarded('role-users', backend, () => roleUsersBench(s!, db, bench.roleMembers, backend));
          }
          const rss = s.rss();
          if (s.alive()) record({ section: 'rss', metric: `RSS with ${scale.toLocaleString('en-US')} users, ${backend} (after searches)`, value: `${fmt.mb(rss.totalKb)}  [${rss.perProcessKb.map(fmt.mb).join(' + ')}]` });
        }
      } finally { await db.close(); }
    } catch (e) {
      record({ section: 'search', metric: backend, value: `ERROR: ${describe(e)}` });
    } finally {
      await s?.stop();
      await drop?.();
    }
  }
}

record({ section: 'machine', metric: '1-minute load average, start → end', value: `${loadAtStart} → ${load()} on ${cores} cores` });
summary();
process.stdout.write(`\nbench finished in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
if (!bench.keep) rmSync(RUN_DIR, { recursive: true, force: true });
