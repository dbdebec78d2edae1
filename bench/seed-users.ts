// Bench seeder: loads users straight into the users table through Kysely, in
// large transactions of multi-row inserts, so a million users take a minute or
// two rather than a million Management API calls (each a bcrypt hash).
//
//   node --import tsx bench/seed-users.ts --data-dir DIR [--database-url URL] --to 1000000 [--from 0]
//
// User i is deterministic (same id, email and dates in every run), so a run can
// top up 100k to 1M and the search bench knows which emails exist.
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { hashPassword } from '../src/lib/passwords.ts';
import { openDb, type Db } from '../src/store/db.ts';
import { migrate } from '../src/store/migrations.ts';
import type { UserRow } from '../src/store/schema.ts';

export const TENANT = 'default'; // DEFAULT_TENANT in src/server.ts
export const CONNECTION = 'Username-Password-Authentication';
export const SEED_PASSWORD = 'Bench-password-1!';
/** created_at spans the year before this instant. */
export const SEED_EPOCH_END = Date.parse('2026-11-23T00:00:00.000Z');
const YEAR = 365 * 86_400_000;

const GIVEN = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Margaret', 'Ken', 'Radia', 'Linus', 'Frances', 'John', 'Leslie', 'Tim', 'Shafi', 'Niklaus'];
const FAMILY = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Hamilton', 'Thompson', 'Perlman', 'Torvalds', 'Allen', 'McCarthy', 'Lamport', 'Berners-Lee', 'Goldwasser', 'Wirth'];
const OTHER_DOMAINS = ['gmail.test', 'corp.example.org', 'mail.example.net', 'example.co.uk', 'uni.example.edu'];
const PLANS = ['free', 'free', 'free', 'pro', 'pro', 'gold', 'enterprise']; // gold ≈ 14%
const REGIONS = ['eu-west', 'us-east', 'us-west', 'ap-south'];

/** Small deterministic PRNG (mulberry32) so every run seeds the same data. */
function rng(seed: number) {
  return () => {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Half the users are at example.com, so `user123@example.com` exists. */
export const seedEmail = (i: number) => `user${i}@${i % 10 < 5 ? 'example.com' : OTHER_DOMAINS[i % OTHER_DOMAINS.length]}`;
export const seedUserId = (i: number) => `auth0|${createHash('sha1').update(`bench-user-${i}`).digest('hex').slice(0, 24)}`;

function userRow(i: number, passwordHash: string): UserRow {
  const r = rng(i + 1);
  const email = seedEmail(i);
  const bare = seedUserId(i).slice('auth0|'.length);
  const given = GIVEN[Math.floor(r() * GIVEN.length)], family = FAMILY[Math.floor(r() * FAMILY.length)];
  const created = SEED_EPOCH_END - YEAR + Math.floor(r() * YEAR);
  const updated = Math.min(SEED_EPOCH_END, created + Math.floor(r() * 30 * 86_400_000));
  const loggedIn = r() < 0.8;
  const md5 = createHash('md5').update(email).digest('hex');
  return {
    tenant_id: TENANT, user_id: `auth0|${bare}`, connection: CONNECTION, provider: 'auth0',
    email, email_norm: email.toLowerCase(), email_verified: r() < 0.7 ? 1 : 0,
    username: null, phone_number: null,
    name: `${given} ${family}`, nickname: `user${i}`, given_name: given, family_name: family,
    picture: `https://s.gravatar.com/avatar/${md5}?s=480&r=pg&d=https%3A%2F%2Fcdn.auth0.com%2Favatars%2F${given.slice(0, 2).toLowerCase()}.png`,
    blocked: r() < 0.01 ? 1 : 0,
    created_at: new Date(created).toISOString(), updated_at: new Date(updated).toISOString(),
    last_login: loggedIn ? new Date(updated).toISOString() : null, last_ip: loggedIn ? `10.${i % 256}.${(i >> 8) % 256}.${(i >> 16) % 256}` : null,
    logins_count: loggedIn ? 1 + Math.floor(r() * 200) : 0,
    app_metadata: JSON.stringify({
      plan: PLANS[Math.floor(r() * PLANS.length)], region: REGIONS[i % REGIONS.length],
      account_id: `acct_${i % 5000}`, beta: r() < 0.1,
    }),
    user_metadata: JSON.stringify({ locale: r() < 0.5 ? 'en-US' : 'de-DE', theme: r() < 0.3 ? 'dark' : 'light' }),
    identities: JSON.stringify([{ connection: CONNECTION, user_id: bare, provider: 'auth0', isSocial: false }]),
    data: JSON.stringify({ password_history: [] }),
    password_hash: passwordHash,
  };
}

/** Inserts users [from, to). Returns seconds taken. */
export async function seedUsers(db: Db, from: number, to: number, onProgress?: (done: number) => void): Promise<number> {
  const t0 = performance.now();
  const passwordHash = await hashPassword(SEED_PASSWORD);
  // Bound parameters per statement: SQLite allows 32766, PostgreSQL 65535; a user has 26 columns.
  const perInsert = db.backend === 'sqlite' ? 1000 : 2000;
  const perTransaction = 50_000;
  for (let start = from; start < to; start += perTransaction) {
    const end = Math.min(to, start + perTransaction);
    await db.kysely.transaction().execute(async (trx) => {
      for (let b = start; b < end; b += perInsert) {
        const rows: UserRow[] = [];
        for (let i = b; i < Math.min(end, b + perInsert); i++) rows.push(userRow(i, passwordHash));
        await trx.insertInto('users').values(rows).execute();
      }
    });
    onProgress?.(end);
  }
  return (performance.now() - t0) / 1000;
}

/** Planner statistics, as autovacuum would gather them on a live PostgreSQL. */
export async function analyze(db: Db) {
  if (db.backend === 'postgres') await (await import('kysely')).sql`ANALYZE users`.execute(db.kysely);
}

export async function openBenchDb(opts: { dataDir: string; databaseUrl?: string }): Promise<Db> {
  const db = await openDb({ dataDir: opts.dataDir, databaseUrl: opts.databaseUrl, poolSize: 2 });
  await migrate(db.kysely);
  return db;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { 'data-dir': { type: 'string' }, 'database-url': { type: 'string' }, from: { type: 'string' }, to: { type: 'string' } } });
  const db = await openBenchDb({ dataDir: values['data-dir'] ?? 'bench/.data/seed', databaseUrl: values['database-url'] });
  const from = Number(values.from ?? 0), to = Number(values.to ?? 100_000);
  const secs = await seedUsers(db, from, to, (n) => process.stdout.write(`\r${n.toLocaleString('en-US')} users`));
  await analyze(db);
  process.stdout.write(`\nseeded ${(to - from).toLocaleString('en-US')} users in ${secs.toFixed(1)} s\n`);
  await db.close();
}
