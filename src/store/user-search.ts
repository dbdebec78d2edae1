// Auth0 user search v3 (`q` on GET /api/v2/users): what each field name means
// on the `users` table. search.ts parses and compiles the query.
import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { Database } from './schema.ts';
import { invalidQuery } from '../lib/errors.ts';
import { compileSearch, fail, jsonText, type Backend, type Field, type Kind, type SearchSchema } from './search.ts';

const COLUMNS: Record<string, [keyof Database['users'], Kind]> = {
  user_id: ['user_id', 'text'], email: ['email_norm', 'email'], email_verified: ['email_verified', 'bool'],
  username: ['username', 'ci'], phone_number: ['phone_number', 'text'], name: ['name', 'ci'], nickname: ['nickname', 'ci'],
  given_name: ['given_name', 'ci'], family_name: ['family_name', 'ci'], picture: ['picture', 'text'], blocked: ['blocked', 'bool'],
  created_at: ['created_at', 'date'], updated_at: ['updated_at', 'date'], last_login: ['last_login', 'date'],
  last_ip: ['last_ip', 'text'], logins_count: ['logins_count', 'int'],
  connection: ['connection', 'text'], 'identities.connection': ['connection', 'text'], 'identities.provider': ['provider', 'text'],
};
const SORTABLE = new Set(['created_at', 'updated_at', 'last_login', 'email', 'name', 'nickname', 'user_id', 'logins_count', 'username']);

function resolve(name: string, backend: Backend): Field {
  const col = COLUMNS[name];
  if (col) return { kind: col[1], expr: sql.ref(`users.${col[0]}`) };
  if (name === 'identities.user_id') {
    // Linked accounts keep their ids only in the identities array, so match any element
    // (ids are compared as text: some providers store them as JSON numbers).
    return backend === 'sqlite'
      ? { kind: 'text', expr: sql`cast(json_extract(i.value, '$.user_id') as text)`,
          wrap: (p) => sql<SqlBool>`exists (select 1 from json_each(users.identities) as i where ${p})` }
      : { kind: 'text', expr: sql`(i.v ->> 'user_id')`,
          wrap: (p) => sql<SqlBool>`exists (select 1 from jsonb_array_elements(users.identities::jsonb) as i(v) where ${p})` };
  }
  const m = /^(app_metadata|user_metadata)\.(.+)$/.exec(name);
  if (m) return jsonText(sql.ref(`users.${m[1]}`), m[2].split('.'), backend);
  throw fail(`unknown field "${name}"`);
}

const schemas = Object.fromEntries((['sqlite', 'postgres'] as const).map((backend): [Backend, SearchSchema] =>
  [backend, { backend, resolve: (name) => resolve(name, backend), bare: ['email', 'name', 'nickname', 'username'] }]));

/** Compiles an Auth0 search v3 query into a predicate on `users`; a bad query throws 400 invalid_query_string. */
export function compileUserSearch(q: string, backend: Backend): (eb: ExpressionBuilder<Database, 'users'>) => Expression<SqlBool> {
  return compileSearch(q, schemas[backend]);
}

/** `field:1` (ascending) or `field:-1` (descending). */
export function compileUserSort(sort: string | undefined): { column: string; direction: 'asc' | 'desc' } | undefined {
  if (sort === undefined || sort === '') return undefined;
  const m = /^([a-z_]+):(1|-1)$/.exec(sort);
  if (!m || !SORTABLE.has(m[1])) throw invalidQuery(`Invalid sort: "${sort}" must be field:1 or field:-1 with field one of ${[...SORTABLE].join(', ')}`);
  return { column: m[1], direction: m[2] === '1' ? 'asc' : 'desc' };
}
