import { availableParallelism } from 'node:os';
import { settled } from './lib/http.ts';
import { bench } from './lib/config.ts';
import { createApi } from './lib/fixtures.ts';
import { cannon } from './lib/load.ts';
import { bracketed, rawCpuMs, rawSigningRate } from './lib/raw.ts';
import { fmt, heading, note, record, verdict } from './lib/report.ts';
import type { BenchServer } from './lib/server.ts';

// Issue 2: client-credentials tokens per second over HTTPS on loopback, against
// the machine's raw RS256 signing rate measured in the same run. Measured for
// the Management API (the bootstrap client holds every one of its ~260 scopes)
// and for a typical API with three scopes.
const KEYCLOAK_PER_VCPU = 120;
const TARGET = 0.6;

async function measure(s: BenchServer, label: string, audience: string) {
  const { info } = s;
  const body = new URLSearchParams({
    grant_type: 'client_credentials', client_id: info.client_id, client_secret: info.client_secret, audience,
  }).toString(); // client_secret_post, form-encoded
  const pj = await settled(async () => {
    const probe = await fetch(`${s.baseUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    const j = await probe.json() as any;
    if (probe.status !== 200 || !j.access_token) throw new Error(`client_credentials probe failed: ${probe.status} ${JSON.stringify(j)}`);
    return j;
  });
  const scope = String(pj.scope ?? '');
  const scopes = scope.split(' ').length;
  note(`${label}: access token is ${pj.access_token.length} bytes (${scopes} scopes)`);

  // The machine is shared: measure the ceiling right before and after the load
  // it is compared with, signing a payload with the scope claim of the token served.
  const signCpu = await rawCpuMs('rs256', bench.rawCpuSeconds, scope);
  const { result: r, raw: rawSign, before, after } = await bracketed(() => rawSigningRate(bench.rawSeconds, scope),
    () => cannon({ url: `${s.baseUrl}/oauth/token`, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body, ca: s.ca, meter: s.cpuSeconds }));
  if (r.non2xx || r.errors) note(`${r.non2xx} non-2xx responses, ${r.errors} errors out of ${r.total}`);
  const ratio = r.rps / rawSign;
  record({ section: 'tokens', metric: `client_credentials tokens/s, ${label} (32 conns, HTTPS)`, value: `${fmt.rate(r.rps)}  p50 ${fmt.ms(r.p50)}, p99 ${fmt.ms(r.p99)}` });
  record({ section: 'tokens', metric: `raw RS256 signing/s, ${scopes}-scope payload (all cores, mean of before/after)`, value: `${fmt.rate(rawSign)}  (${fmt.rate(before)} / ${fmt.rate(after)})` });
  record({ section: 'tokens', metric: `tokens/s ÷ raw signing/s, ${label}`, value: fmt.ratio(ratio), target: `≥ ${TARGET}`, verdict: verdict(ratio, TARGET) });
  if (r.cpuMsPer) record({ section: 'tokens', metric: `server CPU per token (raw sign CPU), ${label}`, value: `${fmt.ms(r.cpuMsPer)} (${fmt.ms(signCpu)}): signing is ${Math.round((100 * signCpu) / r.cpuMsPer)}% of the server's work` });
  note(`load generator CPU per token: ${fmt.ms(r.clientCpuMsPer)}`);
  return r.rps;
}

export async function tokensBench(s: BenchServer) {
  heading('client_credentials tokens (issue 2)');
  const rps = await measure(s, 'Management API', s.info.audience);
  const cores = availableParallelism();
  record({ section: 'tokens', metric: `Keycloak reference (${KEYCLOAK_PER_VCPU}/s/vCPU × ${cores})`, value: `${fmt.rate(KEYCLOAK_PER_VCPU * cores)} (ours ${(rps / (KEYCLOAK_PER_VCPU * cores)).toFixed(1)}×)` });

  const token = await s.token();
  const api = await createApi(s, token, { scopes: ['read:orders', 'write:orders', 'read:reports'] });
  const grant = await s.api('POST', '/client-grants', { client_id: s.info.client_id, audience: api.identifier, scope: ['read:orders', 'write:orders', 'read:reports'] }, token);
  if (grant.status !== 201) throw new Error(`POST /client-grants answered ${grant.status}`);
  await measure(s, '3-scope API', api.identifier);
}
