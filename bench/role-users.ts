import { sql } from 'kysely';
import type { Db } from '../src/store/db.ts';
import { fmt, heading, note, record, skipped } from './lib/report.ts';
import type { BenchServer } from './lib/server.ts';
import { TENANT } from './seed-users.ts';

// Issue 4: checkpoint paging (`take`/`from`) through a role with many members.
// The time per page should stay flat from the first page to the last.
const WALK_BUDGET_MS = 180_000;

export async function roleUsersBench(s: BenchServer, db: Db, members: number, label: string) {
  heading(`role users checkpoint listing, ${members.toLocaleString('en-US')} members (issue 4, ${label})`);
  const section = 'role-users';
  const token = await s.token();
  const role = await s.api('POST', '/roles', { name: `bench-role-${Date.now()}`, description: 'bench' }, token);
  if (role.status !== 200 && role.status !== 201) return skipped(section, `role users paging (${label})`, `POST /roles answered ${role.status}`);
  const roleId = role.body.id;

  // Membership rows straight into user_roles, as the seeder does for users.
  const ids = (await db.kysely.selectFrom('users').select('user_id').where('tenant_id', '=', TENANT).orderBy('user_id').limit(members).execute()).map((r) => r.user_id);
  if (ids.length < members) return skipped(section, `role users paging (${label})`, `only ${ids.length} users seeded`);
  const ts = new Date().toISOString();
  await db.kysely.transaction().execute(async (trx) => {
    for (let i = 0; i < ids.length; i += 5000) {
      await trx.insertInto('user_roles').values(ids.slice(i, i + 5000).map((user_id) => ({ tenant_id: TENANT, user_id, role_id: roleId, created_at: ts }))).execute();
    }
  });
  if (db.backend === 'postgres') await sql`ANALYZE user_roles`.execute(db.kysely);

  const seen = new Set<string>();
  const times: number[] = [];
  let from: string | undefined;
  const started = performance.now();
  for (;;) {
    const qs = new URLSearchParams({ take: '100', ...(from ? { from } : {}) });
    const t = performance.now();
    const r = await fetch(`${s.baseUrl}/api/v2/roles/${encodeURIComponent(roleId)}/users?${qs}`, { headers: { authorization: `Bearer ${token}` } });
    const body = await r.json() as any;
    times.push(performance.now() - t);
    if (r.status !== 200 || !Array.isArray(body?.users)) {
      return skipped(section, `role users paging (${label})`, `GET /roles/{id}/users?take=100 answered ${r.status} ${JSON.stringify(body).slice(0, 200)}`);
    }
    for (const u of body.users) seen.add(u.user_id);
    from = body.next;
    if (!from) break;
    if (performance.now() - started > WALK_BUDGET_MS) {
      record({ section, metric: `walk (${label})`, value: `ABORTED after ${times.length} pages in ${WALK_BUDGET_MS / 1000} s` });
      break;
    }
  }
  const sorted = [...times].sort((a, b) => a - b);
  const complete = !from;
  if (complete && seen.size !== members) note(`WRONG RESULT: the walk returned ${seen.size} distinct members, expected ${members}`);
  record({ section, metric: `first page / last page (take=100, ${label})`, value: `${fmt.ms(times[0])} / ${fmt.ms(times[times.length - 1])}` });
  record({ section, metric: `pages walked, median / max page (${label})`, value: `${times.length} pages, ${fmt.ms(sorted[Math.floor(sorted.length / 2)])} / ${fmt.ms(sorted[sorted.length - 1])}${complete ? `, ${seen.size.toLocaleString('en-US')} members` : ''}` });
}
