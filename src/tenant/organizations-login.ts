import { getOrgConnection, isMember } from '../store/rbac-store.ts';
import type { Env } from './env.ts';
import { findOrganization } from './rbac.ts';

// Decisions the login layer takes about organizations, per Auth0's client
// settings `organization_usage` (deny | allow | require) and
// `organization_require_behavior` (no_prompt | pre_login_prompt | post_login_prompt).
// The decisions are pure; the small loaders below fetch what they need.

export interface OAuthError { error: string; error_description: string }
export type OrgRequirement =
  | { kind: 'none' }                                  // log in without an organization
  | { kind: 'resolve'; value: string }                // look up this id or name
  | { kind: 'prompt'; when: 'pre_login' | 'post_login' }
  | { kind: 'error'; err: OAuthError };

/** What /authorize must do about `organization`, before anyone has logged in. */
export function organizationRequirement(client: { organization_usage?: string; organization_require_behavior?: string }, organization: string | undefined): OrgRequirement {
  const usage = client.organization_usage ?? 'deny';
  const given = organization !== undefined && organization !== '';
  if (usage === 'deny') {
    return given ? { kind: 'error', err: { error: 'invalid_request', error_description: 'parameter organization is not allowed for this client' } } : { kind: 'none' };
  }
  if (given) return { kind: 'resolve', value: organization! };
  if (usage === 'allow') return { kind: 'none' };
  switch (client.organization_require_behavior ?? 'no_prompt') {
    case 'pre_login_prompt': return { kind: 'prompt', when: 'pre_login' };
    case 'post_login_prompt': return { kind: 'prompt', when: 'post_login' };
    default: return { kind: 'error', err: { error: 'invalid_request', error_description: 'parameter organization is required for this client' } };
  }
}

export const unknownOrganization = (value: string): OAuthError =>
  ({ error: 'invalid_request', error_description: `no organization found by that id or name: ${value}` });

export type MembershipDecision = { kind: 'member' } | { kind: 'join' } | { kind: 'error'; err: OAuthError };

/**
 * After login: members pass; non-members join when the connection they used is
 * enabled on the organization with `assign_membership_on_login` (or they hold
 * a valid invitation); everyone else is refused.
 */
export function membershipDecision(input: {
  orgName: string; member: boolean;
  connection?: { assign_membership_on_login?: boolean } | undefined;
  invited?: boolean;
}): MembershipDecision {
  if (input.member) return { kind: 'member' };
  if (input.invited || input.connection?.assign_membership_on_login) return { kind: 'join' };
  return { kind: 'error', err: { error: 'access_denied', error_description: `user is not part of the "${input.orgName}" organization` } };
}

/** Only connections enabled on the organization may be used to log in to it. */
export function connectionAllowed(orgConnectionIds: string[], connectionId: string): boolean {
  return orgConnectionIds.includes(connectionId);
}

/** An invitation is usable for its own organization until it expires. */
export function invitationDecision(inv: { organization_id: string; expires_at: string } | undefined, orgId: string, now = Date.now()): { ok: true } | { ok: false; err: OAuthError } {
  if (!inv || inv.organization_id !== orgId) return { ok: false, err: { error: 'invalid_request', error_description: 'invitation not found or already used' } };
  if (Date.parse(inv.expires_at) <= now) return { ok: false, err: { error: 'invalid_request', error_description: 'invitation expired' } };
  return { ok: true };
}

/** post_login_prompt with no organizations to pick from is an error, not an empty page. */
export function postLoginChoices<T>(orgs: T[]): { ok: true; orgs: T[] } | { ok: false; err: OAuthError } {
  return orgs.length ? { ok: true, orgs } : { ok: false, err: { error: 'access_denied', error_description: 'user is not a member of any organization' } };
}

// --- loaders -------------------------------------------------------------------
/** The organization named by `organization` (id or name), with the facts the decisions need for this user. */
export async function loadOrgContext(env: Env, organization: string, userId: string | undefined, connectionId: string | undefined) {
  const org = await findOrganization(env, organization);
  if (!org) return undefined;
  return {
    org_id: org.id,
    org_name: org.data.name as string,
    member: userId ? await isMember(env.store, org.id, userId) : false,
    connection: connectionId ? await getOrgConnection(env.store, org.id, connectionId) : undefined,
  };
}

/** The invitation behind an `invitation` ticket of an organization's link. */
export async function findInvitationByTicket(env: Env, orgId: string, ticket: string) {
  const { items } = await env.store.invitations.list({ org_id: orgId });
  const doc = items.find((d) => d.data.ticket_id === ticket);
  return doc ? { id: doc.id, ...doc.data } as { id: string; organization_id: string; expires_at: string; roles?: string[]; invitee: { email: string }; client_id: string; connection_id?: string } : undefined;
}
