import { errors, interactionPolicy } from 'oidc-provider';
import type { Env } from '../tenant/env.ts';
import { MFA_UNAVAILABLE, mfaNeed } from '../tenant/mfa-policy.ts';
import { CONTINUED, type PostLoginActions } from './action-claims.ts';

const { Prompt, Check } = interactionPolicy;

// The second factor of an interactive login, as the engine's last prompt:
// after the password (or the IdP) and after the post-login actions, whose
// api.multifactor.enable may ask for it or waive it. The Universal Login page
// (/u/mfa, login/mfa.ts) finishes it with a login whose `amr` is ["mfa"],
// which the session then carries: a later silent login in the same session
// needs no second factor, a fresh login (prompt=login) needs it again.

export const MFA_PROMPT = 'mfa';

const sessionHasMfa = (ctx: any) => (ctx.oidc.session?.amr ?? []).includes('mfa');

export function withMfaPrompt(env: Env, actions: PostLoginActions, policy: any) {
  const atAuthorization = (ctx: any) => (ctx.oidc.route === 'authorization' || ctx.oidc.route === 'resume') && ctx.oidc.session?.accountId;
  policy.add(new Prompt({ name: MFA_PROMPT, requestable: false },
    new Check('mfa_required', 'multi-factor authentication is required', 'interaction_required', async (ctx: any) => {
      if (!atAuthorization(ctx) || sessionHasMfa(ctx)) return Check.NO_NEED_TO_PROMPT;
      const claims = await actions.run(ctx, ctx.oidc.session.accountId);
      const need = await mfaNeed(env, claims.mfa);
      if (need === 'unavailable') throw new errors.AccessDenied(MFA_UNAVAILABLE);
      return need === 'none' ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
      // The actions already ran: the page hands their claims back, so they do not run twice.
    }, async (ctx: any) => ({ [CONTINUED]: await actions.run(ctx, ctx.oidc.session.accountId) }))));
  return policy;
}
