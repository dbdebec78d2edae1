#!/usr/bin/env node
// `npm test`: the whole suite on SQLite, then the storage and API suites on
// PostgreSQL (POSTERN_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/test).
// PostgreSQL is skipped with a notice when it is unreachable, unless
// POSTERN_TEST_REQUIRE_PG=1 (as in CI). Ends with one "N passed, N failed" line.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { register } from 'tsx/esm/api';

const root = resolve(import.meta.dirname, '..');
// One folder per run, so runs started side by side never share data or CAs.
const testRoot = join(root, '.test-data', `run-${process.pid}`);
rmSync(testRoot, { recursive: true, force: true });
mkdirSync(testRoot, { recursive: true });

register();
const { ensureTls } = await import('../src/tenant/tls.ts');
const ca = ensureTls(join(testRoot, 'ca'), 'localhost');
const caDir = join(testRoot, 'ca', 'tls');

const only = process.argv.slice(2);
const all = readdirSync(join(root, 'test')).filter((f) => f.endsWith('.test.ts')).sort();
const pick = (files) => (only.length ? files.filter((f) => only.some((o) => f.includes(o))) : files);
// Suites that exercise storage or the HTTP API run on both backends; browser suites run once.
const backendNeutral = new Set(all.filter((f) => /^(browser|cli|bench)/.test(f)));

function run(label, files, extraEnv) {
  if (!files.length) return { pass: 0, fail: 0 };
  const tap = join(testRoot, `${label}.tap`);
  process.stdout.write(`\n=== ${label}: ${files.length} files ===\n`);
  const r = spawnSync(process.execPath, [
    '--import', 'tsx', '--test', '--test-concurrency=2',
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=tap', `--test-reporter-destination=${tap}`,
    ...files.map((f) => join('test', f)),
  ], { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_EXTRA_CA_CERTS: ca.caPath, POSTERN_TEST_CA_DIR: caDir, POSTERN_TEST_ROOT: testRoot, ...extraEnv } });
  const out = readFileSync(tap, 'utf8');
  const num = (k) => Number((out.match(new RegExp(`^# ${k} (\\d+)`, 'm')) ?? [])[1] ?? 0);
  const res = { pass: num('pass'), fail: num('fail') + num('cancelled') };
  if (r.status !== 0 && res.fail === 0) res.fail = 1; // the runner itself failed
  return res;
}

async function pgReachable(url) {
  const pg = (await import('pg')).default;
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try { await c.connect(); await c.end(); return true; } catch { return false; }
}

const totals = { pass: 0, fail: 0 };
const add = (r) => { totals.pass += r.pass; totals.fail += r.fail; };
add(run('sqlite', pick(all), {}));

const pgUrl = process.env.POSTERN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
if (await pgReachable(pgUrl)) {
  add(run('postgres', pick(all.filter((f) => !backendNeutral.has(f))), { POSTERN_TEST_DATABASE_URL: pgUrl, POSTERN_TEST_PG_URL: pgUrl }));
} else if (process.env.POSTERN_TEST_REQUIRE_PG === '1') {
  process.stdout.write(`PostgreSQL at ${pgUrl} is unreachable and POSTERN_TEST_REQUIRE_PG=1\n`);
  totals.fail += 1;
} else {
  process.stdout.write(`\n(PostgreSQL at ${pgUrl} is unreachable: the PostgreSQL pass was skipped)\n`);
}
if (!totals.fail) rmSync(testRoot, { recursive: true, force: true });
process.stdout.write(`\n${totals.pass} passed, ${totals.fail} failed\n`);
process.exit(totals.fail ? 1 : 0);
