import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bench } from './lib/config.ts';
import { BARE_API, BARE_CLIENT, apiScopes } from './lib/bare-engine.ts';
import { cannon } from './lib/load.ts';
import { bracketed, rawCpuMs, rawSigningRate } from './lib/raw.ts';
import { fmt, heading, note, record } from './lib/report.ts';
import { CA_DIR, DATA_ROOT, freePort } from './lib/server.ts';
import { managementApiScopes } from '../src/tenant/bootstrap.ts';

// What the protocol engine costs on its own: oidc-provider with its in-memory
// adapter and nothing of Postern, one process, the same TLS and load as the
// throughput phases. Its CPU per grant and the share of it that is signing
// bound what any layer around the engine can reach: the issue targets ask for
// signing to be ≥ 60% (client credentials, ratio 0.6) and ≥ 80% (refresh,
// ratio 0.4 of a possible 0.5) of the work.

async function startBareEngine(name: string, scopes: string) {
  const port = await freePort();
  // BENCH_PROFILE=1 profiles the bare engine too, to set beside the server's profiles.
  const profile = process.env.BENCH_PROFILE === '1' ? ['--cpu-prof', `--cpu-prof-dir=${join(DATA_ROOT, 'profiles', `engine-${name}`)}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', join(import.meta.dirname, 'lib', 'bare-engine.ts'), String(port)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BARE_SCOPES: scopes } });
  let out = '';
  const tokens = await new Promise<string[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the bare engine did not start:\n${out}`)), 30_000);
    const read = (d: Buffer) => {
      out += d;
      const m = /^READY (.*)$/m.exec(out);
      if (m) { clearTimeout(timer); resolve(JSON.parse(m[1]).tokens); }
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', (d) => { out += d; });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the bare engine exited with ${code}:\n${out}`)); });
  });
  const cpuSeconds = () => {
    const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  };
  return { url: `https://localhost:${port}/token`, tokens, cpuSeconds, stop: () => { child.removeAllListeners('exit'); child.kill('SIGINT'); } };
}

const form = (p: Record<string, string>) => new URLSearchParams({ client_id: BARE_CLIENT.id, client_secret: BARE_CLIENT.secret, ...p }).toString();

async function measure(label: string, name: string, scopes: string, grant: 'client_credentials' | 'refresh_token') {
  const engine = await startBareEngine(name, scopes);
  try {
    // The engine grants no scope that is not asked for; ask for all, as Postern's default does.
    const body = grant === 'client_credentials'
      ? form({ grant_type: 'client_credentials', resource: BARE_API, scope: scopes })
      : form({ grant_type: 'refresh_token', refresh_token: engine.tokens[0] });
    const probe = await fetch(engine.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    const pj = await probe.json() as any;
    if (probe.status !== 200 || !pj.access_token) throw new Error(`the bare engine answered ${probe.status} ${JSON.stringify(pj).slice(0, 200)}`);
    const signs = pj.id_token ? 2 : 1;
    const signCpu = await rawCpuMs('rs256', bench.rawCpuSeconds, scopes);
    // The same ratio as the target's, for the engine alone: the ceiling of any layer around it.
    const { result: r, raw } = await bracketed(() => rawSigningRate(bench.rawSeconds, grant === 'client_credentials' ? scopes : String(pj.scope ?? '')),
      () => cannon({ url: engine.url, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body, ca: readFileSync(join(CA_DIR, 'tls', 'ca.pem'), 'utf8'), meter: engine.cpuSeconds }));
    if (r.non2xx || r.errors) note(`${r.non2xx} non-2xx responses, ${r.errors} errors out of ${r.total}`);
    record({
      section: 'engine', metric: `engine alone, ${label}: CPU per grant (raw sign CPU × ${signs})`,
      value: `${fmt.ms(r.cpuMsPer!)} (${fmt.ms(signs * signCpu)}): signing is ${Math.round((100 * signs * signCpu) / r.cpuMsPer!)}%, ${fmt.rate(r.rps)} in one process`,
    });
    record({ section: 'engine', metric: `engine alone, ${label}: grants/s ÷ raw RS256 signing/s (${fmt.rate(raw)})`, value: fmt.ratio(r.rps / raw) });
    // With every core busy, grants/s ÷ signatures/s comes to sign CPU ÷ grant CPU:
    // the most this engine allows, before any layer, load generator or idle core.
    record({ section: 'engine', metric: `engine alone, ${label}: ratio on all cores at best (raw sign CPU ÷ CPU per grant)`, value: fmt.ratio(signCpu / r.cpuMsPer!) });
  } finally {
    engine.stop();
  }
}

export async function engineFloorBench() {
  heading('the protocol engine alone (oidc-provider, in-memory adapter, one process)');
  // The Management API case carries Postern's real scope names, so the token and
  // response are as large as the ones Postern serves.
  const mgmt = managementApiScopes().map((s) => s.value).join(' ');
  await measure('client_credentials, 3 scopes', 'cc3', apiScopes(3), 'client_credentials');
  await measure(`client_credentials, ${mgmt.split(' ').length} scopes (the Management API's)`, 'mgmt', mgmt, 'client_credentials');
  await measure('refresh (access + ID token)', 'refresh', apiScopes(3), 'refresh_token');
}
