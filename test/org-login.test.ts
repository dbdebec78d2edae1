import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  connectionAllowed, findInvitationByTicket, invitationDecision, loadOrgContext, membershipDecision, organizationRequirement, postLoginChoices,
} from '../src/tenant/organizations-login.ts';
import { orgForToken } from '../src/tenant/rbac.ts';
import { startServer, type TestServer } from './helpers/server.ts';
import { managementClient } from './helpers/sdk.ts';

test('organization_usage deny/allow/require and organization_require_behavior', () => {
  assert.deepEqual(organizationRequirement({}, undefined), { kind: 'none' });
  assert.equal(organizationRequirement({ organization_usage: 'deny' }, 'acme').kind, 'error');
  assert.deepEqual(organizationRequirement({ organization_usage: 'allow' }, undefined), { kind: 'none' });
  assert.deepEqual(organizationRequirement({ organization_usage: 'allow' }, 'acme'), { kind: 'resolve', value: 'acme' });
  assert.deepEqual(organizationRequirement({ organization_usage: 'require' }, 'org_1'), { kind: 'resolve', value: 'org_1' });
  const noPrompt = organizationRequirement({ organization_usage: 'require' }, undefined);
  assert.equal(noPrompt.kind, 'error');
  assert.equal((noPrompt as any).err.error, 'invalid_request');
  assert.deepEqual(organizationRequirement({ organization_usage: 'require', organization_require_behavior: 'pre_login_prompt' }, ''), { kind: 'prompt', when: 'pre_login' });
  assert.deepEqual(organizationRequirement({ organization_usage: 'require', organization_require_behavior: 'post_login_prompt' }, undefined), { kind: 'prompt', when: 'post_login' });
});

test('membership, connections, invitations and the post-login picker', () => {
  assert.deepEqual(membershipDecision({ orgName: 'acme', member: true }), { kind: 'member' });
  assert.deepEqual(membershipDecision({ orgName: 'acme', member: false, connection: { assign_membership_on_login: true } }), { kind: 'join' });
  assert.deepEqual(membershipDecision({ orgName: 'acme', member: false, invited: true }), { kind: 'join' });
  const refused = membershipDecision({ orgName: 'acme', member: false, connection: { assign_membership_on_login: false } });
  assert.equal(refused.kind, 'error');
  assert.equal((refused as any).err.error, 'access_denied');
  assert.equal(connectionAllowed(['con_a'], 'con_a'), true);
  assert.equal(connectionAllowed(['con_a'], 'con_b'), false);
  const inv = { organization_id: 'org_1', expires_at: new Date(Date.now() + 60_000).toISOString() };
  assert.deepEqual(invitationDecision(inv, 'org_1'), { ok: true });
  assert.equal(invitationDecision(inv, 'org_2').ok, false);
  assert.equal(invitationDecision(inv, 'org_1', Date.now() + 120_000).ok, false);
  assert.equal(invitationDecision(undefined, 'org_1').ok, false);
  assert.equal(postLoginChoices([]).ok, false);
  assert.deepEqual(postLoginChoices([1]), { ok: true, orgs: [1] });
});

let s: TestServer;
before(async () => { s = await startServer(); });
after(async () => { await s?.close(); });

test('loaders: organization by id or name, membership, enabled connection, invitation ticket, token org claims', async () => {
  const mc = managementClient(s);
  const conn = (await s.api('GET', '/connections')).body.find((c: any) => c.name === 'Username-Password-Authentication');
  const org = await mc.organizations.create({ name: 'login-org', enabled_connections: [{ connection_id: conn.id, assign_membership_on_login: true }] });
  const user = (await mc.users.create({ connection: 'Username-Password-Authentication', email: 'ol@example.com', password: 'Org-L0gin-pw!' })).user_id!;
  const env = s.runtime.env;

  const byName = await loadOrgContext(env, 'LOGIN-ORG', user, conn.id);
  assert.deepEqual(byName, { org_id: org.id, org_name: 'login-org', member: false, connection: { connection_id: conn.id, assign_membership_on_login: true, show_as_button: true } });
  assert.equal(membershipDecision({ orgName: byName!.org_name, member: byName!.member, connection: byName!.connection }).kind, 'join');
  assert.equal(await loadOrgContext(env, 'nope', user, undefined), undefined);
  assert.equal(await orgForToken(env, org.id!, user), undefined);

  await mc.organizations.members.create(org.id!, { members: [user] });
  assert.equal((await loadOrgContext(env, org.id!, user, undefined))!.member, true);
  assert.deepEqual(await orgForToken(env, org.id!, user), { org_id: org.id, org_name: 'login-org' });
  assert.deepEqual(await orgForToken(env, 'login-org', user), { org_id: org.id, org_name: 'login-org' });

  const app = await mc.clients.create({ name: 'inv', app_type: 'regular_web', initiate_login_uri: 'https://app.example.com/login', callbacks: ['https://app.example.com/cb'] });
  const inv = await mc.organizations.invitations.create(org.id!, { inviter: { name: 'A' }, invitee: { email: 'new@example.com' }, client_id: app.client_id!, send_invitation_email: false });
  const found = await findInvitationByTicket(env, org.id!, inv.ticket_id!);
  assert.equal(found!.id, inv.id);
  assert.deepEqual(invitationDecision(found, org.id!), { ok: true });
  assert.equal(await findInvitationByTicket(env, org.id!, 'wrong'), undefined);
});
