import { isMember, permissionNamesFor } from '../store/rbac-store.ts';
import type { Env } from './env.ts';

// What RBAC means for tokens: the permissions a user holds for one API, how an
// API's settings narrow a token's scope, and the organization a token is for.

/** Union of the user's role permissions and direct permissions for the API (plus their org roles' inside an organization). */
export function effectivePermissions(env: Env, userId: string, audience: string, orgId?: string): Promise<string[]> {
  return permissionNamesFor(env.store, userId, audience, orgId);
}

// Scopes about the user's identity, not the API; RBAC never removes them.
const OIDC_SCOPES = new Set(['openid', 'profile', 'email', 'address', 'phone', 'offline_access']);

export const isAuthzDialect = (dialect: unknown) => dialect === 'access_token_authz' || dialect === 'rfc9068_profile_authz';

/**
 * The scope string of a user access token for an API with `enforce_policies`:
 * the requested scopes the user holds, plus the OIDC scopes.
 */
export function limitScope(requested: string | undefined, held: string[]): string {
  const have = new Set(held);
  return (requested ?? '').split(' ').filter((s) => s && (OIDC_SCOPES.has(s) || have.has(s))).join(' ');
}

export interface TokenOrg { org_id: string; org_name: string }

/**
 * The organization a login is for, given the `organization` parameter (an id or
 * a name): undefined if it does not exist or the user is not a member.
 */
export async function orgForToken(env: Env, organization: string, userId: string): Promise<TokenOrg | undefined> {
  const org = await findOrganization(env, organization);
  if (!org || !(await isMember(env.store, org.id, userId))) return undefined;
  return { org_id: org.id, org_name: org.data.name };
}

/** Organizations are addressed by id (`org_…`) or by their lowercase name. */
export async function findOrganization(env: Env, idOrName: string) {
  if (idOrName.startsWith('org_')) {
    const byId = await env.store.organizations.get(idOrName);
    if (byId) return byId;
  }
  return env.store.organizations.findBy('name', idOrName.toLowerCase());
}

/**
 * RBAC claims of an access token for an API, applied after the engine has set
 * `scope`: with `enforce_policies` a user's API scopes shrink to what they hold;
 * the `*_authz` dialects add `permissions` (a client's granted scopes for
 * client credentials, everything the user holds otherwise).
 */
export async function applyRbacClaims(env: Env, api: { data: any } | undefined, token: { kind: string; accountId?: string }, payload: any) {
  if (!api) return;
  const { enforce_policies: enforce, token_dialect: dialect, identifier } = api.data;
  if (token.kind === 'ClientCredentials') {
    if (isAuthzDialect(dialect)) payload.permissions = String(payload.scope ?? '').split(' ').filter(Boolean);
    return;
  }
  if (token.kind !== 'AccessToken' || !token.accountId || (!enforce && !isAuthzDialect(dialect))) return;
  const held = await effectivePermissions(env, token.accountId, identifier, typeof payload.org_id === 'string' ? payload.org_id : undefined);
  if (enforce) {
    const scope = limitScope(payload.scope, held);
    if (scope) payload.scope = scope; else delete payload.scope;
  }
  if (isAuthzDialect(dialect)) payload.permissions = held;
}

/**
 * The API scopes a user may be granted: all requested ones, or with
 * `enforce_policies` only those the user holds. For the login layer to use
 * when it builds a Grant, so the token response's `scope` matches the JWT.
 */
export async function grantableApiScopes(env: Env, api: { data: any }, userId: string, requested: string[], orgId?: string): Promise<string[]> {
  if (!api.data.enforce_policies) return requested;
  const held = new Set(await effectivePermissions(env, userId, api.data.identifier, orgId));
  return requested.filter((s) => held.has(s));
}
