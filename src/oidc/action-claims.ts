import { interactionPolicy } from 'oidc-provider';
import type { Env } from '../tenant/env.ts';
import { runPostLogin, type LoginClaims } from '../actions/post-login.ts';
import { LOGIN_ROUTES, RESUME_ROUTES } from './interactions.ts';
import { DEVICE_CODE_GRANT } from './device-flow.ts';
import { CIBA_GRANT } from './ciba.ts';

const { Prompt, Check } = interactionPolicy;

// Where post-login actions meet the engine. Auth0 runs them once per login,
// before the code (or implicit tokens) is issued, and again on each refresh or
// password grant. They run once per request (memoized), from:
// - the last prompt's check at the authorization endpoint, before the code is
//   made; an action that redirects (api.redirect.sendUserTo) makes that prompt
//   an interaction whose URL is the action's, and the login resumes at
//   /continue (login/continue.ts), whose result carries the claims back here;
// - the authorization code (or the approved device code) being saved, which
//   takes their claims to the code exchange (the engine names the code to its
//   request context just before);
// - the refresh and password grants, from the account they are about to use;
// - ID tokens and access tokens then add the claims (see idTokenClaims, accessTokenClaims).

/** The prompt of a login an action sent elsewhere; the interaction's id is the `state` it comes back with. */
export const REDIRECT_PROMPT = 'post_login_redirect';
/** The interaction result of a login back from its redirect: the claims of all its runs. */
export const CONTINUED = 'postLogin';

const CLAIMS_FIELD = 'actionClaims';
// Grants that name their user without the authorization endpoint (password, custom token exchange): post-login runs for them as for a refresh.
const USER_GRANTS = new Set([
  'password', 'http://auth0.com/oauth/grant-type/password-realm', 'http://auth0.com/oauth/grant-type/passwordless/otp', 'urn:ietf:params:oauth:grant-type:token-exchange',
  // A CIBA request's person approved it elsewhere; its actions run when the application collects the tokens.
  CIBA_GRANT,
]);

/** The executions whose claims an authorization or device code carries to its exchange. */
export const codeExecutions = (ctx: any): string[] => {
  const e = ctx.oidc?.entities;
  return (e?.AuthorizationCode ?? e?.DeviceCode)?.[CLAIMS_FIELD]?.executions ?? [];
};
/** The codes whose exchange carries their login's claims, and the grant that exchanges each. */
const CODES: Record<string, string> = { AuthorizationCode: 'authorization_code', DeviceCode: DEVICE_CODE_GRANT };

export class PostLoginActions {
  private runs = new WeakMap<object, Promise<LoginClaims>>();
  constructor(private env: Env) {}

  /** Once per request: the code, the ID token and the access token of one response share one run. */
  run(ctx: any, userId: string): Promise<LoginClaims> {
    let p = this.runs.get(ctx);
    if (!p) {
      const continued: LoginClaims | undefined = RESUME_ROUTES.has(ctx.oidc?.route) ? ctx.oidc.result?.[CONTINUED] : undefined;
      this.runs.set(ctx, p = continued ? Promise.resolve(continued) : runPostLogin(this.env, ctx, userId));
    }
    return p;
  }

  /**
   * This request's run is one that already happened: the MFA grants finish a
   * password login whose actions ran before its mfa_required answer, and
   * their tokens get that run's claims rather than a second run.
   */
  adopt(ctx: any, claims: LoginClaims) {
    this.runs.set(ctx, Promise.resolve(claims));
  }

  /** The engine's prompts, and last the one that asks for an action's redirect. */
  withRedirectPrompt(policy: any) {
    const atAuthorization = (ctx: any) => LOGIN_ROUTES.has(ctx.oidc.route) && ctx.oidc.session?.accountId;
    policy.add(new Prompt({ name: REDIRECT_PROMPT, requestable: false },
      new Check('action_redirect', 'a post-login action sends the user elsewhere first', async (ctx: any) => {
        if (!atAuthorization(ctx)) return Check.NO_NEED_TO_PROMPT;
        return (await this.run(ctx, ctx.oidc.session.accountId)).redirect ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT;
      }, async (ctx: any) => ({ [CONTINUED]: await this.run(ctx, ctx.oidc.session.accountId) }))));
    return policy;
  }

  /** Grants that log a user in again without the authorization endpoint run the actions before the engine issues anything. */
  async beforeGrant(ctx: any, userId: string) {
    if (ctx?.oidc?.route !== 'token') return;
    const gty = ctx.oidc.params?.grant_type;
    if (gty === 'refresh_token' || USER_GRANTS.has(gty)) await this.run(ctx, userId);
  }

  /** The claims this request's tokens get. */
  async claimsFor(ctx: any): Promise<LoginClaims> {
    const oidc = ctx?.oidc;
    if (!oidc) return {};
    if (oidc.route === 'token') {
      const gty = oidc.params?.grant_type;
      for (const [model, grant] of Object.entries(CODES)) if (gty === grant) return oidc.entities?.[model]?.[CLAIMS_FIELD] ?? {};
      return this.runs.get(ctx) ?? {};
    }
    if (LOGIN_ROUTES.has(oidc.route) && oidc.session?.accountId) return this.run(ctx, oidc.session.accountId);
    return {};
  }

  install(provider: any) {
    const issuing = new WeakMap<object, any>();
    const OIDCContext = provider.OIDCContext;
    const entity = OIDCContext.prototype.entity;
    OIDCContext.prototype.entity = function (this: any, key: string, value: any) {
      if (key in CODES && LOGIN_ROUTES.has(this.route)) issuing.set(value, this.ctx);
      return entity.call(this, key, value);
    };
    const actions = this;
    for (const model of Object.keys(CODES)) {
      const Code = provider[model];
      const fields: string[] = Code.IN_PAYLOAD;
      if (!fields.includes(CLAIMS_FIELD)) Object.defineProperty(Code, 'IN_PAYLOAD', { configurable: true, get: () => [...fields, CLAIMS_FIELD] });
      const save = Code.prototype.save;
      Code.prototype.save = async function (this: any, ...args: unknown[]) {
        const ctx = issuing.get(this);
        // A device code is saved along the way too (entered, cancelled): its claims come with the person's approval.
        if (ctx && this.accountId && !this.error) {
          issuing.delete(this);
          const claims = await actions.run(ctx, this.accountId);
          if (Object.keys(claims).length) this[CLAIMS_FIELD] = claims;
        }
        return save.apply(this, args);
      };
    }

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

/** The interaction URL of a login an action redirects: the action's URL with its query and the login's `state`. */
export function redirectInteractionUrl(base: (ctx: any, interaction: any) => Promise<string> | string) {
  return async (ctx: any, interaction: any) => {
    const pending = interaction.prompt?.name === REDIRECT_PROMPT ? interaction.prompt.details?.[CONTINUED]?.redirect : undefined;
    return pending ? redirectTarget(pending, interaction.uid) : base(ctx, interaction);
  };
}

export function redirectTarget(pending: { url: string; query: Record<string, string> }, state: string) {
  const target = new URL(pending.url);
  for (const [k, v] of Object.entries(pending.query ?? {})) target.searchParams.set(k, v);
  target.searchParams.set('state', state);
  return target.href;
}
