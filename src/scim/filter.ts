import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import { parse, type Filter } from 'scim2-parse-filter';
import type { Database } from '../store/schema.ts';
import { jsonText, type Backend } from '../store/search.ts';
import { federatedUserId } from '../tenant/federated-users.ts';
import { invalidFilter, ScimError } from './errors.ts';
import type { Mapped } from './mapping.ts';
import type { Applied } from './resource.ts';
import { parsePath, pathKey, type AttrPath } from './paths.ts';

// SCIM filters (RFC 7644 §3.4.2.2) as a predicate on the users table, for the
// operators Auth0 supports: `eq`, `and`, `or`. scim2-parse-filter parses; this
// file resolves each attribute through the mapping to the column or metadata
// path that holds it, and refuses anything else with 400 invalidFilter rather
// than matching it loosely. Values reach SQL only as bound parameters.

type EB = ExpressionBuilder<Database, 'users'>;
export type Predicate = (eb: EB) => Expression<SqlBool>;

const MAX_FILTER = 2048;
const MAX_TERMS = 50;

/** Case-insensitive columns: the SCIM attributes usually mapped to them (userName, names) are caseExact=false. */
const CI = new Set(['username', 'name', 'nickname', 'given_name', 'family_name']);

export function compileFilter(a: Applied, backend: Backend, text: string): Predicate {
  if (text.length > MAX_FILTER) throw invalidFilter(`The filter is longer than ${MAX_FILTER} characters`);
  let ast: Filter;
  try { ast = parse(text); } catch { throw invalidFilter(`The filter ${JSON.stringify(text)} could not be parsed`); }
  let terms = 0;
  const walk = (f: Filter, scope?: string): Predicate => {
    if (++terms > MAX_TERMS) throw invalidFilter(`The filter has more than ${MAX_TERMS} terms`);
    switch (f.op) {
      case 'and': case 'or': {
        const parts = f.filters.map((x) => walk(x, scope));
        return (eb) => (f.op === 'and' ? eb.and(parts.map((p) => p(eb))) : eb.or(parts.map((p) => p(eb))));
      }
      case '[]': return walk(f.valFilter, f.attrPath);
      case 'eq': return eq(a, backend, scope ? `${scope}.${f.attrPath}` : f.attrPath, f.compValue);
      default: throw invalidFilter(`The operator ${JSON.stringify(f.op)} is not supported; use eq, and, or`);
    }
  };
  return walk(ast);
}

// A literal comparison: better-sqlite3 cannot bind a boolean, and both backends read this alike.
const never: Predicate = (eb) => eb(eb.lit(1) as any, '=', eb.lit(0));

function eq(a: Applied, backend: Backend, attrPath: string, value: unknown): Predicate {
  const path = parsePath(attrPath);
  if (!path) throw invalidFilter(`The attribute ${JSON.stringify(attrPath)} is not supported in filters`);
  const name = pathKey(path, false);
  const qualified = qualifiedBy(a, path, value);
  if (qualified) return qualified.length ? anyOf(qualified.map((m) => present(m, backend))) : never;
  if (name === 'active') {
    if (typeof value !== 'boolean') throw invalidFilter('active must be compared with true or false');
    return (eb) => eb('blocked', '=', value ? 0 : 1);
  }
  if (typeof value !== 'string') throw invalidFilter(`${attrPath} must be compared with a string`);
  if (name === 'id') return (eb) => eb('user_id', '=', value);
  const hits = candidates(a.mapped, path).map((m) => column(m, backend, value));
  if (!hits.length && name === pathKey(parsePath(a.userIdAttribute)!, false)) {
    // The naming attribute, unmapped: it is the tail of the user_id.
    return (eb) => eb('user_id', '=', federatedUserId(a.conn, value));
  }
  if (!hits.length) throw invalidFilter(`The attribute ${JSON.stringify(attrPath)} is not mapped for this connection`);
  return anyOf(hits);
}

const anyOf = (ps: Predicate[]): Predicate => (ps.length === 1 ? ps[0] : (eb) => eb.or(ps.map((p) => p(eb))));

/**
 * A qualifier inside brackets (`emails[type eq "work"]`, which the parser
 * splits from the `.value eq` that follows), as the mapped elements it can
 * mean. Postern keeps one value per mapped element, not the element's
 * qualifiers, so: the elements mapped with this qualifier, or, when none of
 * the attribute's elements is qualified by that sub-attribute, all of them
 * (the default mapping's emails are `[primary eq true]`, and Okta asks for
 * `emails[type eq "work"]`). Undefined when the path is no qualifier.
 */
function qualifiedBy(a: Applied, path: AttrPath, value: unknown): Mapped[] | undefined {
  const sub = path.sub?.toLowerCase();
  if (path.filter || (sub !== 'type' && sub !== 'primary')) return undefined;
  const attr = path.attr.toLowerCase();
  const elements = a.mapped.filter((m) => m.path.attr.toLowerCase() === attr && !m.path.schema && m.path.sub);
  const same = elements.filter((m) => m.path.filter?.attr.toLowerCase() === sub);
  if (!same.length) return elements;
  return same.filter((m) => (typeof value === 'string' && typeof m.path.filter!.value === 'string'
    ? value.toLowerCase() === m.path.filter!.value.toLowerCase() : value === m.path.filter!.value));
}

/**
 * The mapped attributes a filter attribute names: `emails.value` (or bare
 * `emails`, whose default sub-attribute is `value`) names every mapped
 * `emails[...].value`.
 */
function candidates(mapped: Mapped[], path: AttrPath): Mapped[] {
  const plain = pathKey(path, false);
  const withValue = pathKey({ ...path, sub: path.sub ?? 'value' }, false);
  return mapped.filter((m) => {
    if ('root' in m.target && m.target.root === 'blocked') return false;
    const k = pathKey(m.path, false);
    return k === plain || (m.path.filter !== undefined && k === withValue);
  });
}

/** The expression that holds a mapped attribute: a column, or a metadata path read as text. */
function holder({ target }: Mapped, backend: Backend) {
  if ('doc' in target) return jsonText(sql.ref(`users.${target.doc}`), target.keys, backend).expr as any;
  return target.root as Exclude<typeof target.root, 'blocked'>;
}

function column(m: Mapped, backend: Backend, value: string): Predicate {
  const col = holder(m, backend);
  if (col === 'email') return (eb) => eb('email_norm', '=', value.toLowerCase());
  if (CI.has(col)) return (eb) => eb(eb.fn('lower', [eb.ref(col)]), '=', eb.fn('lower', [eb.val(value)]));
  return (eb) => eb(col, '=', value);
}

function present(m: Mapped, backend: Backend): Predicate {
  const col = holder(m, backend);
  return (eb) => eb(col, 'is not', null);
}

/** `attr eq value` on its own, or undefined when the connection does not map that attribute. */
export function attributeEquals(a: Applied, backend: Backend, attr: string, value: string): Predicate | undefined {
  try { return eq(a, backend, attr, value); } catch (e) {
    if (e instanceof ScimError) return undefined;
    throw e;
  }
}
