// Auth0's log search (`q` on GET /api/v2/logs): what each field name means on
// the `logs` table. The indexed columns answer the usual filters; every other
// field of the event, `details.*` included, is read from the stored document.
import { sql } from 'kysely';
import { compileSearch, jsonText, type Backend, type Field, type SearchSchema } from './search.ts';

const COLUMNS: Record<string, Field> = {
  log_id: { kind: 'text', expr: sql.ref('logs.log_id') },
  type: { kind: 'text', expr: sql.ref('logs.type') },
  user_id: { kind: 'text', expr: sql.ref('logs.user_id') },
  client_id: { kind: 'text', expr: sql.ref('logs.client_id') },
  date: { kind: 'date', expr: sql.ref('logs.date') },
};
const CASE_INSENSITIVE = new Set(['user_name', 'client_name', 'description']);

const schemas = Object.fromEntries((['sqlite', 'postgres'] as const).map((backend): [Backend, SearchSchema] => [backend, {
  backend,
  bare: ['description', 'user_name', 'client_name', 'user_id', 'type'],
  resolve(name) {
    const field = COLUMNS[name] ?? jsonText(sql.ref('logs.data'), name.split('.'), backend);
    return CASE_INSENSITIVE.has(name) ? { ...field, kind: 'ci' } : field;
  },
}]));

export const compileLogSearch = (q: string, backend: Backend) => compileSearch(q, schemas[backend]);
