import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { openDb, type Db } from '../src/store/db.ts';
import { migrate } from '../src/store/migrations.ts';
import { Store } from '../src/store/store.ts';
import { addMembers, deleteOrganization, deleteRole, insertOrgConnection, permissionNamesFor, updateOrgConnection } from '../src/store/rbac-store.ts';
import * as groups from '../src/store/group-store.ts';
import * as executions from '../src/store/execution-store.ts';
import type { UserRow } from '../src/store/schema.ts';
import { UniqueViolation } from '../src/lib/errors.ts';
import { adapterFactory } from '../src/oidc/adapter.ts';
import { TEST_ROOT } from './helpers/server.ts';

// The storage conformance suite, in the spirit of Dex's storage/conformance:
// the same assertions against the Store on whichever backend the runner picked
// (SQLite by default, PostgreSQL in an isolated schema when
// POSTERN_TEST_DATABASE_URL is set). No HTTP: this is the contract the layers
// above rely on.

let db: Db;
let a: Store;
let b: Store;
let cleanup: () => Promise<void>;

/** A new, empty database on the selected backend (its own PostgreSQL schema), and how to drop it. */
async function freshDb(): Promise<{ db: Db; cleanup: () => Promise<void> }> {
  const base = process.env.POSTERN_TEST_DATABASE_URL;
  mkdirSync(TEST_ROOT, { recursive: true });
  const dir = mkdtempSync(join(TEST_ROOT, 'store-'));
  let fresh: Db;
  let drop = async () => {};
  if (base) {
    const schema = `conf_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
    const admin = new pg.Client({ connectionString: base });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.end();
    const u = new URL(base);
    u.searchParams.set('options', `-c search_path=${schema}`);
    fresh = await openDb({ databaseUrl: u.toString(), dataDir: dir });
    drop = async () => {
      const d = new pg.Client({ connectionString: base });
      await d.connect();
      await d.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await d.end();
    };
  } else {
    fresh = await openDb({ dataDir: dir });
  }
  return { db: fresh, cleanup: async () => { await fresh.close(); await drop(); rmSync(dir, { recursive: true, force: true }); } };
}

before(async () => {
  ({ db, cleanup } = await freshDb());
  await migrate(db.kysely);
  await migrate(db.kysely); // idempotent
  a = new Store(db, 'tenant-a');
  b = a.withTenant('tenant-b');
  await a.createTenant('a', { friendly_name: 'A' });
  await b.createTenant('b', { friendly_name: 'B' });
});
after(async () => { await cleanup?.(); });

test('the backend is the one the runner selected', () => {
  assert.equal(db.backend, process.env.POSTERN_TEST_DATABASE_URL ? 'postgres' : 'sqlite');
});

describe('tenants', () => {
  test('settings round-trip per tenant; duplicate tenant is a UniqueViolation', async () => {
    assert.deepEqual((await a.getTenant())!.settingsObj, { friendly_name: 'A' });
    await a.modifyTenantSettings(() => ({ friendly_name: 'A2', nested: { x: [1, 2] } }));
    assert.deepEqual((await a.getTenant())!.settingsObj, { friendly_name: 'A2', nested: { x: [1, 2] } });
    assert.deepEqual((await b.getTenant())!.settingsObj, { friendly_name: 'B' });
    await assert.rejects(a.createTenant('a', {}), UniqueViolation);
    assert.equal(await a.withTenant('nobody').getTenant(), undefined);
  });

  test('concurrent settings changes each land (none overwrites another read before it)', async () => {
    await Promise.all(Array.from({ length: 6 }, (_, i) => a.modifyTenantSettings(async (cur: any) => {
      await new Promise((r) => setTimeout(r, 1)); // let the others read the same settings
      return { ...cur, [`f${i}`]: i };
    })));
    const settings = (await a.getTenant())!.settingsObj;
    for (let i = 0; i < 6; i++) assert.equal(settings[`f${i}`], i);
    await a.modifyTenantSettings(() => ({ friendly_name: 'A2', nested: { x: [1, 2] } }));
  });
});

describe('DocRepo', () => {
  test('insert, get, findBy, getMany', async () => {
    const doc = { name: 'one', nested: { list: [1, 'two', null], flag: true }, unicode: 'ünïcødé ✓' };
    const ins = await a.connections.insert('con_1', doc, { name: 'one', strategy: 'auth0' });
    assert.equal(ins.id, 'con_1');
    const got = await a.connections.get('con_1');
    assert.deepEqual(got!.data, doc);
    assert.equal(got!.name, 'one');
    assert.equal(got!.strategy, 'auth0');
    assert.ok(!Number.isNaN(Date.parse(got!.created_at)));
    assert.deepEqual((await a.connections.findBy('name', 'one'))!.id, 'con_1');
    assert.equal(await a.connections.findBy('name', 'nope'), undefined);
    assert.equal(await a.connections.get('nope'), undefined);
    await a.connections.insert('con_2', { name: 'two' }, { name: 'two', strategy: 'google-oauth2' });
    assert.deepEqual((await a.connections.getMany(['con_2', 'con_1', 'missing'])).map((d) => d.id).sort(), ['con_1', 'con_2']);
    assert.deepEqual(await a.connections.getMany([]), []);
  });

  test('list: equality filters, paging, totals, oldest first', async () => {
    for (let i = 0; i < 7; i++) {
      await a.clientGrants.insert(`cgr_${i}`, { i }, { client_id: i % 2 ? 'odd' : 'even', audience: `aud-${i}` });
    }
    const all = await a.clientGrants.list();
    assert.deepEqual(all.items.map((d) => d.id), ['cgr_0', 'cgr_1', 'cgr_2', 'cgr_3', 'cgr_4', 'cgr_5', 'cgr_6']);
    assert.equal(all.total, undefined, 'no count unless asked');
    const odd = await a.clientGrants.list({ client_id: 'odd' }, undefined, { total: true });
    assert.deepEqual(odd.items.map((d) => d.data.i), [1, 3, 5]);
    assert.equal(odd.total, 3);
    const both = await a.clientGrants.list({ client_id: 'even', audience: 'aud-4' });
    assert.deepEqual(both.items.map((d) => d.id), ['cgr_4']);
    const undef = await a.clientGrants.list({ client_id: undefined, audience: 'aud-2' });
    assert.deepEqual(undef.items.map((d) => d.id), ['cgr_2'], 'undefined filters are ignored');
    const page = await a.clientGrants.list({}, { offset: 2, limit: 3 }, { total: true });
    assert.deepEqual(page.items.map((d) => d.id), ['cgr_2', 'cgr_3', 'cgr_4']);
    assert.equal(page.total, 7);
    const past = await a.clientGrants.list({}, { offset: 10, limit: 3 }, { total: true });
    assert.deepEqual(past.items, []);
    assert.equal(past.total, 7);
    const after = await a.clientGrants.list({}, { offset: 0, limit: 2 }, { afterId: 'cgr_4' });
    assert.deepEqual(after.items.map((d) => d.id), ['cgr_5', 'cgr_6']);
  });

  test('update and delete', async () => {
    await a.roles.insert('rol_1', { name: 'r', description: 'd' }, { name: 'r' });
    const before = (await a.roles.get('rol_1'))!;
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(await a.roles.update('rol_1', { name: 'r2', description: 'd2' }, { name: 'r2' }), true);
    const after = (await a.roles.get('rol_1'))!;
    assert.deepEqual(after.data, { name: 'r2', description: 'd2' });
    assert.equal(after.name, 'r2');
    assert.equal(after.created_at, before.created_at);
    assert.ok(after.updated_at > before.updated_at);
    assert.equal(await a.roles.update('rol_missing', { name: 'x' }), false);
    assert.equal(await a.roles.delete('rol_1'), true);
    assert.equal(await a.roles.delete('rol_1'), false);
    assert.equal(await a.roles.get('rol_1'), undefined);
    await a.deleteClient('odd');
    assert.equal((await a.clientGrants.list({ client_id: 'odd' })).items.length, 0);
    assert.equal((await a.clientGrants.list({ client_id: 'even' })).items.length, 4);
  });

  test('modify: concurrent read-modify-writes of one document all land; a missing document is undefined', async () => {
    await a.organizations.insert('org_mod', { name: 'mod', metadata: {} }, { name: 'mod' });
    const saved = await Promise.all(Array.from({ length: 8 }, (_, i) => a.organizations.modify('org_mod', async (doc) => {
      await new Promise((r) => setTimeout(r, 1)); // let the others read the same version
      return { data: { ...doc.data, metadata: { ...doc.data.metadata, [`k${i}`]: String(i) } } };
    })));
    assert.ok(saved.every((d) => d?.data.metadata), 'each call returns what it wrote');
    const doc = (await a.organizations.get('org_mod'))!;
    assert.deepEqual(Object.keys(doc.data.metadata).sort(), ['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7']);
    assert.equal(await a.organizations.modify('org_missing', (d) => ({ data: d.data })), undefined);
    await a.organizations.delete('org_mod');
  });

  test('unique violations surface as UniqueViolation, and leave the row unchanged', async () => {
    await a.resourceServers.insert('rs_1', { identifier: 'https://api/' }, { identifier: 'https://api/' });
    await assert.rejects(a.resourceServers.insert('rs_2', { identifier: 'https://api/' }, { identifier: 'https://api/' }), UniqueViolation);
    await assert.rejects(a.resourceServers.insert('rs_1', { identifier: 'other' }, { identifier: 'other' }), UniqueViolation, 'duplicate primary key');
    await a.resourceServers.insert('rs_3', { identifier: 'https://api3/' }, { identifier: 'https://api3/' });
    await assert.rejects(a.resourceServers.update('rs_3', { identifier: 'https://api/' }, { identifier: 'https://api/' }), UniqueViolation);
    assert.equal((await a.resourceServers.get('rs_3'))!.data.identifier, 'https://api3/');
    await a.clientGrants.insert('cgr_u1', {}, { client_id: 'c', audience: 'x' });
    await assert.rejects(a.clientGrants.insert('cgr_u2', {}, { client_id: 'c', audience: 'x' }), UniqueViolation);
    // The same values in another tenant are fine.
    await b.resourceServers.insert('rs_1', { identifier: 'https://api/' }, { identifier: 'https://api/' });
  });

  test('tenant isolation: another tenant never sees, updates or deletes these rows', async () => {
    await a.organizations.insert('org_1', { name: 'acme' }, { name: 'acme' });
    assert.equal(await b.organizations.get('org_1'), undefined);
    assert.equal(await b.organizations.findBy('name', 'acme'), undefined);
    assert.deepEqual((await b.organizations.list({}, undefined, { total: true })), { items: [], total: 0 });
    assert.deepEqual(await b.organizations.getMany(['org_1']), []);
    assert.equal(await b.organizations.update('org_1', { name: 'hijack' }), false);
    assert.equal(await b.organizations.delete('org_1'), false);
    await deleteOrganization(b, 'org_1');
    assert.deepEqual((await a.organizations.get('org_1'))!.data, { name: 'acme' });
    // b's rs_1 (inserted above) is a different row from a's.
    assert.equal((await b.resourceServers.list()).items.length, 1);
    assert.ok((await a.resourceServers.list()).items.length >= 2);
  });
});

function userRow(id: string, email: string, extra: Partial<UserRow> = {}): Omit<UserRow, 'tenant_id'> {
  const ts = new Date().toISOString();
  return {
    user_id: id, connection: 'db', provider: 'auth0', email, email_norm: email.toLowerCase(), email_verified: 0,
    username: null, phone_number: null, name: email, nickname: null, given_name: null, family_name: null, picture: null,
    blocked: 0, created_at: ts, updated_at: ts, last_login: null, last_ip: null, logins_count: 0,
    app_metadata: '{"plan":"pro"}', user_metadata: '{}', identities: '[]', data: '{}', password_hash: '$2b$10$x', ...extra,
  };
}

describe('users', () => {
  test('insert, get, byEmail (case-insensitive), by connection and email, update', async () => {
    await a.insertUser(userRow('auth0|1', 'Mixed@Case.example'));
    const u = (await a.getUser('auth0|1'))!;
    assert.equal(u.email, 'Mixed@Case.example');
    assert.equal(u.tenant_id, 'tenant-a');
    assert.equal(u.app_metadata, '{"plan":"pro"}');
    assert.equal(u.email_verified, 0);
    assert.equal(typeof u.logins_count, 'number');
    assert.deepEqual((await a.usersByEmail('mixed@case.EXAMPLE')).map((x) => x.user_id), ['auth0|1']);
    assert.equal((await a.userByConnectionEmail('db', 'MIXED@case.example'))!.user_id, 'auth0|1');
    assert.equal(await a.userByConnectionEmail('other', 'mixed@case.example'), undefined);
    assert.equal(await a.updateUser('auth0|1', { name: 'New', logins_count: 3, email_verified: 1 }, u), true);
    const v = (await a.getUser('auth0|1'))!;
    assert.equal(v.name, 'New');
    assert.equal(v.logins_count, 3);
    assert.equal(v.email_verified, 1);
  });

  test('updateUser writes only over the metadata it read: a stale read changes nothing and says so', async () => {
    await a.insertUser(userRow('auth0|cas', 'cas@example.com'));
    const read = (await a.getUser('auth0|cas'))!;
    assert.equal(await a.updateUser('auth0|cas', { app_metadata: '{"first":1}' }, read), true);
    assert.equal(await a.updateUser('auth0|cas', { app_metadata: '{"second":2}', name: 'stale' }, read), false, 'the first write changed app_metadata');
    const now = (await a.getUser('auth0|cas'))!;
    assert.equal(now.app_metadata, '{"first":1}');
    assert.notEqual(now.name, 'stale');
    assert.equal(await a.updateUser('auth0|cas', { app_metadata: '{"second":2}' }, now), true);
    await a.deleteUser('auth0|cas');
  });

  test('recordLogin counts every one of concurrent logins, in this tenant only', async () => {
    await a.insertUser(userRow('auth0|count', 'count@example.com'));
    await b.insertUser(userRow('auth0|count', 'count@example.com'));
    const before = (await a.getUser('auth0|count'))!.logins_count;
    await Promise.all(Array.from({ length: 5 }, (_, i) => a.recordLogin('auth0|count', `2026-01-0${i + 1}T00:00:00.000Z`, `10.0.0.${i}`)));
    const u = (await a.getUser('auth0|count'))!;
    assert.equal(u.logins_count, before + 5);
    assert.match(u.last_login!, /^2026-01-0[1-5]T/);
    assert.match(u.last_ip!, /^10\.0\.0\.[0-4]$/);
    assert.equal((await b.getUser('auth0|count'))!.logins_count, before, "the other tenant's user is untouched");
    await a.deleteUser('auth0|count');
    await b.deleteUser('auth0|count');
  });

  test('unique email per connection is a UniqueViolation; other connection or tenant is fine', async () => {
    await assert.rejects(a.insertUser(userRow('auth0|2', 'mixed@case.example')), UniqueViolation);
    await assert.rejects(a.insertUser(userRow('auth0|1', 'another@example.com')), UniqueViolation, 'duplicate user_id');
    await a.insertUser(userRow('auth0|3', 'mixed@case.example', { connection: 'db2' }));
    await b.insertUser(userRow('auth0|1', 'mixed@case.example'));
    assert.equal((await a.usersByEmail('mixed@case.example')).length, 2);
    assert.equal((await b.usersByEmail('mixed@case.example')).length, 1);
    await a.insertUser(userRow('auth0|4', 'four@example.com'));
    await assert.rejects(a.updateUser('auth0|4', { email: 'Mixed@case.example', email_norm: 'mixed@case.example' }, (await a.getUser('auth0|4'))!), UniqueViolation);
  });

  test('delete cascades to roles, permissions, memberships and sessions, in this tenant only', async () => {
    const t = 'tenant-a';
    const now = new Date().toISOString();
    await db.kysely.insertInto('user_roles').values({ tenant_id: t, user_id: 'auth0|4', role_id: 'rol_x', created_at: now }).execute();
    await db.kysely.insertInto('user_permissions').values({ tenant_id: t, user_id: 'auth0|4', resource_server_identifier: 'api', permission_name: 'p' }).execute();
    await db.kysely.insertInto('organization_members').values({ tenant_id: t, org_id: 'org_1', user_id: 'auth0|4', created_at: now }).execute();
    await db.kysely.insertInto('organization_member_roles').values({ tenant_id: t, org_id: 'org_1', user_id: 'auth0|4', role_id: 'rol_x' }).execute();
    await a.upsertPayload({ model: 'Session', id: 'sess-4', payload: '{}', grant_id: null, uid: 'u4', user_code: null, account_id: 'auth0|4', expires_at: null, consumed_at: null });
    await db.kysely.insertInto('user_roles').values({ tenant_id: 'tenant-b', user_id: 'auth0|4', role_id: 'rol_x', created_at: now }).execute();

    assert.equal(await a.deleteUser('auth0|4'), true);
    assert.equal(await a.getUser('auth0|4'), undefined);
    for (const table of ['user_roles', 'user_permissions', 'organization_members', 'organization_member_roles'] as const) {
      const rows = await db.kysely.selectFrom(table).selectAll().where('tenant_id', '=', t).where('user_id', '=', 'auth0|4').execute();
      assert.deepEqual(rows, [], table);
    }
    assert.equal(await a.findPayload('Session', 'id', 'sess-4'), undefined);
    const other = await db.kysely.selectFrom('user_roles').selectAll().where('tenant_id', '=', 'tenant-b').execute();
    assert.equal(other.length, 1, "another tenant's rows stay");
    assert.equal(await a.deleteUser('auth0|4'), false);
    assert.equal((await b.getUser('auth0|1'))!.tenant_id, 'tenant-b');
  });

  test('deleteConnection removes the connection, its users with their rows, and organization links, in this tenant only', async () => {
    const now = new Date().toISOString();
    await a.connections.insert('con_gone', { name: 'gone', strategy: 'auth0' }, { name: 'gone', strategy: 'auth0' });
    await a.insertUser(userRow('auth0|g1', 'g1@example.com', { connection: 'gone' }));
    await a.insertUser(userRow('auth0|g2', 'g2@example.com', { connection: 'gone' }));
    await b.insertUser(userRow('auth0|g1', 'g1@example.com', { connection: 'gone' }));
    await db.kysely.insertInto('user_roles').values({ tenant_id: 'tenant-a', user_id: 'auth0|g1', role_id: 'rol_x', created_at: now }).execute();
    await db.kysely.insertInto('organization_connections').values({ tenant_id: 'tenant-a', org_id: 'org_1', connection_id: 'con_gone', data: '{}' }).execute();
    await a.upsertPayload({ model: 'Session', id: 'sess-g2', payload: '{}', grant_id: null, uid: 'ug2', user_code: null, account_id: 'auth0|g2', expires_at: null, consumed_at: null });

    assert.equal(await a.deleteConnection('con_gone', 'gone'), true);
    assert.equal(await a.connections.get('con_gone'), undefined);
    assert.equal(await a.getUser('auth0|g1'), undefined);
    assert.equal(await a.getUser('auth0|g2'), undefined);
    assert.deepEqual(await db.kysely.selectFrom('user_roles').selectAll().where('tenant_id', '=', 'tenant-a').where('user_id', '=', 'auth0|g1').execute(), []);
    assert.deepEqual(await db.kysely.selectFrom('organization_connections').selectAll().where('tenant_id', '=', 'tenant-a').where('connection_id', '=', 'con_gone').execute(), []);
    assert.equal(await a.findPayload('Session', 'id', 'sess-g2'), undefined);
    assert.ok(await b.getUser('auth0|g1'), "another tenant's user of a same-named connection stays");
    assert.equal(await a.deleteConnection('con_gone', 'gone'), false);
    await b.deleteUser('auth0|g1');
  });

  test('linking: a linked identity is hidden from user reads but found by its connection; races land once; unlink and deletes', async () => {
    const ids = (u: UserRow) => JSON.parse(u.identities).map((i: any) => i.user_id);
    const own = (id: string) => ({ identities: JSON.stringify([{ user_id: id, provider: 'auth0', connection: 'db' }]) });
    await a.insertUser(userRow('auth0|lp', 'lp@example.com', own('lp')));
    await a.insertUser(userRow('auth0|lp2', 'lp2@example.com', own('lp2')));
    await a.insertUser(userRow('auth0|ls', 'ls@example.com', { connection: 'db2' }));
    await a.upsertPayload({ model: 'Session', id: 'sess-ls', payload: '{}', grant_id: null, uid: 'uls', user_code: null, account_id: 'auth0|ls', expires_at: null, consumed_at: null });
    const p = (await a.getUser('auth0|lp'))!;
    const p2 = (await a.getUser('auth0|lp2'))!;
    const withS = (u: UserRow) => JSON.stringify([...JSON.parse(u.identities), { user_id: 'ls', provider: 'auth0', connection: 'db2' }]);
    const raced = await Promise.all([a.linkUser('auth0|lp', 'auth0|ls', p, withS(p), 't1'), a.linkUser('auth0|lp2', 'auth0|ls', p2, withS(p2), 't1')]);
    assert.deepEqual(raced.filter(Boolean).length, 1, 'one secondary links into one primary');
    const winner = raced[0] ? 'auth0|lp' : 'auth0|lp2';
    const loser = raced[0] ? 'auth0|lp2' : 'auth0|lp';
    assert.deepEqual(ids((await a.getUser(loser))!), [loser.slice(6)], 'the losing primary is unchanged');
    assert.deepEqual(ids((await a.getUser(winner))!), [winner.slice(6), 'ls']);
    assert.equal(await a.getUser('auth0|ls'), undefined);
    assert.equal((await a.getUser('auth0|ls', { linked: true }))!.linked_to, winner);
    assert.equal((await a.userByConnectionEmail('db2', 'ls@example.com'))!.user_id, 'auth0|ls');
    assert.deepEqual(await a.usersByEmail('ls@example.com'), []);
    assert.ok(!(await a.usersQuery().select('user_id').execute()).some((r) => r.user_id === 'auth0|ls'));
    assert.ok((await a.usersQuery({ linked: true }).select('user_id').execute()).some((r) => r.user_id === 'auth0|ls'));
    assert.equal(await a.findPayload('Session', 'id', 'sess-ls'), undefined, "the secondary's sessions end");
    assert.deepEqual((await a.linkedIdentities(winner)).map((r) => r.user_id), ['auth0|ls']);
    assert.equal(await a.deleteUser('auth0|ls'), false, 'a linked identity is not deleted as a user');

    const w = (await a.getUser(winner))!;
    assert.equal(await a.unlinkUser(winner, 'auth0|ls', p, JSON.stringify([]), 't2'), false, 'a stale read of the identities changes nothing');
    assert.equal(await a.unlinkUser(winner, 'auth0|ls', w, JSON.stringify(JSON.parse(w.identities).slice(0, 1)), 't2'), true);
    assert.equal((await a.getUser('auth0|ls'))!.linked_to, null);
    assert.deepEqual(ids((await a.getUser(winner))!), [winner.slice(6)]);

    // Deleting a primary takes its linked identities along.
    const w2 = (await a.getUser(winner))!;
    assert.equal(await a.linkUser(winner, 'auth0|ls', w2, withS(w2), 't3'), true);
    assert.equal(await a.deleteUser(winner), true);
    assert.equal(await a.getUser('auth0|ls', { linked: true }), undefined);
    await a.deleteUser(loser);
    assert.equal(await a.getUser(loser), undefined);
  });

  test('usersQuery is scoped to the tenant', async () => {
    const rows = await a.usersQuery().select('user_id').orderBy('user_id').execute();
    assert.deepEqual(rows.map((r) => r.user_id), ['auth0|1', 'auth0|3']);
    const rowsB = await b.usersQuery().select('user_id').execute();
    assert.deepEqual(rowsB.map((r) => r.user_id), ['auth0|1']);
  });
});

describe('signing keys', () => {
  test('insert, list in creation order, update status; per tenant; unique kid', async () => {
    const row = (kid: string, status: 'current' | 'next', created_at: string) => ({
      kid, status, private_jwk: 'sealed', cert: 'pem', created_at, current_since: status === 'current' ? created_at : null, current_until: null, revoked_at: null,
    });
    await a.insertKey(row('k1', 'current', '2026-01-01T00:00:00.000Z'));
    await a.insertKey(row('k2', 'next', '2026-01-02T00:00:00.000Z'));
    await assert.rejects(a.insertKey(row('k1', 'next', '2026-01-03T00:00:00.000Z')), UniqueViolation);
    await b.insertKey(row('k1', 'current', '2026-01-01T00:00:00.000Z'));
    assert.deepEqual((await a.listKeys()).map((k) => [k.kid, k.status]), [['k1', 'current'], ['k2', 'next']]);
    await a.updateKey('k1', { status: 'revoked', revoked_at: '2026-02-01T00:00:00.000Z' });
    const keys = await a.listKeys();
    assert.equal(keys[0].status, 'revoked');
    assert.equal(keys[0].revoked_at, '2026-02-01T00:00:00.000Z');
    assert.equal((await b.listKeys())[0].status, 'current', 'other tenant untouched');
  });

  test('one current and one next key at most; of rotations racing from the same keys exactly one lands, whole', async () => {
    const t = a.withTenant('rotation');
    const row = (kid: string, status: 'current' | 'next' | 'previous', created_at = new Date().toISOString()) => ({
      kid, status, private_jwk: 'sealed', cert: 'pem', created_at, current_since: null, current_until: null, revoked_at: null,
    });
    await t.insertKey(row('r1', 'current'));
    await t.insertKey(row('r2', 'next'));
    await assert.rejects(t.insertKey(row('r3', 'current')), UniqueViolation);
    await assert.rejects(t.insertKey(row('r3', 'next')), UniqueViolation);
    await t.insertKey(row('r0', 'previous'));
    await t.insertKey(row('r00', 'previous'));
    const ts = '2026-03-01T00:00:00.000Z';
    const won = await Promise.all(Array.from({ length: 6 }, (_, i) => t.rotateKeys({ current: 'r1', next: 'r2' }, ts, { next: row(`n${i}`, 'next') })));
    assert.equal(won.filter(Boolean).length, 1, `winners: ${won}`);
    const keys = new Map((await t.listKeys()).map((k) => [k.kid, k]));
    assert.equal(keys.get('r1')!.status, 'previous');
    assert.equal(keys.get('r1')!.current_until, ts);
    assert.equal(keys.get('r2')!.status, 'current');
    assert.equal(keys.get('r2')!.current_since, ts);
    const fresh = [...keys.keys()].filter((k) => k.startsWith('n'));
    assert.equal(fresh.length, 1, 'only the winner inserted its next key');
    assert.equal(keys.get(fresh[0])!.status, 'next');
    // No next key: a fresh current is inserted instead of a promotion.
    assert.equal(await t.rotateKeys({ current: 'r2' }, ts, { current: row('c9', 'current'), next: row('n9', 'next') }), false, 'a next key exists, so a second next is refused');
    assert.equal((await t.listKeys()).find((k) => k.kid === 'r2')!.status, 'current', 'the refused rotation changed nothing');
  });
});

test('the one-current-one-next migration keeps every key of a database that raced before it', async () => {
  const old = await freshDb();
  try {
    await migrate(old.db.kysely, '0004_users_email_prefix_pg');
    const t = new Store(old.db, 'raced');
    const row = (kid: string, status: 'current' | 'next', created_at: string) => ({
      kid, status, private_jwk: 'sealed', cert: 'pem', created_at, current_since: null, current_until: null, revoked_at: null,
    });
    // What two nodes rotating at once could leave behind: two current keys and three next ones.
    for (const [kid, status, at] of [['c1', 'current', '01'], ['c2', 'current', '02'], ['n1', 'next', '03'], ['n2', 'next', '04'], ['n3', 'next', '05']] as const) {
      await t.insertKey(row(kid, status, `2026-01-${at}T00:00:00.000Z`));
    }
    await migrate(old.db.kysely);
    const keys = Object.fromEntries((await t.listKeys()).map((k) => [k.kid, k.status]));
    assert.deepEqual(keys, { c1: 'current', c2: 'previous', n1: 'next', n2: 'previous', n3: 'previous' });
    await assert.rejects(t.insertKey(row('n4', 'next', '2026-01-06T00:00:00.000Z')), UniqueViolation);
  } finally {
    await old.cleanup();
  }
});

describe('oidc payloads', () => {
  const nowS = () => Math.floor(Date.now() / 1000);
  const row = (model: string, id: string, extra: Record<string, unknown> = {}) => ({
    model, id, payload: JSON.stringify({ jti: id, kind: model }), grant_id: null, uid: null, user_code: null,
    account_id: null, expires_at: null, consumed_at: null, ...extra,
  });

  test('upsert inserts then replaces; find by id, uid and user_code', async () => {
    await a.upsertPayload(row('AuthorizationCode', 'code-1', { grant_id: 'g1', uid: 'uid-1', expires_at: nowS() + 600 }));
    const found = (await a.findPayload('AuthorizationCode', 'id', 'code-1'))!;
    assert.deepEqual(JSON.parse(found.payload), { jti: 'code-1', kind: 'AuthorizationCode' });
    assert.equal(typeof found.expires_at, 'number', 'epoch seconds come back as numbers on both backends');
    assert.equal((await a.findPayload('AuthorizationCode', 'uid', 'uid-1'))!.id, 'code-1');
    assert.equal(await a.findPayload('AccessToken', 'id', 'code-1'), undefined, 'models are separate');
    await a.upsertPayload({ ...row('AuthorizationCode', 'code-1', { grant_id: 'g1', uid: 'uid-1' }), payload: '{"v":2}' });
    assert.equal((await a.findPayload('AuthorizationCode', 'id', 'code-1'))!.payload, '{"v":2}');
    await a.upsertPayload(row('DeviceCode', 'dc-1', { user_code: 'ABCD-EFGH' }));
    assert.equal((await a.findPayload('DeviceCode', 'user_code', 'ABCD-EFGH'))!.id, 'dc-1');
    assert.equal(await b.findPayload('AuthorizationCode', 'id', 'code-1'), undefined, 'tenant isolation');
  });

  test('consume, destroy, revokeGrant', async () => {
    await a.consumePayload('AuthorizationCode', 'code-1');
    const c = (await a.findPayload('AuthorizationCode', 'id', 'code-1'))!;
    assert.ok(typeof c.consumed_at === 'number' && Math.abs(c.consumed_at - nowS()) < 5);
    await a.upsertPayload(row('AccessToken', 'at-1', { grant_id: 'g1' }));
    await a.upsertPayload(row('RefreshToken', 'rt-1', { grant_id: 'g1' }));
    await a.upsertPayload(row('AccessToken', 'at-2', { grant_id: 'g2' }));
    await b.upsertPayload(row('AccessToken', 'at-b', { grant_id: 'g1' }));
    await a.revokeGrant('g1');
    assert.equal(await a.findPayload('AccessToken', 'id', 'at-1'), undefined);
    assert.equal(await a.findPayload('RefreshToken', 'id', 'rt-1'), undefined);
    assert.equal(await a.findPayload('AuthorizationCode', 'id', 'code-1'), undefined);
    assert.ok(await a.findPayload('AccessToken', 'id', 'at-2'));
    assert.ok(await b.findPayload('AccessToken', 'id', 'at-b'), "another tenant's grant of the same id stays");
    await a.destroyPayload('AccessToken', 'at-2');
    assert.equal(await a.findPayload('AccessToken', 'id', 'at-2'), undefined);
  });

  test('claimPayload: exactly one of concurrent claims wins; release makes it claimable again', async () => {
    await a.upsertPayload(row('EmailTicket', 'ticket-1'));
    const wins = await Promise.all(Array.from({ length: 4 }, () => a.claimPayload('EmailTicket', 'ticket-1')));
    assert.equal(wins.filter(Boolean).length, 1);
    assert.equal(await b.claimPayload('EmailTicket', 'ticket-1'), false, 'another tenant cannot claim it');
    await a.releasePayload('EmailTicket', 'ticket-1');
    assert.equal(await a.claimPayload('EmailTicket', 'ticket-1'), true);
  });

  test('swapPayload: replaces the data only while it reads as expected, one winner among concurrent swaps', async () => {
    await a.upsertPayload(row('PasswordlessCode', 'code-1', { payload: '{"attempts":0}' }));
    const wins = await Promise.all(Array.from({ length: 4 }, () => a.swapPayload('PasswordlessCode', 'code-1', '{"attempts":0}', '{"attempts":1}')));
    assert.equal(wins.filter(Boolean).length, 1);
    assert.equal((await a.findPayload('PasswordlessCode', 'id', 'code-1'))?.payload, '{"attempts":1}');
    assert.equal(await a.swapPayload('PasswordlessCode', 'code-1', '{"attempts":0}', '{"attempts":9}'), false, 'a stale expectation loses');
    assert.equal(await b.swapPayload('PasswordlessCode', 'code-1', '{"attempts":1}', '{"attempts":2}'), false, 'another tenant cannot swap it');
    assert.equal(await a.claimPayload('PasswordlessCode', 'code-1'), true);
    assert.equal(await a.swapPayload('PasswordlessCode', 'code-1', '{"attempts":1}', '{"attempts":2}'), false, 'a consumed payload is not swapped');
  });

  test('listPayloads by model and account', async () => {
    await a.upsertPayload(row('Session', 's1', { account_id: 'auth0|1' }));
    await a.upsertPayload(row('Session', 's2', { account_id: 'auth0|9' }));
    assert.deepEqual((await a.listPayloads('Session', { account_id: 'auth0|1' })).map((r) => r.id), ['s1']);
    assert.deepEqual((await a.listPayloads('Session')).map((r) => r.id).sort(), ['s1', 's2']);
  });

  test('expiry: the adapter over the store hides expired payloads and keeps live ones', async () => {
    const Adapter = adapterFactory(a, async () => undefined);
    const codes = new Adapter('AuthorizationCode');
    await codes.upsert('live', { jti: 'live', grantId: 'g9' } as any, 60);
    await codes.upsert('forever', { jti: 'forever' } as any, 0);
    await a.upsertPayload(row('AuthorizationCode', 'dead', { expires_at: nowS() - 1 }));
    assert.equal((await codes.find('live'))!.jti, 'live');
    assert.equal((await codes.find('forever'))!.jti, 'forever');
    assert.equal(await codes.find('dead'), undefined);
    const stored = (await a.findPayload('AuthorizationCode', 'id', 'live'))!;
    assert.ok(stored.expires_at! > nowS() + 50 && stored.expires_at! <= nowS() + 61);
    await codes.consume('live');
    assert.ok((await codes.find('live'))!.consumed);
    await codes.revokeByGrantId('g9');
    assert.equal(await codes.find('live'), undefined);
  });
});

describe('groups', () => {
  const members = async (s: Store, id: string) => (await groups.groupMembers(s, id)).map((m) => m.user_id);
  const roleIds = async (s: Store, groupId: string) => (await groups.linkedIdsAfter(s, 'group_id', groupId, undefined, 100)).ids;

  test('insert with members, get, list with filters and totals; a name is unique per connection and tenant', async () => {
    for (const u of ['okta|g|m1', 'okta|g|m2', 'okta|g|m3']) await a.insertUser(userRow(u, `${u.slice(7)}@g.example`, { connection: 'g' }));
    const g1 = await groups.insertGroup(a, { id: 'grp_one', connection: 'con_g', name: 'Eng', external_id: 'x1' }, ['okta|g|m1', 'okta|g|m2', 'okta|g|m1']);
    await groups.insertGroup(a, { id: 'grp_two', connection: 'con_g', name: 'Ops_100%', external_id: null });
    await groups.insertGroup(a, { id: 'grp_three', connection: 'con_h', name: 'Eng', external_id: null });
    await groups.insertGroup(b, { id: 'grp_one', connection: 'con_g', name: 'Eng', external_id: null });
    assert.deepEqual(await groups.getGroup(a, 'grp_one'), g1);
    assert.equal(g1.external_id, 'x1');
    assert.deepEqual(await members(a, 'grp_one'), ['okta|g|m1', 'okta|g|m2']);
    assert.deepEqual(await members(b, 'grp_one'), []);
    await assert.rejects(groups.insertGroup(a, { id: 'grp_dup', connection: 'con_g', name: 'Eng', external_id: null }, ['okta|g|m3']), UniqueViolation);
    assert.equal(await groups.getGroup(a, 'grp_dup'), undefined);
    assert.deepEqual(await db.kysely.selectFrom('group_members').selectAll().where('group_id', '=', 'grp_dup').execute(), [], 'a refused insert adds no members');

    const all = await groups.listGroups(a, { connection: 'con_g' }, { offset: 0, limit: 10 }, true);
    assert.deepEqual([all.items.map((g) => g.id), all.total], [['grp_one', 'grp_two'], 2]);
    assert.deepEqual((await groups.listGroups(a, { name: 'Eng' }, { offset: 0, limit: 10 }, false)).items.map((g) => g.id).sort(), ['grp_one', 'grp_three']);
    assert.deepEqual((await groups.listGroups(a, { external_id: 'x1' }, { offset: 0, limit: 10 }, false)).items.map((g) => g.id), ['grp_one']);
    assert.deepEqual((await groups.listGroups(a, { search: '_100%' }, { offset: 0, limit: 10 }, false)).items.map((g) => g.id), ['grp_two']);
    assert.deepEqual((await groups.listGroups(a, { search: 'o_' }, { offset: 0, limit: 10 }, false)).items, [], 'LIKE wildcards match only themselves');
    assert.deepEqual((await groups.listGroups(a, { search: 'ENG' }, { offset: 1, limit: 1 }, true)).total, 2);
    assert.deepEqual((await groups.listGroups(b, {}, { offset: 0, limit: 10 }, true)).total, 1);
  });

  test('update: rename, replace, add and remove members in one write; a taken name changes nothing', async () => {
    const before = (await groups.getGroup(a, 'grp_one'))!;
    assert.equal(await groups.updateGroup(a, 'grp_one', { name: 'Engineering', members: { add: ['okta|g|m3'], remove: ['okta|g|m1'] } }), true);
    const after = (await groups.getGroup(a, 'grp_one'))!;
    assert.equal(after.name, 'Engineering');
    assert.ok(after.updated_at >= before.updated_at);
    assert.deepEqual(await members(a, 'grp_one'), ['okta|g|m2', 'okta|g|m3']);
    assert.equal(await groups.updateGroup(a, 'grp_one', { members: { replace: ['okta|g|m1', 'okta|g|m3'] } }), true);
    assert.deepEqual(await members(a, 'grp_one'), ['okta|g|m1', 'okta|g|m3']);
    await assert.rejects(groups.updateGroup(a, 'grp_one', { name: 'Ops_100%', members: { replace: [] } }), UniqueViolation);
    assert.equal((await groups.getGroup(a, 'grp_one'))!.name, 'Engineering');
    assert.deepEqual(await members(a, 'grp_one'), ['okta|g|m1', 'okta|g|m3'], 'the refused write left the members');
    assert.equal(await groups.updateGroup(a, 'grp_none', { name: 'x' }), false);
    const listed = await groups.listUserGroups(a, 'okta|g|m1', { offset: 0, limit: 10 }, true);
    assert.deepEqual([listed.items.map((g) => g.id), listed.total, typeof listed.items[0].membership_created_at], [['grp_one'], 1, 'string']);
    assert.deepEqual((await groups.groupMembers(a, 'grp_one', 'okta|g|m1', 1)).map((m) => m.user_id), ['okta|g|m3']);
  });

  test("group roles: idempotent links, both directions paged; members hold the roles' permissions", async () => {
    await a.roles.insert('rol_g1', { name: 'g1' }, { name: 'g1' });
    await a.roles.insert('rol_g2', { name: 'g2' }, { name: 'g2' });
    await db.kysely.insertInto('role_permissions').values([
      { tenant_id: 'tenant-a', role_id: 'rol_g1', resource_server_identifier: 'api-g', permission_name: 'read' },
      { tenant_id: 'tenant-a', role_id: 'rol_g2', resource_server_identifier: 'api-g', permission_name: 'write' },
    ]).execute();
    const pairs = [{ group_id: 'grp_one', role_id: 'rol_g1' }, { group_id: 'grp_one', role_id: 'rol_g2' }, { group_id: 'grp_two', role_id: 'rol_g1' }];
    await groups.assignGroupRoles(a, pairs);
    await groups.assignGroupRoles(a, pairs);
    assert.deepEqual(await roleIds(a, 'grp_one'), ['rol_g1', 'rol_g2']);
    const page = await groups.linkedIdsAfter(a, 'role_id', 'rol_g1', undefined, 1);
    assert.deepEqual(page, { ids: ['grp_one'], more: true });
    assert.deepEqual(await groups.linkedIdsAfter(a, 'role_id', 'rol_g1', 'grp_one', 1), { ids: ['grp_two'], more: false });
    assert.deepEqual(await permissionNamesFor(a, 'okta|g|m1', 'api-g'), ['read', 'write']);
    assert.deepEqual(await permissionNamesFor(a, 'okta|g|m2', 'api-g'), [], 'a former member holds nothing');
    assert.deepEqual(await permissionNamesFor(b, 'okta|g|m1', 'api-g'), []);
    assert.deepEqual((await groups.userGroupRoles(a, 'okta|g|m1')).map((r) => r.role_id), ['rol_g1', 'rol_g2']);
    assert.deepEqual((await groups.listUserGroupRolePermissions(a, 'okta|g|m1', 'api-g')).map((p) => p.permission_name).sort(), ['read', 'write']);
    await groups.unassignGroupRoles(a, [{ group_id: 'grp_one', role_id: 'rol_g2' }, { group_id: 'grp_one', role_id: 'rol_none' }]);
    assert.deepEqual(await permissionNamesFor(a, 'okta|g|m1', 'api-g'), ['read']);
  });

  test('deletes cascade: a user leaves its groups, a role its group links, a group and a connection take theirs, in this tenant only', async () => {
    await groups.updateGroup(b, 'grp_one', { members: { add: ['okta|g|m1'] } });
    await groups.assignGroupRoles(b, [{ group_id: 'grp_one', role_id: 'rol_g1' }]);
    assert.equal(await a.deleteUser('okta|g|m1'), true);
    assert.deepEqual(await members(a, 'grp_one'), ['okta|g|m3']);
    assert.deepEqual(await members(b, 'grp_one'), ['okta|g|m1'], "another tenant's membership stays");

    await deleteRole(a, 'rol_g1');
    assert.deepEqual(await roleIds(a, 'grp_one'), []);
    assert.deepEqual(await roleIds(a, 'grp_two'), []);
    assert.deepEqual(await roleIds(b, 'grp_one'), ['rol_g1']);

    await groups.assignGroupRoles(a, [{ group_id: 'grp_three', role_id: 'rol_g2' }]);
    await groups.updateGroup(a, 'grp_three', { members: { add: ['okta|g|m3'] } });
    assert.equal(await groups.deleteGroup(a, 'grp_three'), true);
    assert.equal(await groups.getGroup(a, 'grp_three'), undefined);
    assert.deepEqual(await db.kysely.selectFrom('group_members').selectAll().where('tenant_id', '=', 'tenant-a').where('group_id', '=', 'grp_three').execute(), []);
    assert.deepEqual(await roleIds(a, 'grp_three'), []);
    assert.equal(await groups.deleteGroup(a, 'grp_three'), false);

    await a.connections.insert('con_g', { name: 'g', strategy: 'okta' }, { name: 'g', strategy: 'okta' });
    await groups.assignGroupRoles(a, [{ group_id: 'grp_one', role_id: 'rol_g2' }]);
    assert.equal(await a.deleteConnection('con_g', 'g'), true);
    assert.deepEqual((await groups.listGroups(a, {}, { offset: 0, limit: 10 }, true)).total, 0);
    for (const table of ['group_members', 'group_roles'] as const) {
      assert.deepEqual(await db.kysely.selectFrom(table).selectAll().where('tenant_id', '=', 'tenant-a').execute(), [], table);
    }
    assert.ok(await groups.getGroup(b, 'grp_one'), "another tenant's group of a same-id connection stays");
    assert.deepEqual(await roleIds(b, 'grp_one'), ['rol_g1']);
  });
});

describe('organization groups', () => {
  const roleIds = async (s: Store, orgId: string, groupId: string) => (await groups.orgLinkedIdsAfter(s, orgId, 'group_id', groupId, undefined, 100)).ids;
  const link = (connection_id: string, extra: Record<string, unknown> = {}) => ({ connection_id, assign_membership_on_login: false, show_as_button: true, ...extra });

  test("an organization's groups are its enabled connections'; roles given there are held by members in it only", async () => {
    await a.insertUser(userRow('okta|og|u1', 'u1@og.example', { connection: 'og' }));
    for (const [org, name] of [['org_og1', 'og-one'], ['org_og2', 'og-two']]) await a.organizations.insert(org, { name }, { name });
    await groups.insertGroup(a, { id: 'grp_og_a', connection: 'con_og', name: 'A', external_id: null }, ['okta|g|none', 'okta|og|u1']);
    await groups.insertGroup(a, { id: 'grp_og_b', connection: 'con_og', name: 'B', external_id: null });
    await groups.insertGroup(a, { id: 'grp_og_c', connection: 'con_og_other', name: 'C', external_id: null }, ['okta|og|u1']);
    await insertOrgConnection(a, 'org_og1', link('con_og'));
    await insertOrgConnection(a, 'org_og2', link('con_og_other'));
    for (const r of ['rol_og1', 'rol_og2']) await a.roles.insert(r, { name: r }, { name: r });
    await db.kysely.insertInto('role_permissions').values([
      { tenant_id: 'tenant-a', role_id: 'rol_og1', resource_server_identifier: 'api-og', permission_name: 'og:read' },
      { tenant_id: 'tenant-a', role_id: 'rol_og2', resource_server_identifier: 'api-og', permission_name: 'og:write' },
    ]).execute();

    const page = await groups.orgGroupsAfter(a, 'org_og1', undefined, 1);
    assert.deepEqual([page.items.map((g) => g.id), page.more], [['grp_og_a'], true]);
    assert.deepEqual((await groups.orgGroupsAfter(a, 'org_og1', 'grp_og_a', 1)).items.map((g) => g.id), ['grp_og_b']);
    assert.equal((await groups.getOrgGroup(a, 'org_og1', 'grp_og_a'))?.id, 'grp_og_a');
    assert.equal(await groups.getOrgGroup(a, 'org_og1', 'grp_og_c'), undefined, "another connection's group");
    assert.equal(await groups.getOrgGroup(b, 'org_og1', 'grp_og_a'), undefined, 'another tenant');

    await groups.assignOrgGroupRoles(a, 'org_og1', 'grp_og_a', ['rol_og1', 'rol_og2', 'rol_og1']);
    await groups.assignOrgGroupRoles(a, 'org_og1', 'grp_og_a', ['rol_og1']);
    await groups.assignOrgGroupRoles(a, 'org_og2', 'grp_og_c', ['rol_og2']);
    assert.deepEqual(await roleIds(a, 'org_og1', 'grp_og_a'), ['rol_og1', 'rol_og2']);
    assert.deepEqual(await groups.orgLinkedIdsAfter(a, 'org_og1', 'group_id', 'grp_og_a', undefined, 1), { ids: ['rol_og1'], more: true });
    assert.deepEqual(await groups.orgLinkedIdsAfter(a, 'org_og1', 'role_id', 'rol_og1', undefined, 10), { ids: ['grp_og_a'], more: false });
    assert.deepEqual(await groups.orgLinkedIdsAfter(a, 'org_og1', 'role_id', 'rol_og1', 'grp_og_a', 10), { ids: [], more: false });
    assert.deepEqual(await roleIds(b, 'org_og1', 'grp_og_a'), []);

    assert.deepEqual(await permissionNamesFor(a, 'okta|og|u1', 'api-og', 'org_og1'), [], 'not yet a member');
    assert.deepEqual(await groups.memberOrgGroupRoles(a, 'org_og1', 'okta|og|u1'), [
      { role_id: 'rol_og1', group_id: 'grp_og_a' }, { role_id: 'rol_og2', group_id: 'grp_og_a' },
    ]);
    await addMembers(a, 'org_og1', ['okta|og|u1']);
    assert.deepEqual(await permissionNamesFor(a, 'okta|og|u1', 'api-og', 'org_og1'), ['og:read', 'og:write']);
    assert.deepEqual(await permissionNamesFor(a, 'okta|og|u1', 'api-og'), [], 'outside the organization');
    assert.deepEqual(await permissionNamesFor(a, 'okta|og|u1', 'api-og', 'org_og2'), [], 'not a member of the other');
    assert.deepEqual(await permissionNamesFor(b, 'okta|og|u1', 'api-og', 'org_og1'), []);

    // A disabled connection's groups are not the organization's, and their roles rest.
    await updateOrgConnection(a, 'org_og1', link('con_og', { is_enabled: false }));
    assert.deepEqual((await groups.orgGroupsAfter(a, 'org_og1', undefined, 10)).items, []);
    assert.deepEqual(await permissionNamesFor(a, 'okta|og|u1', 'api-og', 'org_og1'), []);
    await updateOrgConnection(a, 'org_og1', link('con_og'));
    await groups.unassignOrgGroupRoles(a, 'org_og1', 'grp_og_a', ['rol_og2', 'rol_none']);
    assert.deepEqual(await permissionNamesFor(a, 'okta|og|u1', 'api-og', 'org_og1'), ['og:read']);
  });

  test('deletes cascade: a role, a group, a connection and an organization take their links, in this tenant only', async () => {
    const rows = (s: Store) => db.kysely.selectFrom('organization_group_roles').select(['org_id', 'group_id', 'role_id'])
      .where('tenant_id', '=', s.tenantId).orderBy('org_id').orderBy('group_id').orderBy('role_id').execute();
    await groups.assignOrgGroupRoles(b, 'org_og1', 'grp_og_a', ['rol_og1']);
    await groups.assignOrgGroupRoles(a, 'org_og1', 'grp_og_b', ['rol_og1', 'rol_og2']);
    await deleteRole(a, 'rol_og2');
    assert.deepEqual(await rows(a), [
      { org_id: 'org_og1', group_id: 'grp_og_a', role_id: 'rol_og1' }, { org_id: 'org_og1', group_id: 'grp_og_b', role_id: 'rol_og1' },
    ]);
    assert.equal(await groups.deleteGroup(a, 'grp_og_b'), true);
    assert.deepEqual((await rows(a)).map((r) => r.group_id), ['grp_og_a']);
    await a.connections.insert('con_og_other', { name: 'og-other', strategy: 'okta' }, { name: 'og-other', strategy: 'okta' });
    await groups.assignOrgGroupRoles(a, 'org_og2', 'grp_og_c', ['rol_og1']);
    assert.equal(await a.deleteConnection('con_og_other', 'og-other'), true);
    assert.deepEqual((await rows(a)).map((r) => r.org_id), ['org_og1']);
    await deleteOrganization(a, 'org_og1');
    assert.deepEqual(await rows(a), []);
    assert.deepEqual(await rows(b), [{ org_id: 'org_og1', group_id: 'grp_og_a', role_id: 'rol_og1' }], "another tenant's links stay");
  });
});

describe('transactions', () => {
  test('a failed transaction leaves nothing behind', async () => {
    await assert.rejects(a.transaction(async (trx) => {
      await trx.insertInto('roles').values({ tenant_id: 'tenant-a', id: 'rol_tx', data: '{}', created_at: 'x', updated_at: 'x', name: 'tx' }).execute();
      throw new Error('boom');
    }), /boom/);
    assert.equal(await a.roles.get('rol_tx'), undefined);
  });

  test('a point read made while a transaction is open never sees its uncommitted rows', async () => {
    const payload = { model: 'Session', id: 'sess-tx', payload: '{}', grant_id: null, uid: null, user_code: null, account_id: null, expires_at: null, consumed_at: null };
    let inside!: () => void;
    const written = new Promise<void>((r) => { inside = r; });
    let release!: () => void;
    const hold = new Promise<void>((r) => { release = r; });
    const tx = a.transaction(async (trx) => {
      await trx.insertInto('oidc_payloads').values({ ...payload, tenant_id: 'tenant-a' }).execute();
      inside();
      await hold;
      throw new Error('rolled back');
    });
    await written;
    // The read starts while the insert is uncommitted, and ends only after the rollback on a backend that must queue it.
    const read = a.findPayload('Session', 'id', 'sess-tx');
    release();
    await assert.rejects(tx, /rolled back/);
    assert.equal(await read, undefined);
    assert.equal(await a.findPayload('Session', 'id', 'sess-tx'), undefined);
  });
});

describe('action executions', () => {
  test('insert and get per tenant; the prune removes only older records of its tenant', async () => {
    await executions.insertExecution(a, { id: 'exe-old', data: { trigger_id: 'post-login', results: [] }, created_at: '2026-01-01T00:00:00.000Z' });
    await executions.insertExecution(a, { id: 'exe-new', data: { trigger_id: 'post-login', results: [{ action_name: 'x' }] }, created_at: '2026-06-01T00:00:00.000Z' });
    await executions.insertExecution(b, { id: 'exe-old', data: { trigger_id: 'credentials-exchange' }, created_at: '2026-01-01T00:00:00.000Z' });
    assert.deepEqual(await executions.getExecution(a, 'exe-new'), { id: 'exe-new', data: { trigger_id: 'post-login', results: [{ action_name: 'x' }] }, created_at: '2026-06-01T00:00:00.000Z' });
    assert.equal((await executions.getExecution(b, 'exe-old'))?.data.trigger_id, 'credentials-exchange');
    assert.equal(await executions.getExecution(b, 'exe-new'), undefined);
    await executions.pruneExecutions(a, '2026-03-01T00:00:00.000Z');
    assert.equal(await executions.getExecution(a, 'exe-old'), undefined);
    assert.ok(await executions.getExecution(a, 'exe-new'));
    assert.ok(await executions.getExecution(b, 'exe-old'), 'another tenant keeps its records');
  });
});
