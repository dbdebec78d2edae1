import { bench } from './lib/config.ts';
import { settled } from './lib/http.ts';
import { bracketed, rawCpuMs, rawSigningRate } from './lib/raw.ts';
import { createApi, createApp, createUser, PASSWORD } from './lib/fixtures.ts';
import { fmt, heading, note, record, skipped, verdict } from './lib/report.ts';
import type { BenchServer } from './lib/server.ts';
import { refreshLoad, refreshOnce, userTokens } from './lib/user-tokens.ts';

// Issue 3: refresh grants per second against the raw RS256 signing rate
// (each refresh signs an access token and an ID token).
const TARGET = 0.4;
const TOKENS = 8;

export async function refreshBench(s: BenchServer) {
  heading('refresh grants (issue 3)');
  const metric = 'refresh grants/s';
  const token = await s.token();
  const api = await createApi(s, token);
  const app = await createApp(s, token);
  const user = await createUser(s, token, 'refresh');
  let rts: string[] = [], via = '', rotating = false, idToken = false, scope = 'openid profile email read:things';
  try {
    const first = await settled(() => userTokens(app, user.email, PASSWORD, { audience: api.identifier, refresh: true }));
    via = first.via;
    if (!first.tokens.refresh_token) throw new Error(`no refresh_token with offline_access (got ${Object.keys(first.tokens).join(', ')})`);
    rts = [first.tokens.refresh_token];
    const more = await Promise.all(Array.from({ length: TOKENS - 1 }, () => userTokens(app, user.email, PASSWORD, { audience: api.identifier, refresh: true })));
    rts.push(...more.map((m) => m.tokens.refresh_token));
    const probe = await refreshOnce(app, rts[0]);
    idToken = Boolean(probe.id_token);
    scope = String(probe.scope ?? '') || scope;
    if (probe.refresh_token && probe.refresh_token !== rts[0]) { rotating = true; rts[0] = probe.refresh_token; }
  } catch (e) {
    return skipped('refresh', metric, (e as Error).message);
  }
  note(`refresh tokens from the ${via}; ${rotating ? 'rotating' : 'non-rotating'}; ${idToken ? 'access + ID token per refresh' : 'NO id_token in the refresh response'}`);
  // The ceiling signs a payload with the refreshed access token's scope claim.
  const signCpu = await rawCpuMs('rs256', bench.rawCpuSeconds, scope);
  const { result: r, raw: rawSign, before, after } = await bracketed(() => rawSigningRate(bench.rawSeconds, scope),
    () => refreshLoad(s, app, rts, rotating, bench.duration, s.cpuSeconds));
  if (r.non2xx || r.errors) note(`${r.non2xx} non-2xx responses, ${r.errors} errors out of ${r.total}`);
  const ratio = r.rps / rawSign;
  record({ section: 'refresh', metric: `${metric} (${bench.connections} conns, ${r.via})`, value: `${fmt.rate(r.rps)}  p50 ${fmt.ms(r.p50)}, p99 ${fmt.ms(r.p99)}` });
  note(`load generator CPU per refresh: ${fmt.ms(r.clientCpuMsPer)}`);
  if (r.cpuMsPer) record({ section: 'refresh', metric: `server CPU per refresh (raw RS256 sign CPU × ${idToken ? 2 : 1})`, value: `${fmt.ms(r.cpuMsPer)} (${fmt.ms(signCpu * (idToken ? 2 : 1))})` });
  record({ section: 'refresh', metric: 'raw RS256 signing/s (all cores, mean of before/after)', value: `${fmt.rate(rawSign)}  (${fmt.rate(before)} / ${fmt.rate(after)})` });
  record({ section: 'refresh', metric: 'refresh/s ÷ raw RS256 signing/s', value: fmt.ratio(ratio), target: `≥ ${TARGET}`, verdict: verdict(ratio, TARGET) });
}
