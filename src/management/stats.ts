import { invalidQuery } from '../lib/errors.ts';
import { dailyCounts } from '../store/log-store.ts';
import { route, type Route } from './router.ts';

// Tenant statistics, derived from what the tenant holds: the users' last
// logins and the log's login and signup events.

const DAY = 86_400_000;

/** YYYYMMDD as the UTC midnight it names. */
function day(v: unknown, name: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(String(v));
  const t = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  if (!m || Number.isNaN(t) || new Date(t).getUTCDate() !== Number(m[3])) throw invalidQuery(`Query validation error: '${name}' must be a date as YYYYMMDD.`);
  return t;
}

export const statsRoutes: Route[] = [
  route('GET', '/stats/active-users', async ({ env }) => {
    const since = new Date(Date.now() - 30 * DAY).toISOString();
    const r = await env.store.usersQuery().select((eb) => eb.fn.countAll().as('n')).where('last_login', '>=', since).executeTakeFirstOrThrow();
    return Number(r.n);
  }),
  route('GET', '/stats/daily', async ({ env, query }) => {
    await env.events.flush();
    const to = query.to === undefined ? Date.now() : day(query.to, 'to') + DAY;
    const from = query.from === undefined ? to - 30 * DAY : day(query.from, 'from');
    if (from >= to) return [];
    if (to - from > 366 * DAY) throw invalidQuery('Query validation error: the range may span at most one year.');
    const rows = await dailyCounts(env.store, new Date(from).toISOString(), new Date(to).toISOString());
    return rows.map((r) => ({
      date: `${r.day}T00:00:00.000Z`, logins: Number(r.logins), signups: Number(r.signups), leaked_passwords: 0,
      created_at: r.first, updated_at: r.last,
    }));
  }),
];
