import { CompiledQuery } from 'kysely';
import type { Db } from '../src/store/db.ts';
import { Store } from '../src/store/store.ts';
import { compileUserSearch, compileUserSort } from '../src/store/user-search.ts';
import { bench } from './lib/config.ts';
import { fetchRetry } from './lib/http.ts';
import { pct } from './lib/load.ts';
import { fmt, note, record, verdict } from './lib/report.ts';
import type { BenchServer } from './lib/server.ts';
import { seedEmail, TENANT } from './seed-users.ts';

// Issue 2: user search latency through the Management API over HTTPS, one
// request at a time, on a database seeded with `scale` users.
const EXACT_TARGET_MS = 10;

interface Query { name: string; params: (k: number, scale: number) => Record<string, string>; check: (body: any) => string | undefined }
const QUERIES: Query[] = [
  {
    name: 'exact email',
    // user123@example.com first, then other seeded users so no single row stays hot.
    params: (k, scale) => ({ q: `email:"${seedEmail(k === 0 ? 123 : Math.floor(Math.random() * scale))}"` }),
    check: (b) => (Array.isArray(b) && b.length === 1 ? undefined : `expected 1 user, got ${Array.isArray(b) ? b.length : JSON.stringify(b).slice(0, 200)}`),
  },
  {
    name: 'prefix wildcard',
    params: () => ({ q: 'email:user12*' }),
    check: (b) => (Array.isArray(b) && b.length > 0 && b.every((u: any) => u.email.startsWith('user12')) ? undefined : 'expected users whose email starts with user12'),
  },
  {
    // Eleven users (user99999, user999990–user999999 at 1M): nothing to stop an ordered scan early.
    name: 'rare prefix wildcard',
    params: () => ({ q: 'email:user99999*' }),
    check: (b) => (Array.isArray(b) && b.every((u: any) => u.email.startsWith('user99999')) ? undefined : 'expected only emails starting with user99999'),
  },
  {
    name: 'app_metadata term',
    params: () => ({ q: 'app_metadata.plan:"gold"' }),
    check: (b) => (Array.isArray(b) && b.length > 0 && b.every((u: any) => u.app_metadata?.plan === 'gold') ? undefined : 'expected gold-plan users'),
  },
  {
    // One account in 5000: a selective metadata term, as an admin looking up one customer.
    name: 'rare app_metadata term',
    params: () => ({ q: 'app_metadata.account_id:"acct_42"' }),
    check: (b) => (Array.isArray(b) && b.length > 0 && b.every((u: any) => u.app_metadata?.account_id === 'acct_42') ? undefined : 'expected users of acct_42'),
  },
  {
    name: 'created_at range + sort + totals',
    params: () => ({
      q: 'created_at:[2026-01-01T00:00:00.000Z TO 2026-06-01T00:00:00.123456789Z]',
      sort: 'created_at:1', per_page: '100', include_totals: 'true',
    }),
    check: (b) => (b?.users?.length === 100 && b.total > 0 ? undefined : `expected a page of 100 with a total, got ${JSON.stringify(b).slice(0, 200)}`),
  },
];

export async function searchBench(s: BenchServer, db: Db, backend: string, scale: number) {
  const token = await s.token();
  const label = `${backend}, ${scale.toLocaleString('en-US')} users`;
  for (const query of QUERIES) {
    const times: number[] = [];
    let problem: string | undefined;
    const started = performance.now();
    for (let k = -2; k < bench.searchSamples; k++) { // two warm-up requests
      if (k >= 3 && performance.now() - started > bench.searchBudgetMs) break;
      const params = query.params(Math.max(0, k), scale);
      const url = `${s.baseUrl}/api/v2/users?${new URLSearchParams({ ...params, search_engine: 'v3' })}`;
      const t = performance.now();
      const r = await fetchRetry(url, { headers: { authorization: `Bearer ${token}` } });
      const body = await r.json();
      const ms = performance.now() - t;
      if (r.status !== 200) { problem = `HTTP ${r.status} ${JSON.stringify(body).slice(0, 200)}`; break; }
      problem ??= query.check(body);
      if (k >= 0) times.push(ms);
    }
    if (problem && !times.length) { record({ section: 'search', metric: `${query.name} (${label})`, value: `ERROR: ${problem}` }); continue; }
    times.sort((a, b) => a - b);
    const p50 = pct(times, 50), p95 = pct(times, 95);
    const exact = query.name === 'exact email';
    record({
      section: 'search', metric: `${query.name} p50 / p95 (${label})`,
      value: `${fmt.ms(p50)} / ${fmt.ms(p95)}  (n=${times.length})${problem ? `  WRONG RESULT: ${problem}` : ''}`,
      ...(exact && scale >= 1_000_000 ? { target: `p95 ≤ ${EXACT_TARGET_MS} ms`, verdict: verdict(p95, EXACT_TARGET_MS, 'lower') } : {}),
    });
    if (p95 > EXACT_TARGET_MS) await explain(db, query.params(0, scale));
  }
}

/**
 * The plan of the SQL GET /users runs for these parameters (the same compiler and
 * query shape as src/management/users.ts), printed when a query is slow.
 */
async function explain(db: Db, params: Record<string, string>) {
  const store = new Store(db, TENANT);
  const where = compileUserSearch(params.q, db.backend) as any;
  const sort = compileUserSort(params.sort) ?? { column: 'created_at', direction: 'asc' as const };
  const limit = Number(params.per_page ?? 50);
  const queries = [store.usersQuery().where(where).selectAll().orderBy(sort.column as any, sort.direction).orderBy('user_id').limit(limit).offset(0).compile()];
  if (params.include_totals === 'true') queries.push(store.usersQuery().where(where).select((eb) => eb.fn.countAll().as('n')).compile() as any);
  for (const c of queries) {
    const prefix = db.backend === 'sqlite' ? 'EXPLAIN QUERY PLAN ' : 'EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ';
    const t = performance.now();
    const r = await db.kysely.executeQuery(CompiledQuery.raw(prefix + c.sql, [...c.parameters]));
    const ms = performance.now() - t;
    note(`plan for: ${c.sql.replace(/\s+/g, ' ').slice(0, 300)}`);
    for (const row of r.rows as any[]) note(`    ${row.detail ?? row['QUERY PLAN'] ?? JSON.stringify(row)}`);
    if (db.backend === 'sqlite') {
      const t2 = performance.now();
      await db.kysely.executeQuery(CompiledQuery.raw(c.sql, [...c.parameters]));
      note(`    (direct execution in the bench process: ${fmt.ms(performance.now() - t2)})`);
    } else note(`    (EXPLAIN ANALYZE took ${fmt.ms(ms)})`);
  }
}
