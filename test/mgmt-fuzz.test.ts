import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { managementRoutes } from '../src/management/index.ts';
import { startServer, type TestServer } from './helpers/server.ts';

// Every property of every implemented write operation's request schema, and
// every query parameter of every read, set in turn to values of the wrong shape
// (null, empty, huge, negative, nested, NUL, broken search syntax, forged
// checkpoints), on real resources. Each answer is a success or a 4xx in Auth0's
// error shape, never a 5xx, and the resources written to stay readable.

let s: TestServer;
let token: string;
const ids: Record<string, string> = {};

before(async () => {
  s = await startServer(['--rate-limit', '1000000']);
  token = await s.token();
  const make = async (path: string, body: unknown, key = 'id') => {
    const r = await s.api('POST', path, { token, body });
    assert.ok(r.status === 200 || r.status === 201, `POST ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body[key] as string;
  };
  ids.clients = await make('/clients', { name: 'fuzz', app_type: 'regular_web' }, 'client_id');
  ids['resource-servers'] = await make('/resource-servers', { name: 'fuzz', identifier: 'https://fuzz.example/', scopes: [{ value: 'read:x' }] });
  ids.connections = await make('/connections', { name: 'fuzz-db', strategy: 'auth0' });
  ids.users = await make('/users', { connection: 'Username-Password-Authentication', email: 'fuzz@example.com', password: 'Fuzz-password-1!' }, 'user_id');
  ids.roles = await make('/roles', { name: 'fuzz' });
  ids.organizations = await make('/organizations', { name: 'fuzz-org' });
  ids['client-grants'] = await make('/client-grants', { client_id: ids.clients, audience: 'https://fuzz.example/', scope: ['read:x'] });
});
after(async () => { await s?.close(); });

const spec = JSON.parse(readFileSync(new URL('../data/auth0/management-api.json', import.meta.url), 'utf8'));
const deref = (x: any): any => (x?.$ref ? deref(spec.components.schemas[x.$ref.split('/').pop()]) : x);
const bodyProperties = (path: string, method: string): string[] =>
  Object.keys(deref(spec.paths[path]?.[method.toLowerCase()]?.requestBody?.content?.['application/json']?.schema)?.properties ?? {});
const queryParameters = (path: string): string[] =>
  (spec.paths[path]?.get?.parameters ?? []).filter((p: any) => p.in === 'query').map((p: any) => p.name);

/** Path parameters filled with the resources made above (the first segment names the resource). */
const concrete = (path: string) => path.replace(/\{(\w+)\}/g, (_, name) => {
  const id = name === 'id' ? ids[path.split('/')[1]] : name === 'user_id' ? ids.users : undefined;
  return encodeURIComponent(id ?? 'unknown');
});

/** What a create needs besides the property under test, so the request reaches past the required-field check. */
const createBase = (path: string): Record<string, unknown> => {
  const n = Math.random().toString(36).slice(2, 10);
  return ({
    '/clients': { name: 'b' }, '/resource-servers': { identifier: `https://b-${n}.example/`, name: 'b' },
    '/connections': { name: `b-${n}`, strategy: 'auth0' }, '/roles': { name: `b-${n}` }, '/organizations': { name: `b-${n}` },
    '/users': { connection: 'Username-Password-Authentication', email: `b-${n}@example.com`, password: 'Fuzz-password-1!' },
    '/client-grants': { client_id: ids.clients, audience: 'https://fuzz.example/', scope: [] },
  } as Record<string, Record<string, unknown>>)[path] ?? {};
};

const WRONG: unknown[] = [
  null, '', 'x'.repeat(3000), -1, 0, 1.5, 1e308, true, [], [null], [{}], {}, { a: { b: [1] } }, '\u0000', 'a\u0000b',
  { k: '\u0000' }, 'auth0|x', ['a', 1], [[]], '2026-13-45T99:99:99Z', 'not a url', 'https://a.example/b?c#d',
];

/** A 4xx must carry Auth0's error shape; a 5xx is always a failure. */
function judge(r: { status: number; body: any }, what: string, failures: string[]) {
  const shaped = r.status < 400 || (r.body?.statusCode === r.status && typeof r.body.message === 'string' && typeof r.body.errorCode === 'string');
  if (r.status >= 500 || !shaped) failures.push(`${what} → ${r.status} ${JSON.stringify(r.body).slice(0, 160)}`);
}

test('wrong-shaped values in every body property are answered without a 5xx, in the error shape', async () => {
  const failures: string[] = [];
  let calls = 0;
  for (const { op } of managementRoutes) {
    if (!['POST', 'PATCH', 'PUT'].includes(op.method)) continue;
    const path = concrete(op.path);
    for (const property of bodyProperties(op.path, op.method)) {
      for (const value of WRONG) {
        const body = { ...(op.method === 'POST' ? createBase(op.path) : {}), [property]: value };
        const r = await s.api(op.method, path, { token, body });
        calls++;
        judge(r, `${op.method} ${op.path} ${property}=${JSON.stringify(value).slice(0, 30)}`, failures);
      }
    }
  }
  assert.ok(calls > 500, `only ${calls} requests were made: the spec lookup found too few properties`);
  assert.deepEqual(failures, []);
  for (const path of [`/clients/${ids.clients}`, `/roles/${ids.roles}`, `/organizations/${ids.organizations}`, `/users/${encodeURIComponent(ids.users)}`, `/connections/${ids.connections}`]) {
    const r = await s.api('GET', path, { token });
    assert.equal(r.status, 200, `GET ${path} after the fuzz: ${JSON.stringify(r.body)}`);
  }
});

const checkpoint = (text: string) => Buffer.from(text).toString('base64url');
const QUERY_VALUES = [
  '', 'abc', '-1', '1e9', '99999999999999999999', 'null', '[]', '%ZZ', '*', '"', '(((', 'a:', 'email:"x', '\\', 'a OR', 'NOT',
  'created_at:[a TO b]', 'created_at:{* TO *}', '_exists_:', 'app_metadata.:1', 'user_metadata.a.b.c.d:1', 'email:/re/', 'email:a~2',
  'logins_count:[1 TO x]', 'name:1,email:-1', ',,,', 'x'.repeat(5000),
  checkpoint('o:99999999999999999999'), checkpoint('k:\u0000'), checkpoint('u:x'), checkpoint('o:-1'), checkpoint('k:' + 'z'.repeat(3000)),
];
const PAGING = ['page', 'per_page', 'include_totals', 'fields', 'include_fields', 'from', 'take', 'sort', 'q'];

test('wrong-shaped values in every query parameter of every read are answered without a 5xx, in the error shape', async () => {
  const failures: string[] = [];
  let calls = 0;
  for (const { op } of managementRoutes) {
    if (op.method !== 'GET') continue;
    for (const name of new Set([...queryParameters(op.path), ...PAGING])) {
      for (const value of QUERY_VALUES) {
        const r = await s.api('GET', `${concrete(op.path)}?${name}=${encodeURIComponent(value)}`, { token });
        calls++;
        judge(r, `GET ${op.path}?${name}=${value.slice(0, 30)}`, failures);
      }
    }
  }
  assert.ok(calls > 1000, `only ${calls} requests were made`);
  assert.deepEqual(failures, []);
});
