import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { ManagementClient } from 'auth0';
import { startServer, type TestServer } from './helpers/server.ts';
import { managementClient } from './helpers/sdk.ts';
import { createApp, createUser, formFields, go, follow, Jar, scriptedLogin } from './helpers/login-flow.ts';
import { outbox } from './helpers/outbox.ts';

// Tokens from Universal Login for APIs of every token_dialect, RBAC's
// enforce_policies on the token response too, and organization login:
// organization by id or name, organization_usage deny/allow/require,
// membership, assign_membership_on_login, the post-login picker, invitations,
// and org claims that survive a refresh.

let s: TestServer;
let mc: ManagementClient;
const CB = 'http://localhost:3000/callback';
const DIALECTS = ['access_token', 'access_token_authz', 'rfc9068_profile', 'rfc9068_profile_authz'] as const;
const api = (d: string) => `https://${d.replace(/_/g, '-')}.example/`;
const OPEN = 'https://open-api.example/';
const ALL = 'openid profile email offline_access read:x write:x del:x';
let allow: any, deny: any, requireNoPrompt: any, postPicker: any;
let acme: any, open: any, other: any;
let aliceId = '';
let conn: any;

before(async () => {
  s = await startServer();
  mc = managementClient(s);
  const scopes = [{ value: 'read:x' }, { value: 'write:x' }, { value: 'del:x' }];
  for (const d of DIALECTS) await mc.resourceServers.create({ identifier: api(d), scopes, enforce_policies: true, token_dialect: d, allow_offline_access: true });
  await mc.resourceServers.create({ identifier: OPEN, scopes, enforce_policies: false, token_dialect: 'access_token_authz', allow_offline_access: true });
  const web = { app_type: 'regular_web', callbacks: [CB], grant_types: ['authorization_code', 'refresh_token', 'http://auth0.com/oauth/grant-type/password-realm'] };
  allow = await createApp(s, { name: 'Allow', ...web, organization_usage: 'allow' });
  deny = await createApp(s, { name: 'Deny', ...web, organization_usage: 'deny' });
  requireNoPrompt = await createApp(s, { name: 'Require', ...web, organization_usage: 'require', organization_require_behavior: 'no_prompt' });
  postPicker = await createApp(s, { name: 'Picker', ...web, organization_usage: 'require', organization_require_behavior: 'post_login_prompt' });
  aliceId = (await createUser(s, 'alice@example.com', 'Alice-pw-123!', { name: 'Alice' })).user_id;
  await createUser(s, 'bob@example.com', 'Bob-pw-12345!', { name: 'Bob' });
  conn = (await s.api('GET', '/connections?name=Username-Password-Authentication')).body[0];

  // Everywhere: read:x through a global role. In acme: write:x through a member role.
  const reader = await mc.roles.create({ name: 'reader' });
  const writer = await mc.roles.create({ name: 'acme-writer' });
  for (const d of [...DIALECTS.map(api), OPEN]) {
    await mc.roles.permissions.add(reader.id!, { permissions: [{ resource_server_identifier: d, permission_name: 'read:x' }] });
    await mc.roles.permissions.add(writer.id!, { permissions: [{ resource_server_identifier: d, permission_name: 'write:x' }] });
  }
  await mc.users.roles.assign(aliceId, { roles: [reader.id!] });
  acme = await mc.organizations.create({ name: 'acme', display_name: 'Acme Inc', enabled_connections: [{ connection_id: conn.id, assign_membership_on_login: false }] });
  open = await mc.organizations.create({ name: 'open-door', enabled_connections: [{ connection_id: conn.id, assign_membership_on_login: true }] });
  other = await mc.organizations.create({ name: 'no-connections' });
  await mc.organizations.members.create(acme.id!, { members: [aliceId] });
  const assigned = await s.api('POST', `/organizations/${acme.id}/members/${encodeURIComponent(aliceId)}/roles`, { body: { roles: [writer.id] } });
  assert.equal(assigned.status, 204);
  await mc.organizations.members.create(other.id!, { members: [aliceId] });
});
after(async () => { await s?.close(); });

function authorizeUrl(app: any, params: Record<string, string> = {}) {
  return `${s.baseUrl}/authorize?${new URLSearchParams({ client_id: app.client_id, response_type: 'code', redirect_uri: CB, scope: 'openid profile email', state: 'st-1', nonce: 'n-1', ...params })}`;
}

/** The callback's query: code or error. */
async function authorize(app: any, params: Record<string, string>, email: string, password: string, jar = new Jar()) {
  const r = await scriptedLogin(s, authorizeUrl(app, params), email, password, jar);
  assert.ok(r.url.startsWith(CB), `ended at ${r.url} ${r.res.status}`);
  return { jar, q: new URL(r.url).searchParams };
}

async function tokenRequest(app: any, body: Record<string, string>) {
  const r = await fetch(`${s.baseUrl}/oauth/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: app.client_id, client_secret: app.client_secret, ...body }),
  });
  const j = await r.json() as any;
  assert.equal(r.status, 200, JSON.stringify(j));
  return { body: j, at: j.access_token.split('.').length === 3 ? decodeJwt(j.access_token) as any : {}, header: j.access_token.split('.').length === 3 ? decodeProtectedHeader(j.access_token) : {}, id: j.id_token ? decodeJwt(j.id_token) as any : undefined };
}
const exchange = (app: any, code: string | null) => tokenRequest(app, { grant_type: 'authorization_code', code: code!, redirect_uri: CB });

async function loginTokens(app: any, params: Record<string, string>, email = 'alice@example.com', password = 'Alice-pw-123!', jar = new Jar()) {
  const { q } = await authorize(app, params, email, password, jar);
  assert.equal(q.get('error'), null, `${q.get('error')}: ${q.get('error_description')}`);
  assert.equal(q.get('state'), 'st-1');
  return { jar, ...(await exchange(app, q.get('code'))) };
}
const apiScopes = (scope: string) => String(scope ?? '').split(' ').filter((x) => x.includes(':')).sort();

test('each token_dialect: permissions claim, typ header and profile claims; enforce_policies narrows the JWT and the response scope', async () => {
  const jar = new Jar();
  for (const d of DIALECTS) {
    const t = await loginTokens(allow, { audience: api(d), scope: ALL }, undefined, undefined, jar);
    assert.deepEqual(apiScopes(t.at.scope), ['read:x'], d);
    assert.deepEqual(apiScopes(t.body.scope), ['read:x'], `${d} response scope ${t.body.scope}`);
    assert.ok(t.at.scope.split(' ').includes('openid'), d);
    assert.equal(t.at.sub, aliceId);
    assert.equal(t.at.org_id, undefined);
    assert.deepEqual(t.at.aud, [api(d), `${s.baseUrl}/userinfo`]);
    const authz = d.endsWith('_authz');
    assert.deepEqual(t.at.permissions, authz ? ['read:x'] : undefined, d);
    if (d.startsWith('rfc9068')) {
      assert.equal(t.header.typ, 'at+jwt');
      assert.equal(t.at.client_id, allow.client_id);
      assert.equal(typeof t.at.jti, 'string');
      assert.equal(t.at.azp, undefined);
    } else {
      assert.equal(t.header.typ, 'JWT');
      assert.equal(t.at.azp, allow.client_id);
      assert.equal(t.at.client_id, undefined);
    }
  }
  // Without enforce_policies every requested scope is granted; the authz dialect still lists held permissions.
  const o = await loginTokens(allow, { audience: OPEN, scope: ALL }, undefined, undefined, jar);
  assert.deepEqual(apiScopes(o.at.scope), ['del:x', 'read:x', 'write:x']);
  assert.deepEqual(apiScopes(o.body.scope), ['del:x', 'read:x', 'write:x']);
  assert.deepEqual(o.at.permissions, ['read:x']);
});

test('a permission granted later is in the next login\'s scope (narrowing is recomputed, not remembered)', async () => {
  const jar = new Jar();
  const A = api('access_token_authz');
  const before = await loginTokens(allow, { audience: A, scope: ALL }, undefined, undefined, jar);
  assert.deepEqual(apiScopes(before.body.scope), ['read:x']);
  await mc.users.permissions.create(aliceId, { permissions: [{ resource_server_identifier: A, permission_name: 'del:x' }] });
  try {
    const after = await loginTokens(allow, { audience: A, scope: ALL }, undefined, undefined, jar);
    assert.deepEqual(apiScopes(after.body.scope), ['del:x', 'read:x']);
    assert.deepEqual(after.at.permissions, ['del:x', 'read:x']);
  } finally {
    await mc.users.permissions.delete(aliceId, { permissions: [{ resource_server_identifier: A, permission_name: 'del:x' }] });
  }
});

test('password grant: enforce_policies narrows the response scope as well as the JWT', async () => {
  const t = await tokenRequest(allow, { grant_type: 'http://auth0.com/oauth/grant-type/password-realm', realm: 'Username-Password-Authentication', username: 'alice@example.com', password: 'Alice-pw-123!', audience: api('access_token'), scope: 'openid read:x write:x del:x' });
  assert.deepEqual(apiScopes(t.at.scope), ['read:x']);
  assert.deepEqual(apiScopes(t.body.scope), ['read:x']);
});

test('organization by id and by name: org_id/org_name in ID and access tokens, member roles add permissions, the response scope follows', async () => {
  const A = api('rfc9068_profile_authz');
  for (const organization of [acme.id, 'acme', 'ACME']) {
    const t = await loginTokens(allow, { organization, audience: A, scope: ALL });
    assert.equal(t.id.org_id, acme.id, organization);
    assert.equal(t.id.org_name, 'acme');
    assert.equal(t.at.org_id, acme.id);
    assert.equal(t.at.org_name, 'acme');
    assert.deepEqual(t.at.permissions, ['read:x', 'write:x']);
    assert.deepEqual(apiScopes(t.at.scope), ['read:x', 'write:x']);
    assert.deepEqual(apiScopes(t.body.scope), ['read:x', 'write:x']);
  }
});

test('one session, two authorizations: the organization belongs to each authorization, and refresh keeps it', async () => {
  const A = api('access_token_authz');
  const jar = new Jar();
  const inOrg = await loginTokens(allow, { organization: acme.id, audience: A, scope: ALL }, undefined, undefined, jar);
  // Same session (no login form), no organization this time.
  const plain = await loginTokens(allow, { audience: A, scope: ALL }, undefined, undefined, jar);
  assert.equal(plain.id.org_id, undefined);
  assert.equal(plain.at.org_id, undefined);
  assert.deepEqual(plain.at.permissions, ['read:x']);
  assert.ok(inOrg.body.refresh_token && plain.body.refresh_token);

  const r1 = await tokenRequest(allow, { grant_type: 'refresh_token', refresh_token: inOrg.body.refresh_token });
  assert.equal(r1.at.org_id, acme.id);
  assert.equal(r1.at.org_name, 'acme');
  assert.equal(r1.id.org_id, acme.id);
  assert.equal(r1.id.org_name, 'acme');
  assert.deepEqual(r1.at.permissions, ['read:x', 'write:x']);
  assert.deepEqual(apiScopes(r1.body.scope), ['read:x', 'write:x']);
  const r2 = await tokenRequest(allow, { grant_type: 'refresh_token', refresh_token: plain.body.refresh_token });
  assert.equal(r2.at.org_id, undefined);
  assert.equal(r2.id.org_id, undefined);
  assert.deepEqual(r2.at.permissions, ['read:x']);
});

test('organization_usage deny: organization is refused at the redirect_uri; without it login works', async () => {
  const r = await follow(new Jar(), authorizeUrl(deny, { organization: acme.id }), s.baseUrl);
  const q = new URL(r.url).searchParams;
  assert.ok(r.url.startsWith(CB), r.url);
  assert.equal(q.get('error'), 'invalid_request');
  assert.match(q.get('error_description')!, /organization is not allowed/);
  assert.equal(q.get('state'), 'st-1');
  const t = await loginTokens(deny, {});
  assert.equal(t.id.org_id, undefined);
});

test('organization_usage require (no_prompt): a missing organization is an error, an unknown one too; a member gets in', async () => {
  for (const [params, re] of [[{}, /organization is required/], [{ organization: 'nope' }, /no organization found/]] as const) {
    const r = await follow(new Jar(), authorizeUrl(requireNoPrompt, params), s.baseUrl);
    assert.ok(r.url.startsWith(CB), r.url);
    const q = new URL(r.url).searchParams;
    assert.equal(q.get('error'), 'invalid_request');
    assert.match(q.get('error_description')!, re);
  }
  const t = await loginTokens(requireNoPrompt, { organization: 'acme' });
  assert.equal(t.id.org_id, acme.id);
});

test('membership is enforced: a non-member is refused and not added; a member whose connection is not enabled on the organization too', async () => {
  const { q } = await authorize(allow, { organization: acme.id }, 'bob@example.com', 'Bob-pw-12345!');
  assert.equal(q.get('error'), 'access_denied');
  assert.match(q.get('error_description')!, /not part of the "acme" organization/);
  assert.equal(q.get('code'), null);
  const members = (await s.api('GET', `/organizations/${acme.id}/members`)).body;
  assert.deepEqual(members.map((m: any) => m.user_id), [aliceId]);
  const noConn = await authorize(allow, { organization: other.id }, 'alice@example.com', 'Alice-pw-123!');
  assert.equal(noConn.q.get('error'), 'access_denied');
  assert.match(noConn.q.get('error_description')!, /connection is not enabled/);
});

test('assign_membership_on_login: a non-member joins the organization by logging in', async () => {
  const bob = (await s.api('GET', `/users-by-email?email=bob@example.com`)).body[0];
  assert.deepEqual((await s.api('GET', `/users/${encodeURIComponent(bob.user_id)}/organizations`)).body, []);
  const t = await loginTokens(allow, { organization: 'open-door' }, 'bob@example.com', 'Bob-pw-12345!');
  assert.equal(t.id.org_id, open.id);
  assert.equal(t.id.org_name, 'open-door');
  const orgs = (await s.api('GET', `/users/${encodeURIComponent(bob.user_id)}/organizations`)).body;
  assert.deepEqual(orgs.map((o: any) => o.id), [open.id]);
});

test('post_login_prompt: after login the person picks one of their organizations', async () => {
  const jar = new Jar();
  const r = await scriptedLogin(s, authorizeUrl(postPicker), 'alice@example.com', 'Alice-pw-123!', jar);
  assert.match(r.url, /\/u\/organization\?state=/);
  const html = await r.res.text();
  assert.match(html, /Acme Inc/);
  assert.match(html, /no-connections/);
  assert.doesNotMatch(html, /open-door/);
  // A forged choice (an organization she is not in) is refused on the page.
  const fields = formFields(html);
  const bad = await go(jar, `${s.baseUrl}/u/organization`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...fields, organization: open.id }) });
  assert.equal(bad.status, 400);
  const posted = await go(jar, `${s.baseUrl}/u/organization`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...fields, organization: acme.id }) });
  assert.equal(posted.status, 303);
  const done = await follow(jar, new URL(posted.headers.get('location')!, s.baseUrl).toString(), s.baseUrl);
  assert.ok(done.url.startsWith(CB), done.url);
  const t = await exchange(postPicker, new URL(done.url).searchParams.get('code'));
  assert.equal(t.id.org_id, acme.id);
  assert.equal(t.id.org_name, 'acme');
});

test('invitations: used once, then refused; expired ones are refused before login', async () => {
  const inviteApp = await createApp(s, { name: 'Invite', app_type: 'regular_web', callbacks: [CB], organization_usage: 'require', initiate_login_uri: 'https://app.example.com/login' });
  const writer = (await s.api('GET', '/roles?name_filter=acme-writer')).body[0];
  const inv = (await s.api('POST', `/organizations/${acme.id}/invitations`, { body: { inviter: { name: 'Alice' }, invitee: { email: 'carol@example.com' }, client_id: inviteApp.client_id, roles: [writer.id], send_invitation_email: false } })).body;
  const url = new URL(inv.invitation_url);
  const params = { invitation: url.searchParams.get('invitation')!, organization: url.searchParams.get('organization')! };
  await createUser(s, 'carol@example.com', 'Carol-pw-123!');
  // Carol has an account: the invitation opens the login page with her address.
  const first = await follow(new Jar(), authorizeUrl(inviteApp, params), s.baseUrl);
  assert.match(first.url, /\/u\/login\?state=/);
  assert.match(await first.res.text(), /value="carol(@|&#64;)example\.com"/);
  const t = await loginTokens(inviteApp, params, 'carol@example.com', 'Carol-pw-123!');
  assert.equal(t.id.org_id, acme.id);
  const carol = t.id.sub;
  const roles = (await s.api('GET', `/organizations/${acme.id}/members/${encodeURIComponent(carol)}/roles`)).body;
  assert.deepEqual(roles.map((r: any) => r.id), [writer.id]);
  assert.equal((await s.api('GET', `/organizations/${acme.id}/invitations/${inv.id}`)).status, 404);
  const again = await follow(new Jar(), authorizeUrl(inviteApp, params), s.baseUrl);
  assert.ok(again.url.startsWith(CB), again.url);
  assert.equal(new URL(again.url).searchParams.get('error'), 'invalid_request');
  assert.match(new URL(again.url).searchParams.get('error_description')!, /already used/);

  const old = (await s.api('POST', `/organizations/${acme.id}/invitations`, { body: { inviter: { name: 'A' }, invitee: { email: 'dave@example.com' }, client_id: inviteApp.client_id, send_invitation_email: false } })).body;
  const doc = await s.runtime.env.store.invitations.get(old.id);
  await s.runtime.env.store.invitations.update(old.id, { ...doc!.data, expires_at: new Date(Date.now() - 1000).toISOString() });
  const ou = new URL(old.invitation_url);
  const expired = await follow(new Jar(), authorizeUrl(inviteApp, { invitation: ou.searchParams.get('invitation')!, organization: acme.id }), s.baseUrl);
  assert.ok(expired.url.startsWith(CB), expired.url);
  assert.equal(new URL(expired.url).searchParams.get('error'), 'invalid_request');
  assert.match(new URL(expired.url).searchParams.get('error_description')!, /expired/);
  // send_invitation_email: false sent nothing.
  assert.deepEqual(outbox(s.dataDir).filter((m) => /invited/.test(m.subject)).map((m) => m.to), []);
});

test('an invitation for another address does not make the logged-in person a member', async () => {
  const inviteApp = await createApp(s, { name: 'Invite2', app_type: 'regular_web', callbacks: [CB], organization_usage: 'require', initiate_login_uri: 'https://app.example.com/login' });
  const inv = (await s.api('POST', `/organizations/${acme.id}/invitations`, { body: { inviter: { name: 'A' }, invitee: { email: 'erin@example.com' }, client_id: inviteApp.client_id, send_invitation_email: false } })).body;
  const u = new URL(inv.invitation_url);
  // erin has no account, so the invitation opens sign-up; bob goes to the login page and logs in as himself.
  const jar = new Jar();
  const first = await follow(jar, authorizeUrl(inviteApp, { invitation: u.searchParams.get('invitation')!, organization: acme.id }), s.baseUrl);
  assert.match(first.url, /\/u\/signup\?state=/);
  const html = await first.res.text();
  assert.match(html, /id="email"[^>]*readonly[^>]*value="erin(@|&#64;)example\.com"/);
  // Signing up with another address is refused on the form.
  const fields = formFields(html);
  const other = await go(jar, `${s.baseUrl}/u/signup`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...fields, email: 'mallory@example.com', password: 'Mallory-pw-123!' }) });
  assert.equal(other.status, 400);
  assert.match(await other.text(), /invitation was sent to/);
  assert.equal((await s.api('GET', '/users-by-email?email=mallory@example.com')).body.length, 0);
  const login = await go(jar, `${s.baseUrl}/u/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...fields, username: 'bob@example.com', password: 'Bob-pw-12345!' }) });
  assert.equal(login.status, 303);
  const done = await follow(jar, new URL(login.headers.get('location')!, s.baseUrl).toString(), s.baseUrl);
  const q = new URL(done.url).searchParams;
  assert.equal(q.get('error'), 'access_denied');
  assert.match(q.get('error_description')!, /different email/);
  assert.equal((await s.api('GET', `/organizations/${acme.id}/invitations/${inv.id}`)).status, 200);
});
