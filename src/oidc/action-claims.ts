import type { Env } from '../tenant/env.ts';
import { runPostLogin, type LoginClaims } from '../actions/post-login.ts';

// Where post-login actions meet the engine. Auth0 runs them once per login,
// before the code (or implicit tokens) is issued, and again on each refresh or
// password grant. The engine has no hook there, so:
// - an authorization code being saved runs them (the engine names the code to
//   its request context just before saving it) and carries their claims to the
//   code exchange;
// - implicit tokens and the refresh and password grants run them from the
//   token or account they are about to use (once per request, memoized);
// - ID tokens and access tokens then add the claims (see idTokenClaims, accessTokenClaims).

const CLAIMS_FIELD = 'actionClaims';
const PASSWORD_GRANTS = new Set(['password', 'http://auth0.com/oauth/grant-type/password-realm']);

/** The executions whose claims an authorization code carries to its exchange. */
export const codeExecutions = (ctx: any): string[] => ctx.oidc?.entities?.AuthorizationCode?.[CLAIMS_FIELD]?.executions ?? [];

export class PostLoginActions {
  private runs = new WeakMap<object, Promise<LoginClaims>>();
  constructor(private env: Env) {}

  /** Once per request: the code, the ID token and the access token of one response share one run. */
  run(ctx: any, userId: string): Promise<LoginClaims> {
    let p = this.runs.get(ctx);
    if (!p) this.runs.set(ctx, p = runPostLogin(this.env, ctx, userId));
    return p;
  }

  /** Grants that log a user in again without the authorization endpoint run the actions before the engine issues anything. */
  async beforeGrant(ctx: any, userId: string) {
    if (ctx?.oidc?.route !== 'token') return;
    const gty = ctx.oidc.params?.grant_type;
    if (gty === 'refresh_token' || PASSWORD_GRANTS.has(gty)) await this.run(ctx, userId);
  }

  /** The claims this request's tokens get. */
  async claimsFor(ctx: any): Promise<LoginClaims> {
    const oidc = ctx?.oidc;
    if (!oidc) return {};
    if (oidc.route === 'token') {
      const gty = oidc.params?.grant_type;
      if (gty === 'authorization_code') return oidc.entities?.AuthorizationCode?.[CLAIMS_FIELD] ?? {};
      return this.runs.get(ctx) ?? {};
    }
    if ((oidc.route === 'authorization' || oidc.route === 'resume') && oidc.session?.accountId) return this.run(ctx, oidc.session.accountId);
    return {};
  }

  install(provider: any) {
    const Code = provider.AuthorizationCode;
    const fields: string[] = Code.IN_PAYLOAD;
    if (!fields.includes(CLAIMS_FIELD)) Object.defineProperty(Code, 'IN_PAYLOAD', { configurable: true, get: () => [...fields, CLAIMS_FIELD] });

    const issuing = new WeakMap<object, any>();
    const OIDCContext = provider.OIDCContext;
    const entity = OIDCContext.prototype.entity;
    OIDCContext.prototype.entity = function (this: any, key: string, value: any) {
      if (key === 'AuthorizationCode' && (this.route === 'authorization' || this.route === 'resume')) issuing.set(value, this.ctx);
      return entity.call(this, key, value);
    };
    const save = Code.prototype.save;
    const actions = this;
    Code.prototype.save = async function (this: any, ...args: unknown[]) {
      const ctx = issuing.get(this);
      if (ctx) {
        issuing.delete(this);
        const claims = await actions.run(ctx, this.accountId);
        if (Object.keys(claims).length) this[CLAIMS_FIELD] = claims;
      }
      return save.apply(this, args);
    };

    const payload = provider.IdToken.prototype.payload;
    provider.IdToken.prototype.payload = async function (this: any) {
      const out = await payload.call(this);
      addClaims(out, (await actions.claimsFor(this.ctx)).id);
      return out;
    };
  }

  /** A JWT access token's custom claims and scope changes. */
  async accessTokenClaims(ctx: any, payload: Record<string, any>, mgmtAudience: string) {
    const c = await this.claimsFor(ctx);
    if (!c.at && !c.add && !c.remove) return;
    addCustomClaims(payload, c.at, mgmtAudience);
    if (c.add || c.remove) {
      const scopes = new Set(String(payload.scope ?? '').split(' ').filter(Boolean));
      for (const s of c.add ?? []) scopes.add(s);
      for (const s of c.remove ?? []) scopes.delete(s);
      payload.scope = [...scopes].join(' ');
    }
  }
}

/** An access token's custom claims; Auth0 keeps the Management API's tokens free of private, non-namespaced ones. */
export function addCustomClaims(payload: Record<string, any>, claims: Record<string, unknown> | undefined, mgmtAudience: string) {
  if (!claims) return;
  const mgmt = payload.aud === mgmtAudience || (Array.isArray(payload.aud) && payload.aud.includes(mgmtAudience));
  addClaims(payload, mgmt ? Object.fromEntries(Object.entries(claims).filter(([k]) => /^https?:\/\//.test(k))) : claims);
}

/** Custom claims never replace what the token already says (Auth0: standard and internal claims cannot be changed). */
function addClaims(target: Record<string, unknown>, claims: Record<string, unknown> | undefined) {
  for (const [k, v] of Object.entries(claims ?? {})) {
    if (v === null || v === undefined || Object.hasOwn(target, k)) continue;
    target[k] = v;
  }
}
