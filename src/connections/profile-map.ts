import type { FederatedProfile } from '../tenant/federated-users.ts';

// From an upstream IdP's claims to the user's root attributes, following the
// connection's `attribute_map`: the basic profile (Okta's `basic_profile`,
// OIDC's `bind_all`), or `use_map` templates such as
// "${context.tokenset.email}" or "${context.userinfo.given_name} ${context.userinfo.family_name}".

export interface UpstreamContext {
  /** The ID token's claims. */
  tokenset: Record<string, unknown>;
  /** The userinfo response, when it was fetched. */
  userinfo?: Record<string, unknown>;
  connection: { id: string; strategy: string; name: string };
}

const ROOT = ['email', 'email_verified', 'name', 'nickname', 'given_name', 'family_name', 'picture', 'phone_number', 'username'] as const;

const truthy = (v: unknown) => v === true || v === 'true';
const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);

function basicProfile(claims: Record<string, unknown>): FederatedProfile {
  return {
    email: str(claims.email), email_verified: truthy(claims.email_verified),
    name: str(claims.name), nickname: str(claims.nickname) ?? str(claims.preferred_username),
    given_name: str(claims.given_name), family_name: str(claims.family_name),
    picture: str(claims.picture), phone_number: str(claims.phone_number),
  };
}

const REF = /\$\{context\.(tokenset|userinfo|connection)\.([A-Za-z0-9_.:-]+)\}/g;

function lookup(ctx: UpstreamContext, where: string, key: string): unknown {
  const source: any = where === 'tokenset' ? ctx.tokenset : where === 'userinfo' ? ctx.userinfo : ctx.connection;
  return key.split('.').reduce((o, k) => (o && typeof o === 'object' ? o[k] : undefined), source);
}

/** One template: a lone reference keeps the claim's type (a boolean stays a boolean); a mix is a string. */
function render(template: unknown, ctx: UpstreamContext): unknown {
  if (typeof template !== 'string') return template;
  const lone = new RegExp(`^${REF.source}$`).exec(template);
  if (lone) return lookup(ctx, lone[1], lone[2]);
  return template.replace(REF, (_m, where, key) => {
    const v = lookup(ctx, where, key);
    return v == null ? '' : String(v);
  });
}

/** Whether the mapping reads userinfo, so the login has to fetch it. */
export function needsUserinfo(options: any): boolean {
  const map = options?.attribute_map ?? {};
  return Boolean(map.userinfo_scope) || JSON.stringify(map.attributes ?? {}).includes('${context.userinfo.');
}

export function mapProfile(options: any, ctx: UpstreamContext): FederatedProfile {
  const claims = { ...(ctx.userinfo ?? {}), ...ctx.tokenset };
  const map = options?.attribute_map ?? {};
  const profile: FederatedProfile = map.mapping_mode === 'use_map' ? {} : basicProfile(claims);
  for (const [attr, template] of Object.entries<unknown>(map.attributes ?? {})) {
    if (!(ROOT as readonly string[]).includes(attr)) continue;
    const v = render(template, ctx);
    (profile as any)[attr] = attr === 'email_verified' ? truthy(v) : str(v);
  }
  for (const attr of options?.non_persistent_attrs ?? []) delete (profile as any)[attr];
  return profile;
}
