// SCIM attribute paths (RFC 7644 §3.10) as the mapping and PatchOp use them:
// `userName`, `name.givenName`, `emails[primary eq true].value`,
// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`.
// Only one `eq` test inside brackets is understood, as in Auth0's mappings;
// attribute names compare case-insensitively, as SCIM's do.

export const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

export interface AttrPath {
  /** The extension schema that holds the attribute (absent for the core schema). */
  schema?: string;
  attr: string;
  /** `[attr eq value]`: which element of a multi-valued attribute. */
  filter?: { attr: string; value: string | boolean };
  sub?: string;
}

const NAME = '[A-Za-z][\\w$-]*';
const PATH = new RegExp(`^(?:(urn:[A-Za-z0-9:._-]+):)?(${NAME})(?:\\[\\s*(${NAME})\\s+eq\\s+("(?:[^"\\\\]|\\\\.)*"|true|false)\\s*\\])?(?:\\.(${NAME}))?$`, 'i');

/** The path, or undefined when it is not one this server understands. */
export function parsePath(text: string): AttrPath | undefined {
  const m = PATH.exec(text.trim());
  if (!m) return undefined;
  const [, urn, attr, fAttr, fValue, sub] = m;
  if (fAttr && !sub) return undefined; // an element is always mapped through one of its sub-attributes
  let value: string | boolean | undefined;
  if (fValue !== undefined) {
    try { value = JSON.parse(fValue); } catch { return undefined; }
  }
  const schema = urn && urn.toLowerCase() !== CORE_USER.toLowerCase() ? urn : undefined;
  return { ...(schema ? { schema } : {}), attr, ...(fAttr ? { filter: { attr: fAttr, value: value! } } : {}), ...(sub ? { sub } : {}) };
}

/** A canonical key for comparing paths: case folded, the core schema dropped. */
export function pathKey(p: AttrPath, withFilter = true): string {
  const f = withFilter && p.filter ? `[${p.filter.attr} eq ${JSON.stringify(typeof p.filter.value === 'string' ? p.filter.value.toLowerCase() : p.filter.value)}]` : '';
  return `${p.schema ? `${p.schema}:` : ''}${p.attr}${f}${p.sub ? `.${p.sub}` : ''}`.toLowerCase();
}

/** The key of `o` that equals `name` ignoring case. */
export function keyOf(o: Record<string, unknown>, name: string): string | undefined {
  if (Object.hasOwn(o, name)) return name;
  const lower = name.toLowerCase();
  return Object.keys(o).find((k) => k.toLowerCase() === lower);
}
const isObject = (v: unknown): v is Record<string, any> => !!v && typeof v === 'object' && !Array.isArray(v);
const at = (o: unknown, name: string) => (isObject(o) ? o[keyOf(o, name) ?? name] : undefined);

const sameValue = (a: unknown, b: string | boolean) =>
  typeof b === 'string' ? typeof a === 'string' && a.toLowerCase() === b.toLowerCase() : a === b || String(a).toLowerCase() === String(b);

/**
 * The element a bracket filter names. With `[primary eq true]` and no element
 * marked primary, the first element stands in: clients that send one address
 * often leave `primary` out.
 */
function element(list: unknown, filter: NonNullable<AttrPath['filter']>): Record<string, any> | undefined {
  if (!Array.isArray(list)) return undefined;
  const found = list.find((el) => sameValue(at(el, filter.attr), filter.value));
  if (found !== undefined) return isObject(found) ? found : undefined;
  return filter.attr.toLowerCase() === 'primary' && filter.value === true && isObject(list[0]) ? list[0] : undefined;
}

/** The container of the attribute: the resource, or its extension object. */
function container(resource: Record<string, any>, p: AttrPath, create: boolean): Record<string, any> | undefined {
  if (!p.schema) return resource;
  const k = keyOf(resource, p.schema);
  if (k && isObject(resource[k])) return resource[k];
  if (!create) return undefined;
  return (resource[k ?? p.schema] = {});
}

export function getPath(resource: Record<string, any>, p: AttrPath): unknown {
  const c = container(resource, p, false);
  let v = at(c, p.attr);
  if (p.filter) v = element(v, p.filter);
  else if (Array.isArray(v) && p.sub) v = element(v, { attr: 'primary', value: true }); // `emails.value`: the primary one
  return p.sub ? at(v, p.sub) : v;
}

/**
 * Sets the value at the path, creating what is missing. With `adoptLone`, a
 * lone element that does not carry the bracket's attribute at all (say, the
 * rendered primary email, which has no `type`) is taken to be the one meant
 * rather than given a twin: a PATCH of `emails[type eq "work"].value` then
 * changes the user's one email.
 */
export function setPath(resource: Record<string, any>, p: AttrPath, value: unknown, adoptLone = false) {
  const c = container(resource, p, true)!;
  const key = keyOf(c, p.attr) ?? p.attr;
  if (!p.sub) { c[key] = value; return; }
  if (p.filter) {
    if (!Array.isArray(c[key])) c[key] = [];
    const list: unknown[] = c[key];
    let el: Record<string, any> | undefined = list.find((e): e is Record<string, any> => isObject(e) && sameValue(at(e, p.filter!.attr), p.filter!.value));
    if (!el && adoptLone && list.length === 1 && isObject(list[0]) && keyOf(list[0], p.filter.attr) === undefined) el = list[0];
    if (el) el[keyOf(el, p.filter.attr) ?? p.filter.attr] ??= p.filter.value;
    else list.push(el = { [p.filter.attr]: p.filter.value });
    el[keyOf(el, p.sub) ?? p.sub] = value;
    return;
  }
  if (!isObject(c[key])) c[key] = {};
  c[key][keyOf(c[key], p.sub) ?? p.sub] = value;
}

export function removePath(resource: Record<string, any>, p: AttrPath) {
  const c = container(resource, p, false);
  const key = c && keyOf(c, p.attr);
  if (!c || !key) return;
  if (!p.sub) { delete c[key]; return; }
  const target = p.filter ? element(c[key], p.filter) : c[key];
  const sub = isObject(target) ? keyOf(target, p.sub) : undefined;
  if (sub) delete target![sub];
}
