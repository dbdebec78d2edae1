import { errors, interactionPolicy } from 'oidc-provider';
import type { Env } from '../tenant/env.ts';
import { MFA_UNAVAILABLE, mfaNeed, rememberAllowed, type MfaNeed } from '../tenant/mfa-policy.ts';
import type { LoginClaims } from '../actions/post-login.ts';
import { mfaApiNeed } from './mfa-audience.ts';
import { mfaStateOf } from '../tenant/otp.ts';
import { browserRemembered } from '../tenant/remember-browser.ts';
import { CONTINUED, type PostLoginActions } from './action-claims.ts';
import { LOGIN_ROUTES } from './interactions.ts';

const { Prompt, Check } = interactionPolicy;

// The second factor of an interactive login, as the engine's last prompt:
// after the password (or the IdP) and after the post-login actions, whose
// api.multifactor.enable may ask for it or waive it. The Universal Login page
// (/u/mfa, login/mfa.ts) finishes it with a login whose `amr` is ["mfa"],
// which the session then carries: a later silent login in the same session
// needs no second factor, a fresh login (prompt=login) needs it again, unless
// the user had this browser remembered (tenant/remember-browser.ts). A login
// for the MFA API's audience asks an enrolled user for it in any case.

export const MFA_PROMPT = 'mfa';
/** The prompt's details: the factors the login may be finished with, and whether the browser may be remembered. */
export const MFA_FACTORS = 'factors';
export const MFA_REMEMBER = 'rememberAllowed';

const sessionHasMfa = (ctx: any) => (ctx.oidc.session?.amr ?? []).includes('mfa');

export function withMfaPrompt(env: Env, actions: PostLoginActions, policy: any) {
  const atAuthorization = (ctx: any) => LOGIN_ROUTES.has(ctx.oidc.route) && ctx.oidc.session?.accountId;
  /** What the policy or the actions ask for, else what a token for the MFA API needs (mfa-audience.ts). */
  const needOf = async (ctx: any, claims: LoginClaims): Promise<{ need: MfaNeed; forMfaApi: boolean }> => {
    const need = await mfaNeed(env, claims.mfa);
    if (need.kind !== 'none') return { need, forMfaApi: false };
    const sub = ctx.oidc.session.accountId;
    const forApi = await mfaApiNeed(env, ctx.oidc.params?.resource ?? ctx.oidc.params?.audience, () => mfaStateOf(env, sub));
    return forApi ? { need: forApi, forMfaApi: true } : { need, forMfaApi: false };
  };
  policy.add(new Prompt({ name: MFA_PROMPT, requestable: false },
    new Check('mfa_required', 'multi-factor authentication is required', 'interaction_required', async (ctx: any) => {
      if (!atAuthorization(ctx) || sessionHasMfa(ctx)) return Check.NO_NEED_TO_PROMPT;
      const claims = await actions.run(ctx, ctx.oidc.session.accountId);
      const { need, forMfaApi } = await needOf(ctx, claims);
      if (need.kind === 'unavailable') throw new errors.AccessDenied(MFA_UNAVAILABLE);
      if (need.kind === 'none') return Check.NO_NEED_TO_PROMPT;
      const sub = ctx.oidc.session.accountId;
      if (!forMfaApi && rememberAllowed(claims.mfa) && await browserRemembered(env, ctx, sub, () => mfaStateOf(env, sub))) return Check.NO_NEED_TO_PROMPT;
      return Check.REQUEST_PROMPT;
      // The actions already ran: the page hands their claims back, so they do not run twice.
    }, async (ctx: any) => {
      const claims = await actions.run(ctx, ctx.oidc.session.accountId);
      const { need, forMfaApi } = await needOf(ctx, claims);
      // The page offers these factors (see MFA_FACTORS); remembering the browser means nothing to the MFA API.
      return { [CONTINUED]: claims, [MFA_FACTORS]: need.kind === 'required' ? need.factors : [], [MFA_REMEMBER]: !forMfaApi && rememberAllowed(claims.mfa) };
    })));
  return policy;
}
