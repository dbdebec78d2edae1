import { bench } from './lib/config.ts';
import { settled } from './lib/http.ts';
import { bracketed, rawBcryptRate, rawCpuMs } from './lib/raw.ts';
import { closedLoop } from './lib/load.ts';
import { createApp, createUser, PASSWORD } from './lib/fixtures.ts';
import { passwordLogin } from './lib/login-flow.ts';
import { fmt, heading, note, record, skipped, verdict } from './lib/report.ts';
import type { BenchServer } from './lib/server.ts';

// Issue 3: full password logins per second (authorize → /u/login POST → code →
// tokens), against the machine's raw bcrypt-10 verify rate in the same run.
const TARGET = 0.85;
const USERS = 8;

export async function loginBench(s: BenchServer) {
  heading('password login round trips (issue 3)');
  const metric = 'login round trips/s (authorize → login → code → tokens)';
  const token = await s.token();
  const app = await createApp(s, token);
  const users = await Promise.all(Array.from({ length: USERS }, (_, i) => createUser(s, token, `login${i}`)));
  try {
    const t = await settled(() => passwordLogin(app, { email: users[0].email, password: PASSWORD }));
    if (!t.id_token) note('the token response has no id_token');
  } catch (e) {
    return skipped('login', metric, `the login flow does not work yet (${(e as Error).message})`);
  }
  const bcryptCpu = await rawCpuMs('bcrypt', bench.rawCpuSeconds);
  const { result: r, raw: rawBcrypt, before, after } = await bracketed(() => rawBcryptRate(bench.rawSeconds),
    () => closedLoop(bench.connections, bench.duration, (vu) => passwordLogin(app, { email: users[vu % USERS].email, password: PASSWORD }).then(() => undefined), s.cpuSeconds));
  if (r.failed) note(`${r.failed} failed logins (first: ${(r.firstError as Error)?.message})`);
  const ratio = r.rps / rawBcrypt;
  record({ section: 'login', metric: `${metric}, ${bench.connections} concurrent`, value: `${fmt.rate(r.rps)}  p50 ${fmt.ms(r.p50)}, p95 ${fmt.ms(r.p95)}` });
  record({ section: 'login', metric: 'raw bcrypt-10 verify/s (all cores, mean of before/after)', value: `${fmt.rate(rawBcrypt)}  (${fmt.rate(before)} / ${fmt.rate(after)})` });
  if (r.cpuMsPer) record({ section: 'login', metric: 'server CPU per login (raw bcrypt verify CPU)', value: `${fmt.ms(r.cpuMsPer)} (${fmt.ms(bcryptCpu)}): bcrypt is ${Math.round((100 * bcryptCpu) / r.cpuMsPer)}% of the server's work` });
  note(`load generator CPU per login: ${fmt.ms(r.clientCpuMsPer)}`);
  record({ section: 'login', metric: 'logins/s ÷ raw bcrypt verify/s', value: fmt.ratio(ratio), target: `≥ ${TARGET}`, verdict: verdict(ratio, TARGET) });
}
