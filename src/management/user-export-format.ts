// The lines of a user export file, as Auth0 writes them: NDJSON (one user per
// line) or CSV with a header, each column a field of the user as the
// Management API shows it, named by a path such as `identities[0].connection`
// or `user_metadata.plan`, and headed by its `export_as` or its name.

export interface ExportField { name: string; export_as?: string }

/** Without `fields`, the profile's own attributes (and, in JSON, the metadata). */
const DEFAULT_FIELDS = ['user_id', 'email', 'email_verified', 'username', 'phone_number', 'phone_verified', 'name', 'given_name', 'family_name',
  'nickname', 'picture', 'blocked', 'created_at', 'updated_at', 'last_login', 'last_ip', 'logins_count', 'identities[0].connection'];
export const defaultFields = (format: 'json' | 'csv'): ExportField[] =>
  [...DEFAULT_FIELDS, ...(format === 'json' ? ['app_metadata', 'user_metadata'] : [])].map((name) => ({ name }));

/** Dates Auth0 writes itself, left unquoted in CSV. */
const DATES = new Set(['created_at', 'updated_at', 'last_login', 'last_password_reset']);

function valueAt(user: Record<string, unknown>, path: string): unknown {
  let v: any = user;
  for (const segment of path.split('.')) {
    const [key, ...indexes] = segment.split(/\[(\d+)\]/).filter((s) => s !== '');
    v = v == null || typeof v !== 'object' || !Object.hasOwn(v, key) ? undefined : v[key];
    for (const i of indexes) v = Array.isArray(v) ? v[Number(i)] : undefined;
  }
  return v;
}

const column = (f: ExportField) => f.export_as || f.name;

/** CSV escaping against formula injection (OWASP), as Auth0 does: strings quoted, with a leading quote. */
function csvCell(name: string, v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  if (DATES.has(name) && typeof v === 'string') return s;
  return `"'${s.replace(/"/g, '""')}"`;
}
const csvHeader = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

export function exportHeader(format: 'json' | 'csv', fields: ExportField[]): string[] {
  return format === 'csv' ? [fields.map((f) => csvHeader(column(f))).join(',')] : [];
}

export function exportLine(format: 'json' | 'csv', fields: ExportField[], user: Record<string, unknown>): string {
  if (format === 'csv') return fields.map((f) => csvCell(f.name, valueAt(user, f.name))).join(',');
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const v = valueAt(user, f.name);
    if (v !== undefined) out[column(f)] = v;
  }
  return JSON.stringify(out);
}
