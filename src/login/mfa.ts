import type Router from '@koa/router';
import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';
import type { Engine } from '../oidc/provider.ts';
import { CONTINUED } from '../oidc/action-claims.ts';
import { MFA_PROMPT } from '../oidc/mfa-prompt.ts';
import { requestFacts } from '../tenant/logs.ts';
import { recoveryCodesEnabled } from '../tenant/mfa-policy.ts';
import { OtpRefused, confirmedTotp, mfaStateOf, pendingOtpEnrollment, recoveryCodeOf, replaceRecoveryCode } from '../tenant/otp.ts';
import { OTP_FACTOR, RECOVERY_CODE_FACTOR, spendSecondFactor, type Factor } from '../tenant/second-factor.ts';
import { csrfToken, page } from './html.ts';
import { type LoginContext, csrfSecret, errorPage, finish, loadInteraction, readInteractionForm, saveResult } from './interaction.ts';
import { otpChallengeForm, otpEnrollForm, recoveryCodeForm, recoveryCodeNotice } from './pages.ts';

// /u/mfa: the second factor of a login (the engine's `mfa` prompt, see
// oidc/mfa-prompt.ts). A user without an authenticator app enrolls one here
// (and is shown a recovery code once); a user with one types its code, or a
// recovery code instead. Either way the login goes back to the engine with
// `amr: ["mfa"]` and the claims of the post-login actions that already ran.

const REFUSED: Record<OtpRefused['reason'], string> = {
  invalid: 'The code you entered is invalid.',
  too_many_attempts: 'Too many failed attempts. Please try again later.',
  not_enrolled: 'There is nothing to verify this code against. Please go back to the application and sign in again.',
};
const STATUS: Record<OtpRefused['reason'], number> = { invalid: 401, too_many_attempts: 429, not_enrolled: 400 };

/** The login waiting for its second factor, or an error page. */
async function loadMfaLogin(lc: LoginContext | undefined, ctx: Koa.Context) {
  if (!lc) return undefined;
  const userId: string | undefined = lc.interaction.session?.accountId;
  if (lc.interaction.prompt?.name !== MFA_PROMPT || !userId || lc.interaction.result) {
    errorPage(ctx, lc.brand, 'This login is not waiting for a second factor. Please go back to the application and sign in again.');
    return undefined;
  }
  return { ...lc, userId };
}
type MfaLogin = NonNullable<Awaited<ReturnType<typeof loadMfaLogin>>>;

const stateQuery = (lc: LoginContext) => new URLSearchParams({ state: lc.uid }).toString();

async function renderOtp(ctx: Koa.Context, env: Env, ml: MfaLogin, error?: { message: string; status: number }) {
  const csrf = csrfToken(ctx, csrfSecret(env));
  const mfa = await mfaStateOf(env, ml.userId);
  if (confirmedTotp(mfa)) {
    const recoveryUrl = recoveryCodeOf(mfa) ? `/u/mfa/recovery?${stateQuery(ml)}` : undefined;
    return page(ctx, { title: 'Verify your identity', brand: ml.brand, status: error?.status, body: otpChallengeForm({ state: ml.uid, csrf, error: error?.message, recoveryUrl }) });
  }
  const enrollment = await pendingOtpEnrollment(env, ml.userId, { issuer: ml.brand.name });
  if (!enrollment) return errorPage(ctx, ml.brand, REFUSED.not_enrolled);
  page(ctx, { title: 'Secure your account', brand: ml.brand, status: error?.status, body: otpEnrollForm({ state: ml.uid, csrf, secret: enrollment.secret, uri: enrollment.uri, error: error?.message }) });
}

/** The login's result: a second factor on top of the first, and the actions' claims so they do not run again. */
const mfaResult = (ml: MfaLogin) => ({
  login: { ...ml.interaction.lastSubmission?.login, accountId: ml.userId, amr: ['mfa'] },
  [CONTINUED]: ml.interaction.prompt.details?.[CONTINUED] ?? {},
});

/** Spends the posted code; the refusal's page when it fails, else what it gave. */
async function spend(ctx: Koa.Context, env: Env, ml: MfaLogin, factor: Factor, code: string, again: (e: { message: string; status: number }) => Promise<void>) {
  try {
    return await spendSecondFactor(env, factor, ml.userId, code, { ...requestFacts(ctx), client_id: ml.client.id, client_name: ml.client.data.name });
  } catch (e) {
    if (!(e instanceof OtpRefused)) throw e;
    await again({ message: REFUSED[e.reason], status: STATUS[e.reason] });
    return undefined;
  }
}

/** The login is done; a recovery code to keep is shown first, with the way back to the engine. */
async function done(ctx: Koa.Context, ml: MfaLogin, shown?: { code: string; replaced: boolean }) {
  if (!shown) return finish(ctx, ml.interaction, mfaResult(ml));
  await saveResult(ml.interaction, mfaResult(ml));
  page(ctx, { title: 'Recovery code', brand: ml.brand, body: recoveryCodeNotice({ ...shown, continueUrl: ml.interaction.returnTo }) });
}

export function mfaRoutes(router: Router, env: Env, engine: Engine) {
  const codeOf = (body: Record<string, any>) => (typeof body.code === 'string' ? body.code : '');

  router.get('/u/mfa', async (ctx) => {
    const ml = await loadMfaLogin(await loadInteraction(ctx, engine, ctx.query.state), ctx);
    if (ml) await renderOtp(ctx, env, ml);
  });

  router.post('/u/mfa', async (ctx) => {
    const form = await readInteractionForm(ctx, env, engine);
    const ml = await loadMfaLogin(form?.lc, ctx);
    if (!ml) return;
    const spent = await spend(ctx, env, ml, OTP_FACTOR, codeOf(form!.body), (e) => renderOtp(ctx, env, ml, e));
    if (!spent) return;
    // The first recovery code comes with the enrollment, when the tenant offers them.
    const fresh = spent.enrolled && await recoveryCodesEnabled(env) && !recoveryCodeOf(await mfaStateOf(env, ml.userId));
    await done(ctx, ml, fresh ? { code: await replaceRecoveryCode(env, ml.userId), replaced: false } : undefined);
  });

  const renderRecovery = (ctx: Koa.Context, ml: MfaLogin, error?: { message: string; status: number }) => {
    page(ctx, {
      title: 'Verify your identity', brand: ml.brand, status: error?.status,
      body: recoveryCodeForm({ state: ml.uid, csrf: csrfToken(ctx, csrfSecret(env)), error: error?.message, backUrl: `/u/mfa?${stateQuery(ml)}` }),
    });
  };

  router.get('/u/mfa/recovery', async (ctx) => {
    const ml = await loadMfaLogin(await loadInteraction(ctx, engine, ctx.query.state), ctx);
    if (ml) renderRecovery(ctx, ml);
  });

  router.post('/u/mfa/recovery', async (ctx) => {
    const form = await readInteractionForm(ctx, env, engine);
    const ml = await loadMfaLogin(form?.lc, ctx);
    if (!ml) return;
    const spent = await spend(ctx, env, ml, RECOVERY_CODE_FACTOR, codeOf(form!.body), async (e) => renderRecovery(ctx, ml, e));
    if (spent) await done(ctx, ml, { code: spent.successor!, replaced: true });
  });
}
