import type { Env } from '../tenant/env.ts';
import { addMemberRoles, addMembers } from '../store/rbac-store.ts';
import {
  connectionAllowed, findInvitationByTicket, invitationDecision, loadOrgContext, membershipDecision, unknownOrganization, type OAuthError,
} from '../tenant/organizations-login.ts';
import { grantableApiScopes, type TokenOrg } from '../tenant/rbac.ts';
import type { ResourceServerCache } from './resource-servers.ts';

// The Grant of one authorization: which organization it is for (each
// organization gets a grant of its own, so tokens of one never turn into
// tokens of another on refresh), and, for APIs with enforce_policies, only the
// scopes the user holds, so the token response's `scope` matches the JWT.

type Admission = { org: TokenOrg | null } | { refused: OAuthError };
const admissions = new WeakMap<object, Admission>();

/** Why this authorization's user may not use the requested organization (thrown after any login prompt). */
export const refusalFor = (ctx: any): OAuthError | undefined => {
  const a = admissions.get(ctx);
  return a && 'refused' in a ? a.refused : undefined;
};

const sameEmail = (a: unknown, b: unknown) => typeof a === 'string' && typeof b === 'string' && a.toLowerCase() === b.toLowerCase();

/**
 * Members pass; a non-member joins when invited (the invitation is then used
 * up and its roles given) or when their connection assigns membership on
 * login; anyone else is refused. Only the organization's enabled connections
 * may log in to it.
 */
async function admit(env: Env, ctx: any): Promise<Admission> {
  const value = ctx.oidc.params.organization;
  if (typeof value !== 'string' || !value) return { org: null };
  const accountId: string = ctx.oidc.session.accountId;
  const user = await env.store.getUser(accountId);
  const conn = user ? await env.store.connections.findBy('name', user.connection) : undefined;
  const oc = await loadOrgContext(env, value, accountId, conn?.id);
  if (!oc) return { refused: unknownOrganization(value) };
  if (!conn || !connectionAllowed(oc.connection ? [oc.connection.connection_id] : [], conn.id)) {
    return { refused: { error: 'access_denied', error_description: `the connection is not enabled for the "${oc.org_name}" organization` } };
  }
  const ticket = ctx.oidc.params.invitation;
  let invitation: Awaited<ReturnType<typeof findInvitationByTicket>>;
  if (typeof ticket === 'string' && ticket) {
    invitation = await findInvitationByTicket(env, oc.org_id, ticket);
    const valid = invitationDecision(invitation, oc.org_id);
    if (!valid.ok) return { refused: valid.err };
    if (!sameEmail(invitation!.invitee?.email, user?.email)) {
      return { refused: { error: 'access_denied', error_description: 'the invitation was sent to a different email address' } };
    }
  }
  const decision = membershipDecision({ orgName: oc.org_name, member: oc.member, connection: oc.connection, invited: Boolean(invitation) });
  if (decision.kind === 'error') return { refused: decision.err };
  if (invitation) {
    // Deleting is the compare-and-set: of two uses of one link, one wins.
    if (!(await env.store.invitations.delete(invitation.id))) return { refused: { error: 'invalid_request', error_description: 'invitation not found or already used' } };
    await addMembers(env.store, oc.org_id, [accountId]);
    await addMemberRoles(env.store, oc.org_id, accountId, invitation.roles ?? []);
  } else if (decision.kind === 'join') {
    await addMembers(env.store, oc.org_id, [accountId]);
  }
  return { org: { org_id: oc.org_id, org_name: oc.org_name } };
}

const orgIdOf = (org: TokenOrg | null | undefined) => org?.org_id ?? null;

/** A grant from an earlier authorization serves this one only for the same organization (or both none). */
export function grantServesOrganization(ctx: any, grant: any): boolean {
  const a = admissions.get(ctx);
  const wanted = a && 'org' in a ? a.org : null;
  return orgIdOf(grant.organization) === orgIdOf(wanted);
}

/**
 * With enforce_policies the API scopes in the grant are what the user holds
 * (in the organization, with its member roles); the rest are recorded as
 * rejected so the engine does not ask for them again.
 */
async function narrowToPermissions(env: Env, apis: ResourceServerCache, ctx: any, grant: any, org: TokenOrg | null) {
  for (const indicator of Object.keys(ctx.oidc.resourceServers ?? {})) {
    const api = await apis.get(indicator);
    if (!api?.data.enforce_policies) continue;
    const split = (s: string | undefined) => String(s ?? '').split(' ').filter(Boolean);
    const granted = split(grant.resources?.[indicator]);
    const rejected = new Set(split(grant.rejected?.resources?.[indicator]));
    const firstParty = ctx.oidc.client.is_first_party !== false;
    // First-party grants were never refused anything by a person: reconsider every scope seen.
    const candidates = firstParty ? [...new Set([...granted, ...rejected])] : granted.filter((s) => !rejected.has(s));
    const held = await grantableApiScopes(env, api, grant.accountId, candidates, org?.org_id);
    const refused = firstParty ? candidates.filter((s) => !held.includes(s)) : [...rejected, ...granted.filter((s) => !held.includes(s))];
    grant.resources = { ...grant.resources, [indicator]: held.join(' ') };
    grant.rejected = { ...grant.rejected, resources: { ...grant.rejected?.resources, [indicator]: refused.join(' ') } };
  }
}

/**
 * Wraps loadExistingGrant: decides the organization first (the base loader
 * asks grantServesOrganization before reusing a grant), then records it on
 * the grant and narrows API scopes.
 */
export function organizationGrant(env: Env, apis: ResourceServerCache, base: (ctx: any) => Promise<any>) {
  return async (ctx: any) => {
    const admission = await admit(env, ctx);
    admissions.set(ctx, admission);
    const grant = await base(ctx);
    if (!grant) return grant;
    const org = 'org' in admission ? admission.org : null;
    grant.organization = org;
    await narrowToPermissions(env, apis, ctx, grant, org);
    await grant.save();
    return grant;
  };
}
