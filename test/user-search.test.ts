// User search v3 against real databases: SQLite in memory always, PostgreSQL too when
// POSTERN_TEST_PG_URL is set (each run gets a throwaway schema).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { sql } from 'kysely';
import { openDb, type Db } from '../src/store/db.ts';
import { migrate } from '../src/store/migrations.ts';
import { Store } from '../src/store/store.ts';
import type { UserRow } from '../src/store/schema.ts';
import { compileUserSearch, compileUserSort } from '../src/store/user-search.ts';
import { ApiError } from '../src/lib/errors.ts';

const B = '2026-08-22T10:44:'; // the instant most created_at boundary cases sit around

function user(id: string, o: Partial<UserRow> = {}): Omit<UserRow, 'tenant_id'> {
  const provider = o.provider ?? 'auth0';
  const email = o.email ?? null;
  return {
    user_id: `${provider}|${id}`, connection: 'Username-Password-Authentication', provider,
    email, email_norm: email?.toLowerCase() ?? null, email_verified: 0,
    username: null, phone_number: null, name: null, nickname: null, given_name: null, family_name: null, picture: null,
    blocked: 0, created_at: '2025-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z', last_login: null, last_ip: null,
    logins_count: 0, app_metadata: '{}', user_metadata: '{}',
    identities: JSON.stringify([{ provider, user_id: id, connection: o.connection ?? 'Username-Password-Authentication' }]),
    data: '{}', password_hash: null, ...o,
  };
}

const FILLERS = Array.from({ length: 12 }, (_, i) => `u${String(i + 9).padStart(2, '0')}`); // u09..u20
const ALL = ['u01', 'u02', 'u03', 'u04', 'u05', 'u06', 'u07', 'u08', ...FILLERS];
const except = (...ids: string[]) => ALL.filter((id) => !ids.includes(id));

const users = [
  user('u01', { email: 'john.doe@example.com', name: 'John Doe', nickname: 'johnny', username: 'jdoe', email_verified: 1, logins_count: 5,
    created_at: `${B}27.999Z`, app_metadata: JSON.stringify({ plan: 'pro', active: true, level: 3 }),
    user_metadata: JSON.stringify({ prefs: { theme: 'dark', lang: 'en' } }) }),
  user('u02', { email: 'Jane.Doe@Example.com', name: 'Jane Doe', nickname: 'jane', created_at: `${B}28.000Z`,
    app_metadata: JSON.stringify({ plan: 'free', active: false, level: 1 }) }),
  user('u03', { email: 'johnson@corp.io', name: 'Bob Johnson', nickname: 'bobby', username: 'bjohnson', email_verified: 1, logins_count: 12,
    created_at: `${B}28.122Z`, app_metadata: JSON.stringify({ plan: 'pro', level: '3' }), user_metadata: JSON.stringify({ prefs: { theme: 'light' } }) }),
  user('u04', { email: 'alice@example.com', name: 'Alice Smith', nickname: 'ali', logins_count: 1, created_at: `${B}28.123Z`,
    app_metadata: JSON.stringify({ active: true, 'team-id': 'x_1' }), user_metadata: JSON.stringify({ prefs: { theme: 'dark' } }) }),
  user('u05', { provider: 'sms', connection: 'sms', phone_number: '+15551234567', name: 'Phone User', created_at: `${B}28.124Z` }),
  user('u06', { email: 'c%rol_x@example.com', name: 'Carol 100%', created_at: `${B}29.000Z` }),
  user('u07', { email: 'dave@example.org', name: "Dave O'Brien", blocked: 1, email_verified: 1, created_at: '2026-08-23T00:00:00.000Z' }),
  user('u08', { provider: 'google-oauth2', connection: 'google-oauth2', email: 'eve@example.net', name: 'Eve', created_at: '2026-08-21T23:59:59.999Z',
    identities: JSON.stringify([{ provider: 'google-oauth2', user_id: 'u08', connection: 'google-oauth2' }, { provider: 'auth0', user_id: 'linked99', connection: 'Username-Password-Authentication' }]) }),
  ...FILLERS.map((id, i) => user(id, {
    email: id === 'u09' ? 'carolax@example.com' : `${id}@filler.test`, // `_` / `%` unescaped would match these two
    name: id === 'u10' ? 'Filler 1000' : `Filler ${i + 9}`,
    created_at: `2025-01-${String(i + 9).padStart(2, '0')}T00:00:00.000Z`,
  })),
];
// Another tenant that matches almost everything; none of it may ever come back.
const otherTenant = [
  user('t2a', { email: 'john.doe@example.com', name: 'John Doe', username: 'jdoe', email_verified: 1, created_at: `${B}28.123Z`,
    app_metadata: JSON.stringify({ plan: 'pro', active: true, level: 3 }), user_metadata: JSON.stringify({ prefs: { theme: 'dark' } }),
    identities: JSON.stringify([{ provider: 'auth0', user_id: 'linked99' }]) }),
  user('t2b', { blocked: 1, logins_count: 7, created_at: '2026-08-22T00:00:00.000Z' }),
];

const is400 = (e: unknown) => e instanceof ApiError && e.statusCode === 400 && (e.toJSON() as any).errorCode === 'invalid_query_string';

function suite(backendName: string, open: () => Promise<{ db: Db; cleanup: () => Promise<void> }>) {
  describe(`user search (${backendName})`, () => {
    let db: Db, store: Store, cleanup: () => Promise<void>;
    before(async () => {
      ({ db, cleanup } = await open());
      await migrate(db.kysely);
      store = new Store(db, 'tnt1');
      for (const u of users) await store.insertUser(u);
      for (const u of otherTenant) await store.withTenant('tnt2').insertUser(u);
    });
    after(async () => { await cleanup?.(); });

    const ids = async (q: string) => (await store.usersQuery().selectAll().where(compileUserSearch(q, db.backend)).execute())
      .map((r) => r.user_id.replace(/^.*\|/, '')).sort();
    const expect = async (q: string, want: string[]) => assert.deepEqual(await ids(q), [...want].sort(), q);
    const rejects = (q: string) => assert.throws(() => compileUserSearch(q, db.backend), is400, q);

    test('email: exact, case-insensitive, wildcards', async () => {
      await expect('email:john.doe@example.com', ['u01']);
      await expect('email:JANE.DOE@EXAMPLE.COM', ['u02']);
      await expect('email:"Jane.Doe@Example.com"', ['u02']);
      await expect('email:john*', ['u01', 'u03']);
      await expect('email:*@example.com', ['u01', 'u02', 'u04', 'u06', 'u09']);
      await expect('email:*', except('u05'));
      // LIKE metacharacters in the user's text are literal.
      await expect('email:*_x@example.com', ['u06']);
      await expect('email:c%r*', ['u06']);
      rejects('email:jo*');
      rejects('name:*a');
      rejects('email:**');
    });

    test('email prefixes: an index range, with LIKE metacharacters, dots, dashes and non-ASCII literal', async () => {
      const t3 = store.withTenant('tnt3');
      const emails: Record<string, string> = {
        p01: 'a.b-c@x.test', p02: 'a.bxc@x.test', p03: 'a-b@x.test', p04: 'a_b@x.test', p05: 'axb@x.test',
        p06: 'a%b@x.test', p07: 'azzb@x.test', p08: 'müller@x.test', p09: 'MÜLLER2@x.test', p10: 'mvller@x.test',
        p11: 'zoë@x.test', p12: 'zoe@x.test', p13: 'ab😀c@x.test', p14: 'ab😁@x.test', p15: 'ab\u{10FFFF}z@x.test',
      };
      for (const [id, email] of Object.entries(emails)) await t3.insertUser(user(id, { email }));
      const prefixIds = async (q: string) => (await t3.usersQuery().selectAll().where(compileUserSearch(q, db.backend)).execute())
        .map((r) => r.user_id.replace(/^.*\|/, '')).sort();
      const cases: Array<[string, string[]]> = [
        ['email:a.b-*', ['p01']], ['email:a.b*', ['p01', 'p02']], ['email:A.B*', ['p01', 'p02']], ['email:a-b*', ['p03']],
        ['email:a_b*', ['p04']], ['email:a%b*', ['p06']], ['email:mül*', ['p08', 'p09']],
        ['email:MüL*', ['p08', 'p09']], ['email:zoë*', ['p11']], ['email:zoe*', ['p12']], ['email:ab😀*', ['p13']],
        ['email:ab\u{10FFFF}*', ['p15']], ['email:x.test*', []],
      ];
      for (const [q, want] of cases) assert.deepEqual(await prefixIds(q), want, q);
      // The prefix is a range the email index can serve, not only a LIKE over every row.
      const compiled = t3.usersQuery().selectAll().where(compileUserSearch('email:a.b-*', db.backend)).compile();
      assert.match(compiled.sql, /"email_norm"( collate "C")? >= \S+ and "users"\."email_norm"( collate "C")? < /);
      assert.deepEqual(compiled.parameters.slice(1, 3), ['a.b-', 'a.b.']);
    });

    test('text fields, phrases and bare terms', async () => {
      await expect('name:"John Doe"', ['u01']);
      await expect('name:"john doe"', ['u01']);
      await expect('name:John', []); // exact, not token, match
      await expect('name:"Dave O\'Brien"', ['u07']);
      await expect('nickname:JOHNNY', ['u01']);
      await expect('username:jdoe', ['u01']);
      await expect('phone_number:"+15551234567"', ['u05']);
      await expect('user_id:"auth0|u01"', ['u01']);
      await expect('connection:sms', ['u05']);
      await expect('identities.connection:google-oauth2', ['u08']);
      await expect('identities.provider:google-oauth2', ['u08']);
      await expect('identities.user_id:u08', ['u08']);
      await expect('identities.user_id:linked99', ['u08']); // a linked identity
      await expect('john', ['u01', 'u03']);
      await expect('JOHNSON', ['u03']);
      await expect('doe', ['u01', 'u02']);
      await expect('"Jane Doe"', ['u02']);
      await expect('100%', ['u06']);
      await expect('*', ALL);
    });

    test('booleans and numbers', async () => {
      await expect('email_verified:true', ['u01', 'u03', 'u07']);
      await expect('blocked:true', ['u07']);
      await expect('blocked:*', ALL);
      await expect('logins_count:5', ['u01']);
      await expect('logins_count:[5 TO *]', ['u01', 'u03']);
      await expect('logins_count:[1 TO 12]', ['u01', 'u03', 'u04']);
      await expect('logins_count:{1 TO 12}', ['u01']);
      rejects('email_verified:maybe');
      rejects('logins_count:abc');
      rejects('logins_count:1*');
    });

    test('boolean operators', async () => {
      await expect('email_verified:true AND app_metadata.plan:pro', ['u01', 'u03']);
      await expect('app_metadata.plan:pro email_verified:true', ['u01', 'u03']); // implicit = AND
      await expect('app_metadata.plan:free OR blocked:true', ['u02', 'u07']);
      await expect('app_metadata.plan:free || blocked:true', ['u02', 'u07']);
      // AND binds tighter than OR (the parser itself would nest this to the right).
      await expect('app_metadata.plan:free AND email_verified:false OR blocked:true', ['u02', 'u07']);
      await expect('blocked:true OR app_metadata.plan:free AND email_verified:false', ['u02', 'u07']);
      await expect('(app_metadata.plan:free OR blocked:true) AND email_verified:true', ['u07']);
      await expect('email:*@example.com AND NOT name:"Jane Doe"', ['u01', 'u04', 'u06', 'u09']);
      await expect('email:*@example.com -name:"Jane Doe"', ['u01', 'u04', 'u06', 'u09']);
      await expect('NOT email:*@example.com', except('u01', 'u02', 'u04', 'u06', 'u09')); // includes u05, who has no email
      await expect('NOT username:jdoe', except('u01'));
      await expect('NOT (blocked:true OR email_verified:true)', except('u01', 'u03', 'u07'));
      await expect('blocked:true OR NOT email:*', ['u05', 'u07']);
      await expect('email:(john.doe@example.com OR alice@example.com)', ['u01', 'u04']);
      await expect('-email:(john.doe@example.com OR alice@example.com) AND email:*@example.com', ['u02', 'u06', 'u09']);
      await expect('-created_at:[2025-01-01 TO 2025-12-31]', ['u01', 'u02', 'u03', 'u04', 'u05', 'u06', 'u07', 'u08']);
      await expect('!blocked:true AND +email_verified:true', ['u01', 'u03']);
      await expect('name:("John Doe" "Jane Doe")', []); // implicit AND inside a field group
    });

    test('_exists_', async () => {
      await expect('_exists_:username', ['u01', 'u03']);
      await expect('NOT _exists_:email', ['u05']);
      await expect('_exists_:app_metadata.level', ['u01', 'u02', 'u03']);
      await expect('_exists_:user_metadata.prefs.lang', ['u01']);
      rejects('_exists_:nope');
    });

    test('metadata', async () => {
      await expect('app_metadata.plan:pro', ['u01', 'u03']);
      await expect('app_metadata.active:true', ['u01', 'u04']);
      await expect('app_metadata.active:false', ['u02']);
      await expect('app_metadata.level:3', ['u01', 'u03']); // number 3 and string "3"
      await expect('app_metadata.team-id:x_1', ['u04']);
      await expect('app_metadata.plan:fre*', ['u02']);
      await expect('user_metadata.prefs.theme:dark', ['u01', 'u04']);
      await expect('user_metadata.prefs.theme:*', ['u01', 'u03', 'u04']);
      await expect('user_metadata.prefs:dark', []);
      rejects('app_metadata:pro');
      rejects("app_metadata.a'b:x");
      rejects('app_metadata.a..b:x');
    });

    test('created_at ranges', async () => {
      const before123 = [...FILLERS, 'u08', 'u01', 'u02', 'u03'];
      // 0 fractional digits
      await expect(`created_at:[${B}28Z TO ${B}29Z]`, ['u02', 'u03', 'u04', 'u05', 'u06']);
      await expect(`created_at:{${B}28Z TO ${B}29Z}`, ['u03', 'u04', 'u05']);
      await expect(`created_at:[${B}28Z TO ${B}29Z}`, ['u02', 'u03', 'u04', 'u05']);
      await expect(`created_at:{${B}28Z TO ${B}29Z]`, ['u03', 'u04', 'u05', 'u06']);
      // 3
      await expect(`created_at:[${B}28.123Z TO *]`, ['u04', 'u05', 'u06', 'u07']);
      await expect(`created_at:{${B}28.123Z TO *]`, ['u05', 'u06', 'u07']);
      await expect(`created_at:[* TO ${B}28.123Z]`, [...before123, 'u04']);
      await expect(`created_at:[* TO ${B}28.123Z}`, before123);
      await expect(`created_at:"${B}28.123Z"`, ['u04']);
      // 6
      await expect(`created_at:[${B}28.123000Z TO ${B}28.123000Z]`, ['u04']);
      await expect(`created_at:[${B}28.122500Z TO ${B}28.123500Z]`, ['u04']);
      await expect(`created_at:{${B}28.122500Z TO ${B}28.123500Z}`, ['u04']);
      // 9, on the sub-millisecond boundary
      await expect(`created_at:[* TO ${B}28.123456789Z]`, [...before123, 'u04']);
      await expect(`created_at:{* TO ${B}28.123456789Z}`, [...before123, 'u04']);
      await expect(`created_at:[${B}28.123456789Z TO *]`, ['u05', 'u06', 'u07']);
      await expect(`created_at:{${B}28.123456789Z TO *]`, ['u05', 'u06', 'u07']);
      await expect(`created_at:[${B}28.123000000Z TO *]`, ['u04', 'u05', 'u06', 'u07']);
      await expect(`created_at:"${B}28.123456789Z"`, []);
      // offsets, dates, open ranges
      await expect('created_at:[2026-08-22T12:44:28.123+02:00 TO 2026-08-22T12:44:28.123+02:00]', ['u04']);
      await expect('created_at:[2026-08-22T05:44:28.123-05:00 TO 2026-08-22T05:44:28.123-05:00]', ['u04']);
      await expect('created_at:[2026-08-22 TO 2026-08-22]', ['u01', 'u02', 'u03', 'u04', 'u05', 'u06']);
      await expect('created_at:2026-08-22', ['u01', 'u02', 'u03', 'u04', 'u05', 'u06']);
      await expect('created_at:{2026-08-21 TO 2026-08-23}', ['u01', 'u02', 'u03', 'u04', 'u05', 'u06']);
      await expect('created_at:[2026-08-22 TO *]', ['u01', 'u02', 'u03', 'u04', 'u05', 'u06', 'u07']);
      await expect('created_at:[* TO *]', ALL);
      await expect('updated_at:[2026-01-01 TO 2026-01-01]', ALL);
      await expect('last_login:[* TO *]', []);
      rejects('created_at:[2026-02-30 TO *]');
      rejects('created_at:[yesterday TO *]');
      rejects('created_at:[2026-08-22T25:00:00Z TO *]');
      rejects('created_at:[2026-08-22T10:00:00.1234567890Z TO *]');
      rejects('name:[a TO b]');
    });

    test('sort', async () => {
      const sorted = async (s: string) => {
        const { column, direction } = compileUserSort(s)!;
        const rows = await store.usersQuery().selectAll().where(compileUserSearch('created_at:[2026-08-22 TO *]', db.backend))
          .orderBy(sql.ref(column), direction).orderBy('user_id').execute();
        return rows.map((r) => r.user_id.replace(/^.*\|/, ''));
      };
      assert.deepEqual(await sorted('created_at:1'), ['u01', 'u02', 'u03', 'u04', 'u05', 'u06', 'u07']);
      assert.deepEqual(await sorted('created_at:-1'), ['u07', 'u06', 'u05', 'u04', 'u03', 'u02', 'u01']);
      // Ties fall back to user_id, where auth0|… sorts before sms|….
      assert.deepEqual(await sorted('logins_count:-1'), ['u03', 'u01', 'u04', 'u02', 'u06', 'u07', 'u05']);
      assert.equal(compileUserSort(undefined), undefined);
      for (const bad of ['password_hash:1', 'created_at:2', 'created_at', 'created_at:1; drop table users']) {
        assert.throws(() => compileUserSort(bad), is400, bad);
      }
    });

    test('bad queries are 400 invalid_query_string', async () => {
      try { compileUserSearch('foo:bar', db.backend); assert.fail('no error'); } catch (e) {
        assert.ok(is400(e));
        assert.deepEqual((e as ApiError).toJSON(), {
          statusCode: 400, error: 'Bad Request', message: 'Invalid query: unknown field "foo"', errorCode: 'invalid_query_string',
        });
      }
      for (const q of ['email:', '(email:a', 'name:"unterminated', 'OR', 'AND email:x', 'a:b:c', '/jo.*/', 'john~', '"a b"~2',
        'x'.repeat(2049), '('.repeat(40) + 'a' + ')'.repeat(40)]) rejects(q);
      assert.doesNotThrow(() => compileUserSearch('email:' + 'x'.repeat(2042), db.backend));
    });

    test('injection attempts are plain data', async () => {
      await expect(`email:"a' OR '1'='1"`, []);
      await expect(`name:"x'); DROP TABLE users; --"`, []);
      await expect(`app_metadata.plan:"pro' OR 1=1 --"`, []);
      await expect(`user_metadata.prefs.theme:"dark\\") OR (1=1"`, []);
      await expect(`"' OR 1=1 --"`, []);
      await expect(`email:abc*' OR '1'='1`, []);
      await expect(`identities.user_id:"u08' OR '1'='1"`, []);
      await expect(`created_at:[* TO *]`, ALL); // the table is still there
      rejects(`_exists_:"email) OR (1=1"`);
    });
  });
}

suite('sqlite', async () => {
  const db = await openDb({ dataDir: tmpdir(), databaseUrl: 'sqlite::memory:' });
  return { db, cleanup: () => db.close() };
});

const pgUrl = process.env.POSTERN_TEST_PG_URL;
if (pgUrl) {
  suite('postgres', async () => {
    const pg = (await import('pg')).default;
    const schema = `user_search_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: pgUrl });
    await admin.connect();
    await admin.query(`create schema ${schema}`);
    const url = new URL(pgUrl);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const db = await openDb({ dataDir: tmpdir(), databaseUrl: url.toString() });
    return {
      db,
      cleanup: async () => { await db.close(); await admin.query(`drop schema ${schema} cascade`); await admin.end(); },
    };
  });
}
