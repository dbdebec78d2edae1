import { errors, interactionPolicy } from 'oidc-provider';
import type { Env } from '../tenant/env.ts';
import type { TokenOrg } from '../tenant/rbac.ts';
import { findInvitationByTicket, invitationDecision, organizationRequirement, unknownOrganization, type OAuthError } from '../tenant/organizations-login.ts';
import { findOrganization } from '../tenant/rbac.ts';
import type { ClientCache } from './clients.ts';
import { refusalFor } from './organization-grant.ts';
import { CC_ORGANIZATION } from './client-credentials-organization.ts';

// Organization login on the engine: the `organization` parameter (an id or a
// name), the client's organization_usage / organization_require_behavior, the
// two organization prompts, and org_id / org_name on the tokens. The chosen
// organization lives on the Grant of the authorization (see organization-grant.ts).

const { Prompt, Check } = interactionPolicy;

export const ORG_CLAIMS = ['org_id', 'org_name'];
export const PRE_LOGIN_PROMPT = 'organization-selection';
export const POST_LOGIN_PROMPT = 'organization-picker';

export const oauthError = (e: OAuthError) => new errors.CustomOIDCProviderError(e.error, e.error_description);

/**
 * Validator of the `organization` extra parameter (and of `invitation`, which
 * only makes sense with it). Runs once redirect_uri is trusted, so its errors
 * go back to the application. A name is replaced by the organization's id.
 */
export function organizationParam(env: Env, clients: ClientCache) {
  return async (ctx: any, value: unknown) => {
    const client = await clients.get(ctx.oidc.client.clientId);
    const given = typeof value === 'string' ? value : undefined;
    const requirement = organizationRequirement(client?.data ?? {}, given);
    if (requirement.kind === 'error') throw oauthError(requirement.err);
    const invitation = ctx.oidc.params.invitation;
    if (requirement.kind !== 'resolve') {
      if (invitation) throw new errors.InvalidRequest('parameter invitation requires parameter organization');
      return;
    }
    const org = await findOrganization(env, requirement.value);
    if (!org) throw oauthError(unknownOrganization(requirement.value));
    ctx.oidc.params.organization = org.id;
    if (typeof invitation === 'string' && invitation) {
      const decision = invitationDecision(await findInvitationByTicket(env, org.id, invitation), org.id);
      if (!decision.ok) throw oauthError(decision.err);
    }
  };
}

/**
 * The engine's prompts plus Auth0's organization prompts: the pre-login one
 * (asks for the organization's name) comes before login, the post-login
 * picker after it. The picker's prompt also carries the refusal of a
 * non-member, so that a required login is shown before it.
 */
export function organizationPolicy(clients: ClientCache) {
  const requirement = async (ctx: any) => {
    const client = await clients.get(ctx.oidc.client.clientId);
    const value = ctx.oidc.params.organization;
    return organizationRequirement(client?.data ?? {}, typeof value === 'string' ? value : undefined);
  };
  const policy = interactionPolicy.base();
  policy.add(new Prompt({ name: PRE_LOGIN_PROMPT, requestable: false },
    new Check('organization_missing', 'the application requires an organization', async (ctx: any) => {
      const r = await requirement(ctx);
      return r.kind === 'prompt' && r.when === 'pre_login' ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT;
    })), 0);
  const consentAt = policy.findIndex((p: any) => p.name === 'consent');
  policy.add(new Prompt({ name: POST_LOGIN_PROMPT, requestable: false },
    new Check('organization_refused', 'the user may not use this organization', (ctx: any) => {
      const refusal = refusalFor(ctx);
      if (refusal) throw oauthError(refusal);
      return Check.NO_NEED_TO_PROMPT;
    }),
    new Check('organization_not_chosen', 'the user must pick an organization', async (ctx: any) => {
      const r = await requirement(ctx);
      return r.kind === 'prompt' && r.when === 'post_login' ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT;
    })), consentAt);
  return policy;
}

/**
 * Where the organization prompts live, and invitations: an invitee goes to
 * sign up (or to log in when they already have an account) with the invited
 * email filled in.
 */
export function organizationInteractionUrl(env: Env, base: (ctx: unknown, interaction: any) => string) {
  const hasAccount = async (email: string, clientId: string) => {
    const conns = (await env.store.connections.list({ strategy: 'auth0' })).items.filter((c: any) => (c.data.enabled_clients ?? []).includes(clientId));
    for (const c of conns) if (await env.store.userByConnectionEmail(c.data.name, email)) return true;
    return false;
  };
  return async (ctx: unknown, interaction: any) => {
    const state = encodeURIComponent(interaction.uid);
    const name = interaction.prompt?.name;
    if (name === PRE_LOGIN_PROMPT || name === POST_LOGIN_PROMPT) return `/u/organization?state=${state}`;
    const p = interaction.params;
    if (name === 'login' && p.invitation && p.organization) {
      const inv = await findInvitationByTicket(env, p.organization, p.invitation);
      const email = inv?.invitee?.email;
      if (email) {
        p.login_hint = email;
        await interaction.save(Math.max(1, interaction.exp - Math.floor(Date.now() / 1000)));
        return (await hasAccount(email, p.client_id)) ? `/u/login?state=${state}` : `/u/signup?state=${state}`;
      }
    }
    return base(ctx, interaction);
  };
}

/** The organization recorded on a grant (null when the authorization had none). */
export const grantOrganization = (grant: any): TokenOrg | undefined => grant?.organization ?? undefined;

async function organizationOf(ctx: any, grantId: string | undefined): Promise<TokenOrg | undefined> {
  const loaded = ctx?.oidc?.entities?.Grant;
  if (loaded && (!grantId || loaded.jti === grantId)) return grantOrganization(loaded);
  if (!grantId || !ctx?.oidc?.provider) return undefined;
  return grantOrganization(await ctx.oidc.provider.Grant.find(grantId));
}

/** extraTokenClaims: access tokens of an organization's authorization carry org_id and org_name (before the JWT customizer, which reads org_id for RBAC); client credentials, what the token endpoint decided. */
export async function organizationTokenClaims(ctx: any, token: any) {
  if (token.kind === 'ClientCredentials') return ctx?.state?.[CC_ORGANIZATION];
  if (token.kind !== 'AccessToken') return undefined;
  const org = await organizationOf(ctx, token.grantId);
  return org ? { org_id: org.org_id, org_name: org.org_name } : undefined;
}

/** ID tokens of an organization's authorization carry org_id and org_name too. */
export function withOrganizationClaims(findAccount: (ctx: any, sub: string, token?: any) => Promise<any>) {
  return async (ctx: any, sub: string, token?: any) => {
    const account = await findAccount(ctx, sub, token);
    if (!account) return account;
    return {
      ...account,
      claims: async (use: string, ...rest: unknown[]) => {
        const claims = await account.claims(use, ...rest);
        if (use !== 'id_token') return claims;
        const org = await organizationOf(ctx, ctx?.oidc?.entities?.Grant?.jti ?? token?.grantId);
        return org ? { ...claims, org_id: org.org_id, org_name: org.org_name } : claims;
      },
    };
  };
}

/** The engine stores only the fields a model lists; a Grant also keeps its organization. */
export function persistGrantOrganization(provider: any) {
  const fields: string[] = provider.Grant.IN_PAYLOAD;
  if (fields.includes('organization')) return;
  Object.defineProperty(provider.Grant, 'IN_PAYLOAD', { configurable: true, get: () => [...fields, 'organization'] });
}
