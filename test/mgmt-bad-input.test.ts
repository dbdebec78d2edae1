import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { managementRoutes } from '../src/management/index.ts';
import { startServer, type TestServer } from './helpers/server.ts';

// Every bad-input class against every registered route, with a fully scoped
// token: malformed JSON, bodies of the wrong JSON type, unknown ids and
// malformed paging. Each must be a 4xx in Auth0's error shape; none may be 5xx.

let s: TestServer;
let token: string;
before(async () => { s = await startServer(); token = await s.token(); });
after(async () => { await s?.close(); });

const concrete = (path: string) => path.replace(/\{(\w+)\}/g, (_, n) => (n === 'id' && path.startsWith('/users') ? 'auth0%7C000000000000000000000000' : `unknown-${n}`));

async function call(method: string, path: string, body?: string, contentType = 'application/json') {
  const r = await fetch(`${s.baseUrl}/api/v2${path}`, {
    method, headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': contentType } : {}) }, body,
  });
  const text = await r.text();
  let json: any;
  try { json = JSON.parse(text); } catch { json = text; }
  return { status: r.status, body: json };
}

function assertShape(r: { status: number; body: any }, what: string) {
  assert.ok(r.status >= 400 && r.status < 500, `${what}: ${r.status} ${JSON.stringify(r.body)}`);
  assert.equal(r.body?.statusCode, r.status, what);
  assert.equal(typeof r.body.error, 'string', what);
  assert.equal(typeof r.body.message, 'string', what);
  assert.equal(typeof r.body.errorCode, 'string', `${what}: errorCode in ${JSON.stringify(r.body)}`);
}

const withBody = managementRoutes.filter(({ op }) => ['POST', 'PUT', 'PATCH'].includes(op.method));

for (const { op } of withBody) {
  test(`${op.method} ${op.path}: malformed JSON and wrong JSON types are 400`, async () => {
    const path = concrete(op.path);
    const bad = await call(op.method, path, '{"a": ');
    assert.deepEqual(bad.body, { statusCode: 400, error: 'Bad Request', message: 'Invalid request payload JSON format', errorCode: 'invalid_body' }, `${op.method} ${op.path}`);
    for (const payload of ['"a string"', '42', 'true', '{"__proto__": {"x": 1}, "constructor": 5}']) {
      const r = await call(op.method, path, payload);
      if (r.status < 400) continue; // some operations take no body, or accept any object
      assertShape(r, `${op.method} ${op.path} with ${payload}`);
    }
  });
}

test('a JSON body on DELETE is accepted and malformed JSON on DELETE is still a 400', async () => {
  const c = await s.api('POST', '/clients', { body: { name: 'delete me' } });
  const del = await call('DELETE', `/clients/${c.body.client_id}`, '{"reason": "cleanup"}');
  assert.equal(del.status, 204);
  const bad = await call('DELETE', '/clients/whatever', '{nope');
  assert.equal(bad.status, 400);
  assert.equal(bad.body.message, 'Invalid request payload JSON format');
});

for (const { op } of managementRoutes.filter(({ op }) => /\{\w+\}/.test(op.path))) {
  test(`${op.method} ${op.path}: unknown ids are a 4xx, never 5xx`, async () => {
    const r = await call(op.method, concrete(op.path), ['POST', 'PUT', 'PATCH'].includes(op.method) ? '{}' : undefined);
    if (op.method === 'DELETE' && (r.status === 204 || r.status === 202)) return; // idempotent deletes (users, sessions, ...)
    assertShape(r, `${op.method} ${op.path}`);
    // A GET of one missing resource is precisely 404.
    if (op.method === 'GET' && /\{\w+\}$/.test(op.path)) assert.equal(r.status, 404, `${op.path}: ${JSON.stringify(r.body)}`);
  });
}

const lists = managementRoutes.filter(({ op }) => op.method === 'GET' && !/\{\w+\}$/.test(op.path));
for (const { op } of lists) {
  test(`GET ${op.path}: malformed paging parameters are 400`, async () => {
    const path = concrete(op.path);
    for (const q of ['per_page=abc', 'per_page=101', 'page=-1', 'include_totals=maybe', 'take=0', 'take=1000']) {
      const r = await call('GET', `${path}?${q}`);
      if (r.status === 200) {
        // Operations that do not page must at least not choke on the parameter.
        continue;
      }
      assertShape(r, `GET ${op.path}?${q}`);
      assert.equal(r.status, r.status === 404 ? 404 : 400, `GET ${op.path}?${q}`);
    }
  });
}

test('paging limits on the paged core resources are enforced exactly', async () => {
  for (const path of ['/clients', '/resource-servers', '/client-grants', '/connections', '/users']) {
    for (const q of ['per_page=abc', 'per_page=101', 'page=-1']) {
      const r = await call('GET', `${path}?${q}`);
      assert.equal(r.status, 400, `${path}?${q}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.errorCode, 'invalid_query_string');
    }
    assert.equal((await call('GET', `${path}?per_page=100&page=0`)).status, 200);
  }
});

test('percent-encoded ids are decoded', async () => {
  const u = await s.api('POST', '/users', { body: { connection: 'Username-Password-Authentication', email: 'enc@example.com', password: 'Enc0ded-Passw0rd!' } });
  assert.equal(u.status, 201);
  const id = u.body.user_id as string;
  for (const form of [encodeURIComponent(id), id.replace('|', '%7c'), id]) {
    const r = await call('GET', `/users/${form}`);
    assert.equal(r.status, 200, form);
    assert.equal(r.body.user_id, id);
  }
  const p = await call('PATCH', `/users/${encodeURIComponent(id)}`, JSON.stringify({ name: 'Encoded' }));
  assert.equal(p.body.name, 'Encoded');
  const bad = await call('GET', '/users/%E0%A4%A');
  assert.ok(bad.status >= 400 && bad.status < 500, `malformed escape: ${bad.status}`);
});

test('a body over 1 MB is refused in the error shape, and the server keeps answering', async () => {
  const big = JSON.stringify({ email: 'big@example.com', connection: 'Username-Password-Authentication', password: 'x', user_metadata: { pad: 'x'.repeat(1_100_000) } });
  const r = await call('POST', '/users', big);
  assert.equal(r.status, 413, JSON.stringify(r.body).slice(0, 200));
  assertShape(r, 'oversized body');
  assert.equal(r.body.errorCode, 'payload_too_large');
  const after = await call('GET', '/users?q=email:"big@example.com"&search_engine=v3');
  assert.equal(after.status, 200);
  assert.deepEqual(after.body, [], 'nothing was created from the refused body');
  const form = await fetch(`${s.baseUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=client_credentials&pad=${'x'.repeat(1_100_000)}` });
  assert.equal(form.status, 400);
  assert.equal((await form.json() as any).error, 'invalid_request');
});
