import { invalidQuery } from '../lib/errors.ts';

/** Auth0's `fields` / `include_fields` projection, applied to any result object. */
export function projector(query: Record<string, any>): (o: any) => any {
  const raw = query.fields;
  if (raw === undefined || raw === '') return (o) => o;
  if (typeof raw !== 'string') throw invalidQuery("Query validation error: 'fields' must be a string.");
  const fields = new Set(raw.split(',').map((f) => f.trim()).filter(Boolean));
  const include = query.include_fields === undefined || query.include_fields === true || query.include_fields === 'true';
  return (o) => {
    if (!o || typeof o !== 'object') return o;
    const out: any = {};
    for (const [k, v] of Object.entries(o)) if (fields.has(k) === include) out[k] = v;
    return out;
  };
}
