import type { ClientCache } from './clients.ts';

/** The engine's routes where a person logs in: the authorization endpoint, and the device flow's /activate. */
export const LOGIN_ROUTES = new Set(['authorization', 'resume', 'code_verification', 'device_resume']);
/** Of those, where a login comes back from Universal Login with its interaction's result. */
export const RESUME_ROUTES = new Set(['resume', 'device_resume']);

// Where the engine sends the browser when it needs a person: Auth0's
// Universal Login routes, with the interaction id as `state`.

export function interactionUrl(_ctx: unknown, interaction: any): string {
  const state = encodeURIComponent(interaction.uid);
  if (interaction.prompt?.name === 'consent') return `/u/consent?state=${state}`;
  if (interaction.prompt?.name === 'mfa') return `/u/mfa?state=${state}`;
  if (interaction.params?.screen_hint === 'signup') return `/u/signup?state=${state}`;
  return `/u/login?state=${state}`;
}

/** The scopes an authorization request asks for, split into OIDC and per-API scopes. */
export function requestedScopes(ctx: any) {
  const oidc = [...(ctx.oidc.requestParamOIDCScopes ?? [])] as string[];
  const resources: Record<string, string[]> = {};
  const wanted = [...(ctx.oidc.requestParamScopes ?? [])] as string[];
  for (const [indicator, rs] of Object.entries<any>(ctx.oidc.resourceServers ?? {})) {
    resources[indicator] = wanted.filter((s) => rs.scopes.has(s));
  }
  return { oidc, resources };
}

/**
 * First-party applications are never asked for consent (as in Auth0): their
 * grant simply grows to cover what each request asks for. Third-party
 * applications keep what the person approved on the consent page. The grant
 * comes back unsaved: organizationGrant completes it and saves it once.
 */
export function loadExistingGrantFor(clients: ClientCache, reusable: (ctx: any, grant: any) => boolean = () => true) {
  return async (ctx: any) => {
    const { Grant } = ctx.oidc.provider;
    const clientId = ctx.oidc.client.clientId;
    const consented = ctx.oidc.result?.consent?.grantId;
    const grantId = consented || ctx.oidc.session.grantIdFor(clientId);
    let grant = grantId ? await Grant.find(grantId) : undefined;
    if (grant && grant.accountId !== ctx.oidc.session.accountId) grant = undefined;
    // An earlier authorization's grant may not fit this one (another organization).
    if (grant && !consented && !reusable(ctx, grant)) grant = undefined;
    const cached = await clients.get(clientId);
    if (cached?.data.is_first_party === false) return grant;
    grant ??= new Grant({ clientId, accountId: ctx.oidc.session.accountId });
    const { oidc, resources } = requestedScopes(ctx);
    if (oidc.length) grant.addOIDCScope(oidc.join(' '));
    for (const [indicator, scopes] of Object.entries(resources)) if (scopes.length) grant.addResourceScope(indicator, scopes.join(' '));
    return grant;
  };
}

/**
 * The engine follows OIDC Core and drops `offline_access` unless prompt=consent
 * is asked for; Auth0 honours it whenever the application may use refresh
 * tokens. Runs as an extra-parameter validator, right after the engine's scope check.
 */
export function restoreOfflineAccess(ctx: any) {
  const client = ctx.oidc.client;
 if (ctx.oidc.route !== 'authorization') return;
  const raw = ctx.method === 'POST' ? ctx.oidc.body?.scope : ctx.query.scope;
  if (typeof raw !== 'string' || !raw.split(' ').includes('offline_access')) return;
  const scopes = new Set(String(ctx.oidc.params.scope ?? '').split(' ').filter(Boolean));
  if (scopes.has('offline_access') || !client?.grantTypeAllowed('refresh_token')) return;
  if (!String(ctx.oidc.params.response_type ?? '').split(' ').includes('code')) return;
  scopes.add('offline_access');
  ctx.oidc.params.scope = [...scopes].join(' ');
}
