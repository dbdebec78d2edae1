import { availableParallelism } from 'node:os';
import { bench } from './lib/config.ts';
import { cannon } from './lib/load.ts';
import { rawSigningRate } from './lib/raw.ts';
import { fmt, heading, note, record, verdict } from './lib/report.ts';
import type { BenchServer } from './lib/server.ts';

// Issue 2: client-credentials tokens per second over HTTPS on loopback, against
// the machine's raw RS256 signing rate measured in the same run.
const KEYCLOAK_PER_VCPU = 120;
const TARGET = 0.6;

export async function tokensBench(s: BenchServer) {
  heading('client_credentials tokens (issue 2)');
  const { info } = s;
  const body = new URLSearchParams({
    grant_type: 'client_credentials', client_id: info.client_id, client_secret: info.client_secret, audience: info.audience,
  }).toString(); // client_secret_post, form-encoded
  const probe = await fetch(`${s.baseUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
  const pj = await probe.json() as any;
  if (probe.status !== 200 || !pj.access_token) throw new Error(`client_credentials probe failed: ${probe.status} ${JSON.stringify(pj)}`);
  note(`access token is ${pj.access_token.length} bytes (${String(pj.scope ?? '').split(' ').length} scopes)`);

  // The machine is shared: measure the ceiling right next to the load it is compared with.
  const rawSign = await rawSigningRate(bench.rawSeconds);
  const r = await cannon({ url: `${s.baseUrl}/oauth/token`, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body, ca: s.ca });
  if (r.non2xx || r.errors) note(`${r.non2xx} non-2xx responses, ${r.errors} errors out of ${r.total}`);
  const ratio = r.rps / rawSign;
  const cores = availableParallelism();
  record({ section: 'tokens', metric: 'client_credentials tokens/s (32 conns, HTTPS)', value: `${fmt.rate(r.rps)}  p50 ${fmt.ms(r.p50)}, p99 ${fmt.ms(r.p99)}` });
  record({ section: 'tokens', metric: 'raw RS256 signing/s (all cores)', value: fmt.rate(rawSign) });
  record({ section: 'tokens', metric: 'tokens/s ÷ raw signing/s', value: fmt.ratio(ratio), target: `≥ ${TARGET}`, verdict: verdict(ratio, TARGET) });
  record({ section: 'tokens', metric: `Keycloak reference (${KEYCLOAK_PER_VCPU}/s/vCPU × ${cores})`, value: `${fmt.rate(KEYCLOAK_PER_VCPU * cores)} (ours ${(r.rps / (KEYCLOAK_PER_VCPU * cores)).toFixed(1)}×)` });
}
