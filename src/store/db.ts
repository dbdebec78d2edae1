import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type { Database } from './schema.ts';

export type Backend = 'sqlite' | 'postgres';
export interface Db {
  kysely: Kysely<Database>; backend: Backend; close(): Promise<void>;
  /**
   * Rows of a compiled read, run at once when the backend can (SQLite outside a
   * transaction); undefined means run it through Kysely.
   */
  readNow?(sql: string, parameters: readonly unknown[]): unknown[] | undefined;
}

/** Opens SQLite in the data dir, or PostgreSQL when the URL says so. */
export async function openDb(opts: { databaseUrl?: string; dataDir: string; poolSize?: number }): Promise<Db> {
  const url = opts.databaseUrl;
  if (url && /^postgres(ql)?:\/\//.test(url)) {
    const pg = (await import('pg')).default;
    // BIGINT columns hold epoch seconds; read them back as numbers.
    pg.types.setTypeParser(20, (v: string) => Number(v));
    const pool = new pg.Pool({ connectionString: url, max: opts.poolSize ?? 10 });
    const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { kysely, backend: 'postgres', close: () => kysely.destroy() };
  }
  const Sqlite = (await import('better-sqlite3')).default;
  let file: string;
  if (url && url.startsWith('sqlite:')) file = url.slice('sqlite:'.length).replace(/^\/\//, '');
  else { mkdirSync(opts.dataDir, { recursive: true }); file = join(opts.dataDir, 'postern.db'); }
  const database = new Sqlite(file);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('busy_timeout = 5000');
  // Refresh planner statistics for tables that have grown (SQLite bounds the work
  // with its own analysis limit), so index choice follows the data's real shape.
  database.pragma('optimize = 0x10002');
  const statements = reusingStatements(database);
  const kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database: statements }) });
  return {
    kysely, backend: 'sqlite', close: () => kysely.destroy(),
    // better-sqlite3 is synchronous, so a read here cannot interleave with
    // Kysely's one connection, except inside a transaction that spans awaits:
    // then it must queue behind it, or it would see uncommitted rows.
    readNow: (sql, parameters) => (database.inTransaction ? undefined : statements.prepare(sql).all(parameters as unknown[])),
  };
}

/**
 * Kysely prepares every query afresh; SQLite compiling the same SQL again is a
 * measurable share of a small query. better-sqlite3 statements are reusable
 * (Kysely runs one query at a time on its one connection), so keep the most
 * recently used ones by SQL text.
 */
function reusingStatements(database: BetterSqlite3.Database, max = 500) {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    prepare(text: string) {
      let stmt = cache.get(text);
      if (stmt) cache.delete(text); // re-inserted below as the most recent
      else {
        stmt = database.prepare(text);
        if (cache.size >= max) cache.delete(cache.keys().next().value!);
      }
      cache.set(text, stmt);
      return stmt;
    },
    close() { cache.clear(); database.close(); },
  };
}
