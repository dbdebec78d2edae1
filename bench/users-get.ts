import { cannon } from './lib/load.ts';
import { fmt, heading, note, record } from './lib/report.ts';
import type { BenchServer } from './lib/server.ts';

// Issue 2: GET /api/v2/users/{id} requests per second with a bearer token.
export async function usersGetBench(s: BenchServer) {
  heading('GET /api/v2/users/{id} (issue 2)');
  const token = await s.token();
  const created = await s.api('POST', '/users', {
    connection: 'Username-Password-Authentication', email: `get-bench-${process.pid}@example.com`, password: 'Bench-password-1!',
    app_metadata: { plan: 'gold', region: 'eu-west' }, user_metadata: { locale: 'en-US' },
  }, token);
  if (created.status !== 201) throw new Error(`could not create the user: ${created.status} ${JSON.stringify(created.body)}`);
  const path = `/api/v2/users/${encodeURIComponent(created.body.user_id)}`;
  const probe = await s.api('GET', path.slice('/api/v2'.length), undefined, token);
  if (probe.status !== 200 || probe.body.user_id !== created.body.user_id) throw new Error(`GET probe failed: ${probe.status}`);

  const r = await cannon({ url: `${s.baseUrl}${path}`, headers: { authorization: `Bearer ${token}` }, ca: s.ca, meter: s.cpuSeconds });
  if (r.non2xx || r.errors) note(`${r.non2xx} non-2xx responses, ${r.errors} errors out of ${r.total}`);
  record({ section: 'users', metric: 'GET /api/v2/users/{id} req/s (32 conns)', value: `${fmt.rate(r.rps)}  p50 ${fmt.ms(r.p50)}, p99 ${fmt.ms(r.p99)}${r.cpuMsPer ? `, server CPU ${fmt.ms(r.cpuMsPer)}/req` : ''}` });
}
