import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ManagementClient } from 'auth0';
import { startServer, type TestServer } from './helpers/server.ts';
import { collect as all, managementClient } from './helpers/sdk.ts';
import { assertError } from './helpers/assert.ts';

// Two early-access resources the shared spec lists without schemas: agents
// and the applications associated with an organization. Through the official
// SDK's `agents` and `organizations.clients`, plain fetch for what it cannot send.

let s: TestServer;
let mc: ManagementClient;
before(async () => {
  s = await startServer();
  mc = managementClient(s);
});
after(async () => { await s?.close(); });

const doc = async (name: string) => (await s.runtime.env.store.getTenantDoc<any>(name))?.items ?? [];
const m2m = async (name: string) => mc.clients.create({ name, app_type: 'non_interactive' });
let orgs = 0;
const newOrg = async () => mc.organizations.create({ name: `org-clients-${++orgs}` });

// --- agents ----------------------------------------------------------------------

test('agents: created, read and listed as Auth0 answers them; the linked application is kept but not shown', async () => {
  const app = await m2m('agent-app');
  const a: any = await mc.agents.create({ name: 'Support Bot', client_id: app.client_id!, external_agent_id: 'bot-42', metadata: { team: 'support' } });
  assert.match(a.agent_id, /^agt_[A-Za-z0-9]{16}$/);
  assert.equal(typeof a.created_at, 'string');
  assert.equal(a.updated_at, a.created_at);
  assert.deepEqual(a, { agent_id: a.agent_id, name: 'Support Bot', created_at: a.created_at, updated_at: a.updated_at, external_agent_id: 'bot-42', metadata: { team: 'support' } });
  assert.deepEqual(await mc.agents.read(a.agent_id), a);
  assert.deepEqual((await all(await mc.agents.list())).find((x) => x.agent_id === a.agent_id), a);
  assert.equal((await doc('agents')).find((x: any) => x.id === a.agent_id).client_id, app.client_id);

  // Without the optional fields: no external_agent_id, empty metadata.
  const bare = await s.api('POST', '/agents', { body: { name: 'bare' } });
  assert.equal(bare.status, 201);
  assert.deepEqual(Object.keys(bare.body).sort(), ['agent_id', 'created_at', 'metadata', 'name', 'updated_at']);
  assert.deepEqual(bare.body.metadata, {});
});

test('agents: paged by checkpoint as the SDK pages them', async () => {
  const made: string[] = [];
  for (let i = 0; i < 5; i++) made.push((await mc.agents.create({ name: `pager-${i}` })).agent_id);
  const first = await mc.agents.list({ take: 2 });
  assert.equal(first.data.length, 2);
  assert.equal(first.hasNextPage(), true);
  const everything = await all(await mc.agents.list({ take: 2 }));
  const ids = everything.map((x) => x.agent_id);
  assert.equal(new Set(ids).size, ids.length, 'no agent twice across pages');
  for (const id of made) assert.ok(ids.includes(id));
  assert.deepEqual(ids.slice(-5), made, 'in creation order');

  const raw = await s.api('GET', '/agents?take=2');
  assert.equal(raw.body.agents.length, 2);
  assert.equal(typeof raw.body.next, 'string');
  const rest = await s.api('GET', `/agents?take=100&from=${raw.body.next}`);
  assert.equal(rest.body.next, undefined);
  assert.deepEqual([...raw.body.agents, ...rest.body.agents].map((x: any) => x.agent_id), ids);
  assertError(await s.api('GET', '/agents?take=0'), 400, /take/);
  assertError(await s.api('GET', '/agents?from=nonsense'), 400, /from/);
});

test('agents: PATCH changes the name and replaces metadata; null clears it; external_agent_id and client_id are immutable', async () => {
  const a = await mc.agents.create({ name: 'patch-me', external_agent_id: 'ext-patch', metadata: { a: 1, b: 2 } });
  const up: any = await mc.agents.update(a.agent_id, { name: 'patched', metadata: { c: 3 } });
  assert.equal(up.name, 'patched');
  assert.deepEqual(up.metadata, { c: 3 });
  assert.equal(up.external_agent_id, 'ext-patch');
  assert.equal(up.created_at, a.created_at);
  assert.ok(up.updated_at >= a.updated_at);
  assert.deepEqual(await mc.agents.read(a.agent_id), up);
  const cleared: any = await mc.agents.update(a.agent_id, { metadata: null });
  assert.deepEqual(cleared.metadata, {});
  assert.equal(cleared.name, 'patched');

  assertError(await s.api('PATCH', `/agents/${a.agent_id}`, { body: { external_agent_id: 'other' } }), 400, /Additional properties not allowed: external_agent_id/, 'invalid_body');
  assertError(await s.api('PATCH', `/agents/${a.agent_id}`, { body: { client_id: 'x' } }), 400, /Additional properties not allowed: client_id/);
  assertError(await s.api('PATCH', `/agents/${a.agent_id}`, { body: { name: '' } }), 400, /name/);
  assertError(await s.api('PATCH', `/agents/${a.agent_id}`, { body: { name: 'ok', metadata: 'x' } }), 400, /metadata/);
  assert.deepEqual(await mc.agents.read(a.agent_id), cleared, 'refused PATCHes changed nothing');
});

test('agents: bad bodies are 400s that write nothing', async () => {
  const before = (await doc('agents')).length;
  const bad: [unknown, RegExp][] = [
    [undefined, /Missing required property: name/],
    [{}, /Missing required property: name/],
    [[], /must be object/],
    ['"text"', /must be object/],
    [{ name: 42 }, /name/],
    [{ name: '' }, /name/],
    [{ name: 'x'.repeat(256) }, /name/],
    [{ name: 'a<b' }, /name/],
    [{ name: 'a>b' }, /name/],
    [{ name: 'ok', color: 'red' }, /Additional properties not allowed: color/],
    [{ name: 'ok', metadata: [] }, /metadata/],
    [{ name: 'ok', metadata: { big: 'x'.repeat(11_000) } }, /metadata/],
    [{ name: 'ok', external_agent_id: '' }, /external_agent_id/],
    [{ name: 'ok', client_id: 7 }, /client_id/],
  ];
  for (const [body, message] of bad) assertError(await s.api('POST', '/agents', { body }), 400, message, 'invalid_body');
  assertError(await s.api('POST', '/agents', { body: { name: 'ok', client_id: 'no-such-client' } }), 400, /client does not exist/, 'inexistent_client');
  const spa = await mc.clients.create({ name: 'agent-spa', app_type: 'spa' });
  assertError(await s.api('POST', '/agents', { body: { name: 'ok', client_id: spa.client_id } }), 400, /machine to machine/);
  assert.equal((await doc('agents')).length, before);
});

test('agents: an external_agent_id and an application are taken by one agent only (409)', async () => {
  const app = await m2m('linked-once');
  await mc.agents.create({ name: 'first', external_agent_id: 'unique-ext', client_id: app.client_id! });
  const before = (await doc('agents')).length;
  assertError(await s.api('POST', '/agents', { body: { name: 'second', external_agent_id: 'unique-ext' } }), 409, /external_agent_id/, 'conflict');
  assertError(await s.api('POST', '/agents', { body: { name: 'third', client_id: app.client_id } }), 409, /already linked/, 'conflict');
  assert.equal((await doc('agents')).length, before);
});

test('agents: unknown ids are 404s; DELETE removes; the scopes are the *:agents ones', async () => {
  for (const [method, body] of [['GET'], ['PATCH', { name: 'x' }], ['DELETE']] as const) {
    assertError(await s.api(method, '/agents/agt_doesnotexist0000', { body }), 404, 'The agent does not exist.', 'inexistent_agent');
  }
  const a = await mc.agents.create({ name: 'doomed' });
  await mc.agents.delete(a.agent_id);
  assertError(await s.api('GET', `/agents/${a.agent_id}`), 404);
  assert.ok(!(await doc('agents')).some((x: any) => x.id === a.agent_id));

  const readOnly = await s.token('read:agents');
  assert.equal((await s.api('GET', '/agents', { token: readOnly })).status, 200);
  assertError(await s.api('POST', '/agents', { token: readOnly, body: { name: 'nope' } }), 403, /create:agents/, 'insufficient_scope');
  assertError(await s.api('GET', '/agents', { token: await s.token('read:clients') }), 403, /read:agents/);
});

test('agents: deleting the linked application keeps the agent and drops the link', async () => {
  const app = await m2m('short-lived');
  const a = await mc.agents.create({ name: 'survivor', client_id: app.client_id! });
  await mc.clients.delete(app.client_id!);
  const stored = (await doc('agents')).find((x: any) => x.id === a.agent_id);
  assert.ok(stored, 'the agent is still there');
  assert.equal(stored.client_id, undefined);
  assert.deepEqual(await mc.agents.read(a.agent_id), a);
});

// --- organization clients -------------------------------------------------------------

test('organization clients: associated, read, updated and listed through the SDK, with the application\'s metadata', async () => {
  const org = await newOrg();
  const web = await mc.clients.create({ name: 'portal', app_type: 'regular_web', logo_uri: 'https://example.com/logo.png' });
  const svc = await m2m('org-svc');
  const created = await mc.organizations.clients.create(org.id!, {
    clients: [{ client_id: web.client_id!, use_for_member_access: true }, { client_id: svc.client_id!, use_for_member_access: false }],
  });
  const webJson = {
    client_id: web.client_id, use_for_member_access: true,
    client: { name: 'portal', app_type: 'regular_web', logo_uri: 'https://example.com/logo.png', is_first_party: true, grant_types: web.grant_types, organization_usage: 'deny' },
  };
  assert.deepEqual(created[0], webJson);
  assert.deepEqual(created[1].client, { name: 'org-svc', app_type: 'non_interactive', is_first_party: true, grant_types: ['client_credentials'], organization_usage: 'deny' });
  assert.equal(created[1].use_for_member_access, false);
  assert.deepEqual(await mc.organizations.clients.get(org.id!, web.client_id!), webJson);

  const up = await mc.organizations.clients.update(org.id!, svc.client_id!, { use_for_member_access: true });
  assert.equal(up.use_for_member_access, true);
  assert.equal((await mc.organizations.clients.get(org.id!, svc.client_id!)).use_for_member_access, true);
  const unchanged = await mc.organizations.clients.update(org.id!, svc.client_id!, {});
  assert.equal(unchanged.use_for_member_access, true);

  const listed = await all(await mc.organizations.clients.list(org.id!));
  assert.deepEqual(listed.map((c) => [c.client_id, c.use_for_member_access]), [[web.client_id, true], [svc.client_id, true]]);
  const raw = await s.api('POST', `/organizations/${org.id}/clients`, { body: { clients: [{ client_id: (await m2m('raw')).client_id, use_for_member_access: false }] } });
  assert.equal(raw.status, 201);
  assert.equal(raw.body.length, 1);
});

test('organization clients: paged by checkpoint; take above 100 is capped, not refused', async () => {
  const org = await newOrg();
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push((await m2m(`page-${i}`)).client_id!);
  await mc.organizations.clients.create(org.id!, { clients: ids.map((client_id) => ({ client_id, use_for_member_access: false })) });
  const first = await mc.organizations.clients.list(org.id!, { take: 2 });
  assert.deepEqual(first.data.map((c) => c.client_id), ids.slice(0, 2));
  assert.equal(first.hasNextPage(), true);
  assert.deepEqual((await all(await mc.organizations.clients.list(org.id!, { take: 2 }))).map((c) => c.client_id), ids);
  const capped = await s.api('GET', `/organizations/${org.id}/clients?take=500`);
  assert.equal(capped.status, 200);
  assert.deepEqual(capped.body.clients.map((c: any) => c.client_id), ids);
  assert.equal(capped.body.next, undefined);
});

test('organization clients: bad bodies, unknown applications and repeats are refused and write nothing', async () => {
  const org = await newOrg();
  const app = await m2m('org-neg');
  const path = `/organizations/${org.id}/clients`;
  const bad: [unknown, RegExp][] = [
    [undefined, /Missing required property: clients/],
    [{ clients: [] }, /clients/],
    [{ clients: [{ client_id: app.client_id }] }, /Missing required property: use_for_member_access/],
    [{ clients: [{ client_id: app.client_id, use_for_member_access: 'yes' }] }, /use_for_member_access/],
    [{ clients: [{ client_id: app.client_id, use_for_member_access: true, extra: 1 }] }, /Additional properties not allowed: extra/],
    [{ clients: [app.client_id] }, /must be object/],
    [{ clients: Array.from({ length: 101 }, (_, i) => ({ client_id: `c${i}`, use_for_member_access: true })) }, /clients/],
    [{ clients: [{ client_id: app.client_id, use_for_member_access: true }, { client_id: app.client_id, use_for_member_access: false }] }, /more than once/],
  ];
  for (const [body, message] of bad) assertError(await s.api('POST', path, { body }), 400, message, 'invalid_body');
  // One unknown application refuses the whole request.
  assertError(await s.api('POST', path, { body: { clients: [{ client_id: app.client_id, use_for_member_access: true }, { client_id: 'ghost', use_for_member_access: true }] } }), 404, /ghost/, 'inexistent_client');
  assert.deepEqual((await s.api('GET', path)).body.clients, []);

  await mc.organizations.clients.create(org.id!, { clients: [{ client_id: app.client_id!, use_for_member_access: true }] });
  const other = await m2m('org-neg-2');
  assertError(await s.api('POST', path, { body: { clients: [{ client_id: other.client_id, use_for_member_access: true }, { client_id: app.client_id, use_for_member_access: false }] } }), 409, /already associated/, 'conflict');
  const after = (await s.api('GET', path)).body.clients;
  assert.deepEqual(after.map((c: any) => [c.client_id, c.use_for_member_access]), [[app.client_id, true]], 'the 409 wrote nothing');

  const one = `${path}/${app.client_id}`;
  assertError(await s.api('PATCH', one, { body: { use_for_member_access: 'no' } }), 400, /use_for_member_access/);
  assertError(await s.api('PATCH', one, { body: { use_for_member_access: false, client_id: 'x' } }), 400, /Additional properties not allowed: client_id/);
  assert.equal((await s.api('GET', one)).body.use_for_member_access, true);
});

test('organization clients: unknown organizations and unassociated applications are 404s', async () => {
  const org = await newOrg();
  const app = await m2m('org-404');
  const body = { clients: [{ client_id: app.client_id, use_for_member_access: true }] };
  for (const [method, path, b] of [
    ['GET', '/organizations/org_nope/clients'], ['POST', '/organizations/org_nope/clients', body],
    ['DELETE', '/organizations/org_nope/clients', { clients: [app.client_id] }],
    ['GET', `/organizations/org_nope/clients/${app.client_id}`], ['PATCH', `/organizations/org_nope/clients/${app.client_id}`, { use_for_member_access: true }],
  ] as const) {
    assertError(await s.api(method, path, { body: b }), 404, /organization/, 'inexistent_organization');
  }
  assertError(await s.api('GET', `/organizations/${org.id}/clients/${app.client_id}`), 404, /not associated/, 'inexistent_organization_client');
  assertError(await s.api('PATCH', `/organizations/${org.id}/clients/${app.client_id}`, { body: { use_for_member_access: true } }), 404, /not associated/);
  assertError(await s.api('GET', `/organizations/${org.id}/clients`, { token: await s.token('read:organizations') }), 403, /read:organization_clients/);
});

test('organization clients: DELETE removes the named associations and ignores the others', async () => {
  const org = await newOrg();
  const [a, b, c] = [await m2m('del-a'), await m2m('del-b'), await m2m('del-c')];
  await mc.organizations.clients.create(org.id!, { clients: [a, b].map((x) => ({ client_id: x.client_id!, use_for_member_access: true })) });
  assertError(await s.api('DELETE', `/organizations/${org.id}/clients`), 400, /Missing required property: clients/);
  assertError(await s.api('DELETE', `/organizations/${org.id}/clients`, { body: { clients: [] } }), 400, /clients/);
  assertError(await s.api('DELETE', `/organizations/${org.id}/clients`, { body: { clients: [1] } }), 400, /clients/);
  await mc.organizations.clients.delete(org.id!, { clients: [a.client_id!, c.client_id!, 'never-heard-of'] });
  assert.deepEqual((await all(await mc.organizations.clients.list(org.id!))).map((x) => x.client_id), [b.client_id]);
  assertError(await s.api('GET', `/organizations/${org.id}/clients/${a.client_id}`), 404);
});

test('organization clients: deleting the application or the organization removes its associations', async () => {
  const [org1, org2] = [await newOrg(), await newOrg()];
  const [gone, kept] = [await m2m('cascade-gone'), await m2m('cascade-kept')];
  for (const org of [org1, org2]) {
    await mc.organizations.clients.create(org.id!, { clients: [gone, kept].map((x) => ({ client_id: x.client_id!, use_for_member_access: true })) });
  }
  await mc.clients.delete(gone.client_id!);
  for (const org of [org1, org2]) assert.deepEqual((await all(await mc.organizations.clients.list(org.id!))).map((x) => x.client_id), [kept.client_id]);
  assert.ok(!(await doc('organization-clients')).some((x: any) => x.client_id === gone.client_id), 'no association of the deleted application is stored');

  await mc.organizations.delete(org1.id!);
  const stored = await doc('organization-clients');
  assert.ok(!stored.some((x: any) => x.organization_id === org1.id), 'no association of the deleted organization is stored');
  assert.ok(stored.some((x: any) => x.organization_id === org2.id && x.client_id === kept.client_id), 'the other organization keeps its own');
});
