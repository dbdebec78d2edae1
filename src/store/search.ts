// Auth0's Lucene query syntax (user search v3, log search) compiled to a Kysely
// WHERE expression. The `lucene` package does the parsing; this file only walks
// its AST, and a SearchSchema says what each field name means for one table
// (user-search.ts, log-search.ts). User text reaches SQL solely as bound
// parameters: column names, JSON operators and comparison operators all come
// from constant tables.
import lucene from 'lucene';
import { sql, type Expression, type ExpressionBuilder, type RawBuilder, type SqlBool } from 'kysely';
import { invalidQuery } from '../lib/errors.ts';

export type Backend = 'sqlite' | 'postgres';
type EB = ExpressionBuilder<any, any>;
type Build = (eb: EB) => Expression<SqlBool>;
type Pred = RawBuilder<SqlBool>;
/** How a field compares: ci = case-insensitive text, email = against the lower-cased email_norm. */
export type Kind = 'text' | 'ci' | 'email' | 'bool' | 'int' | 'date';
/** `wrap` turns a test on one element into a test on a row (fields inside JSON arrays). */
export interface Field { kind: Kind; expr: RawBuilder<unknown>; wrap?: (p: Pred) => Pred }
/** What the field names of one table mean. `bare` are the fields a term without a field is matched against. */
export interface SearchSchema { backend: Backend; resolve(name: string): Field; bare: string[] }

const MAX_QUERY = 2048;
const MAX_DEPTH = 32; // nested parentheses; keeps the generated SQL within PostgreSQL's stack depth
const MIN_WILDCARD_CHARS = 3; // Auth0 rejects shorter wildcard terms
const DAY = 86_400_000;
export const fail = (msg: string) => invalidQuery(`Invalid query: ${msg}`);

const TRUE: Pred = sql<SqlBool>`(1 = 1)`;
const CMP = {
  '=': (a: unknown, b: unknown) => sql<SqlBool>`${a} = ${b}`,
  '>': (a: unknown, b: unknown) => sql<SqlBool>`${a} > ${b}`,
  '>=': (a: unknown, b: unknown) => sql<SqlBool>`${a} >= ${b}`,
  '<': (a: unknown, b: unknown) => sql<SqlBool>`${a} < ${b}`,
  '<=': (a: unknown, b: unknown) => sql<SqlBool>`${a} <= ${b}`,
};
type Op = keyof typeof CMP;

/** Wraps a comparison so NULL columns yield false (not NULL) and NOT therefore matches them. */
const guarded = (f: Field, p: Pred) => {
  const q = sql<SqlBool>`(${f.expr} is not null and ${p})`;
  return f.wrap ? f.wrap(q) : q;
};
const exists = (f: Field) => (f.wrap ? f.wrap(sql<SqlBool>`(${f.expr} is not null)`) : sql<SqlBool>`(${f.expr} is not null)`);

const STAR = Symbol('*');
type Part = string | typeof STAR;
/** Unescapes a term; in unquoted terms an unescaped `*` is a wildcard (`?` is kept literal, as Auth0 has no `?` wildcard). */
function parts(raw: string, quoted: boolean): Part[] {
  const out: Part[] = [];
  for (let i = 0; i < raw.length; i++) {
    let c: Part = raw[i];
    if (c === '\\' && i + 1 < raw.length) c = raw[++i];
    else if (c === '*' && !quoted) c = STAR;
    const last = out[out.length - 1];
    if (c !== STAR && typeof last === 'string') out[out.length - 1] = last + c;
    else out.push(c);
  }
  return out;
}
const literal = (ps: Part[]) => ps.filter((p): p is string => p !== STAR).join('');
/** LIKE pattern with the user's text escaped; wildcards are case-insensitive on every backend. */
const like = (expr: unknown, ps: Part[]) => {
  const pattern = ps.map((p) => (p === STAR ? '%' : p.replace(/[\\%_]/g, '\\$&'))).join('');
  return sql<SqlBool>`lower(${expr}) like lower(${pattern}) escape '\\'`;
};
/** The smallest string above every string that starts with `p` (code point order), if any. */
function prefixEnd(p: string): string | undefined {
  const cps = [...p];
  while (cps.length) {
    let next = cps.pop()!.codePointAt(0)! + 1;
    if (next === 0xd800) next = 0xe000; // surrogates are not characters
    if (next <= 0x10ffff) return cps.join('') + String.fromCodePoint(next);
  }
  return undefined;
}
/**
 * `email_norm` (already lower-case) as an index range for `email:prefix*`, ANDed before
 * the LIKE, which stays as the exact test. Only when the prefix's lower-casing is the
 * same in JavaScript and in both databases' lower() (no non-ASCII capitals), so the
 * range never drops a row the LIKE would keep. Ranges compare in code point order:
 * SQLite's BINARY collation does; PostgreSQL needs COLLATE "C" (and the matching index).
 */
function emailPrefixRange(expr: unknown, prefix: string, backend: Backend): Pred | undefined {
  const lower = prefix.replace(/[A-Z]+/g, (c) => c.toLowerCase());
  if (lower.toLowerCase() !== lower || /\p{Cs}/u.test(lower) || lower.includes('\0')) return undefined;
  const col = backend === 'postgres' ? sql`${expr} collate "C"` : expr;
  const end = prefixEnd(lower);
  return end === undefined ? sql<SqlBool>`${col} >= ${lower}` : sql<SqlBool>`(${col} >= ${lower} and ${col} < ${end})`;
}
const checkWildcard = (ps: Part[]) => {
  if (literal(ps).length < MIN_WILDCARD_CHARS) throw fail(`wildcard terms need at least ${MIN_WILDCARD_CHARS} characters`);
};

/**
 * RFC 3339 timestamp (0–9 fractional digits, offset optional and then UTC) or a bare date.
 * Returns the instant truncated to milliseconds, whether digits beyond the millisecond
 * were non-zero, and whether it was a bare date (which then stands for the whole UTC day).
 */
function parseDate(s: string): { ms: number; sub: boolean; day: boolean } {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|([+-])(\d{2}):(\d{2}))?)?$/.exec(s);
  if (!m) throw fail(`invalid date "${s}"`);
  const [y, mo, d, h = 0, mi = 0, sec = 0] = m.slice(1, 7).map((v) => (v === undefined ? undefined : Number(v))) as number[];
  const frac = m[7] ?? '';
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d); // not Date.UTC, which maps years 0–99 to 1900–1999
  date.setUTCHours(h, mi, sec, Number(frac.slice(0, 3).padEnd(3, '0')));
  const offH = Number(m[10] ?? 0), offM = Number(m[11] ?? 0);
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d
    || h > 23 || mi > 59 || sec > 59 || offH > 23 || offM > 59) throw fail(`invalid date "${s}"`);
  const ms = date.getTime() - (m[9] === '-' ? -1 : 1) * (offH * 60 + offM) * 60_000;
  return { ms, sub: /[1-9]/.test(frac.slice(3)), day: m[4] === undefined };
}
/** The column's own format (`toISOString()`, always 24 chars), so text order is time order. */
function iso(ms: number): string {
  const s = new Date(ms).toISOString();
  if (s.length !== 24) throw fail('date out of range');
  return s;
}
/**
 * One date bound as a comparison against millisecond-precision text. A bound with
 * sub-millisecond digits lies strictly between two representable values, so `>= .123456`
 * becomes `> .123` and `< .123456` becomes `<= .123`.
 */
function dateBound(s: string, side: 'min' | 'max', inclusive: boolean): [Op, string] {
  const { ms, sub, day } = parseDate(s);
  if (day) return side === 'min' ? ['>=', iso(inclusive ? ms : ms + DAY)] : ['<', iso(inclusive ? ms + DAY : ms)];
  if (side === 'min') return [inclusive && !sub ? '>=' : '>', iso(ms)];
  return [inclusive || sub ? '<=' : '<', iso(ms)];
}
function int(s: string): number {
  if (!/^-?\d{1,15}$/.test(s)) throw fail(`"${s}" is not an integer`);
  return Number(s);
}

function range(f: Field, name: string, min: string, max: string, incMin: boolean, incMax: boolean): Pred {
  const conds: Pred[] = [];
  for (const [v, side, inc] of [[min, 'min', incMin], [max, 'max', incMax]] as const) {
    if (v === '*') continue; // open bound
    if (f.kind === 'date') { const [op, b] = dateBound(v, side, inc); conds.push(CMP[op](f.expr, b)); }
    else if (f.kind === 'int') conds.push(CMP[side === 'min' ? (inc ? '>=' : '>') : (inc ? '<=' : '<')](f.expr, int(v)));
    else throw fail(`range queries are not supported on field "${name}"`);
  }
  return conds.length ? guarded(f, sql<SqlBool>`(${sql.join(conds, sql` and `)})`) : exists(f);
}

function term(f: Field, name: string, ps: Part[], s: SearchSchema): Pred {
  if (ps.length === 1 && ps[0] === STAR) return exists(f); // `field:*` = has any value
  if (ps.includes(STAR)) {
    if (f.kind === 'bool' || f.kind === 'int') throw fail(`wildcards are not supported on field "${name}"`);
    checkWildcard(ps);
    const range = f.kind === 'email' && ps.length === 2 && typeof ps[0] === 'string' ? emailPrefixRange(f.expr, ps[0], s.backend) : undefined;
    return guarded(f, range ? sql<SqlBool>`(${range} and ${like(f.expr, ps)})` : like(f.expr, ps));
  }
  const v = literal(ps);
  switch (f.kind) {
    case 'email': return guarded(f, CMP['='](f.expr, v.toLowerCase())); // email_norm is email.toLowerCase()
    case 'ci': return guarded(f, sql<SqlBool>`lower(${f.expr}) = lower(${v})`);
    case 'bool': {
      if (!/^(true|false)$/i.test(v)) throw fail(`field "${name}" must be true or false`);
      return guarded(f, CMP['='](f.expr, /^true$/i.test(v) ? 1 : 0));
    }
    case 'int': return guarded(f, CMP['='](f.expr, int(v)));
    case 'date': return range(f, name, v, v, true, true); // a date matches its day, a timestamp its instant
    default: return guarded(f, CMP['='](f.expr, v));
  }
}

/** A term with no field: case-insensitive substring (or the given wildcard pattern) over the schema's bare fields. */
function bare(ps: Part[], s: SearchSchema): Pred {
  if (ps.length === 1 && ps[0] === STAR) return TRUE;
  if (ps.includes(STAR)) checkWildcard(ps);
  const pattern: Part[] = ps.includes(STAR) ? ps : [STAR, ...ps, STAR];
  const alts = s.bare.map((n) => { const f = s.resolve(n); return guarded(f, like(f.expr, pattern)); });
  return sql<SqlBool>`(${sql.join(alts, sql` or `)})`;
}

/**
 * The field a node names, else the enclosing group's. The grammar reads `-name:x` as a
 * field called "-name", so a leading -, ! or + on the field is the clause's prefix.
 */
function fieldOf(n: any, dflt: string | undefined): { name: string | undefined; neg: boolean } {
  if (!n.field || n.field === '<implicit>') return { name: dflt, neg: false };
  const m = /^([-!+]?)(.*)$/s.exec(n.field)!;
  return { name: m[2], neg: m[1] === '-' || m[1] === '!' };
}

function leaf(n: any, dflt: string | undefined, s: SearchSchema): Build {
  const { name, neg: fieldNeg } = fieldOf(n, dflt);
  let p: Pred;
  if ('term_min' in n) {
    if (!name) throw fail('range queries need a field');
    p = range(s.resolve(name), name, n.term_min, n.term_max, n.inclusive === 'both' || n.inclusive === 'left', n.inclusive === 'both' || n.inclusive === 'right');
  } else {
    if (n.regex) throw fail('regular expressions are not supported');
    if (n.similarity != null) throw fail('fuzzy queries are not supported');
    if (n.proximity != null) throw fail('proximity queries are not supported');
    const ps = parts(String(n.term), !!n.quoted);
    if (name === '_exists_') p = exists(s.resolve(literal(ps)));
    else p = name ? term(s.resolve(name), name, ps, s) : bare(ps, s);
  }
  const neg = fieldNeg !== (n.prefix === '-' || n.prefix === '!'); // `+` (required) is a no-op when clauses are ANDed
  return neg ? (eb) => eb.not(p) : () => p;
}

const not = (b: Build): Build => (eb) => eb.not(b(eb));
function startNegates(start: string | undefined): boolean {
  if (start === undefined) return false;
  if (/NOT$/.test(start)) return true;
  throw fail(`unexpected "${start}"`); // a query may not begin with AND / OR
}

/**
 * The parser nests `a AND b OR c` to the right without precedence; flatten each chain
 * and regroup it so NOT binds tightest, then AND, then OR, as in boolean logic.
 */
function node(n: any, dflt: string | undefined, s: SearchSchema, depth: number): Build {
  if (depth > MAX_DEPTH) throw fail('too deeply nested');
  if ('term' in n || 'term_min' in n) return leaf(n, dflt, s);
  if (!n.left) throw fail('incomplete expression');
  const { name: field, neg } = fieldOf(n, dflt); // field group: `email:(a OR b)`, `-email:(a OR b)`
  const items: Array<{ b: Build; op?: string }> = [];
  for (let cur = n, op: string | undefined; ;) {
    const b = node(cur.left, field, s, depth + 1);
    items.push({ b: startNegates(cur.start) ? not(b) : b, op });
    if (!cur.right) break;
    op = cur.operator;
    if (cur.right.left && !cur.right.parenthesized) { cur = cur.right; continue; } // chain continues
    items.push({ b: node(cur.right, field, s, depth + 1), op });
    break;
  }
  const groups: Build[][] = [[]];
  for (const { b, op } of items) {
    // Implicit operator (`a b`) is AND, not Lucene's OR: narrowing is what callers of "a b" mean and is the safer default.
    if (op !== undefined && !['AND', '&&', '<implicit>', 'NOT', 'AND NOT', 'OR', '||', 'OR NOT'].includes(op)) throw fail(`unknown operator "${op}"`);
    if (op === 'OR' || op === '||' || op === 'OR NOT') groups.push([]);
    groups[groups.length - 1].push(op?.endsWith('NOT') ? not(b) : b); // `a NOT b` = `a AND NOT b`
  }
  const ands: Build[] = groups.map((g) => (g.length === 1 ? g[0] : (eb) => eb.and(g.map((b) => b(eb)))));
  const all = ands.length === 1 ? ands[0] : (eb: EB) => eb.or(ands.map((b) => b(eb)));
  return neg ? not(all) : all;
}


/**
 * A JSON document column's value at `keys` as text, the same on both backends:
 * SQLite's json_extract gives true/false as 1/0 and numbers as numbers, so it
 * renders what PostgreSQL's #>> does, and `active:true` and `level:3` match on both.
 */
export function jsonText(doc: RawBuilder<unknown>, keys: string[], backend: Backend): Field {
  if (!keys.every((k) => /^[A-Za-z0-9_-]+$/.test(k))) throw fail(`invalid field path "${keys.join('.')}"`);
  if (backend === 'postgres') return { kind: 'text', expr: sql`(${doc}::jsonb #>> cast(${keys} as text[]))` };
  const path = '$' + keys.map((k) => `."${k}"`).join(''); // keys are validated above and still bound
  return { kind: 'text', expr: sql`(case json_type(${doc}, ${path}) when 'true' then 'true' when 'false' then 'false' else cast(json_extract(${doc}, ${path}) as text) end)` };
}

/**
 * Compiles a Lucene query into a predicate over the schema's table. Everything is
 * validated here, eagerly, so a bad query throws 400 invalid_query_string before any SQL is built.
 */
export function compileSearch(q: string, s: SearchSchema): (eb: EB) => Expression<SqlBool> {
  if (q.length > MAX_QUERY) throw fail(`query is longer than ${MAX_QUERY} characters`);
  let ast: any;
  try { ast = lucene.parse(q); } catch (e) {
    throw fail(e instanceof Error && e.name === 'SyntaxError' ? e.message : 'could not parse query');
  }
  if (!ast || (!ast.left && !ast.operator)) return () => TRUE; // an empty query matches every row
  return node(ast, undefined, s, 0);
}
