import type { Env } from '../tenant/env.ts';
import { unknownOrganization } from '../tenant/organizations-login.ts';
import { findOrganization } from '../tenant/rbac.ts';
import { OAuthError } from './errors.ts';

// Auth0's machine-to-machine access for organizations. The client grant of
// the requested API decides, by its organization_usage (deny, the default;
// allow; require), whether client credentials may or must name an
// organization (by id or name); the organization must then be associated with
// the grant (management/organization-client-grants.ts) unless the grant allows
// any. The token carries org_id, and org_name when the tenant allows names in
// the Authentication API.

/** Where the token's organization claims wait for extraTokenClaims (oidc/organization.ts). */
export const CC_ORGANIZATION = 'posternClientCredentialsOrganization';

export type OrgClaims = { org_id: string; org_name?: string };

export async function clientCredentialsOrganization(
  env: Env, grant: { data: any }, given: string | undefined, withName: () => Promise<boolean>,
): Promise<OrgClaims | undefined> {
  const usage = grant.data.organization_usage ?? 'deny';
  const value = given === '' ? undefined : given;
  if (value === undefined) {
    if (usage === 'require') throw new OAuthError(400, 'invalid_request', 'parameter organization is required for this client grant');
    return undefined;
  }
  if (usage !== 'allow' && usage !== 'require') throw new OAuthError(400, 'invalid_request', 'parameter organization is not allowed for this client grant');
  const org = await findOrganization(env, value);
  if (!org) {
    const e = unknownOrganization(value);
    throw new OAuthError(400, e.error, e.error_description);
  }
  if (grant.data.allow_any_organization !== true && !(grant.data.organizations ?? []).includes(org.id)) {
    throw new OAuthError(403, 'access_denied', `Client is not authorized to access the "${org.data.name}" organization: the client grant is not associated with it.`);
  }
  return { org_id: org.id, ...((await withName()) ? { org_name: org.data.name as string } : {}) };
}
