import type Router from '@koa/router';
import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';
import type { Engine } from '../oidc/provider.ts';
import { CONTINUED } from '../oidc/action-claims.ts';
import { MFA_FACTORS, MFA_PROMPT, MFA_REMEMBER } from '../oidc/mfa-prompt.ts';
import { mfaSessionSettings, rememberBrowser } from '../tenant/remember-browser.ts';
import { requestFacts } from '../tenant/logs.ts';
import { factorOf, usableAuthenticators, type Offered } from '../tenant/mfa-policy.ts';
import { OtpRefused, firstRecoveryCode, mfaStateOf, pendingOtpEnrollment, recoveryCodeOf } from '../tenant/otp.ts';
import { OTP_FACTOR, RECOVERY_CODE_FACTOR, oobFactor, spendSecondFactor, type Factor } from '../tenant/second-factor.ts';
import { maskedAddress, newOobAuthenticator, sendOobCode } from '../tenant/mfa-oob.ts';
import { isWebAuthnFactor, startCeremony, webauthnFactor, type PendingCeremony, type WebAuthnFactor } from '../tenant/mfa-webauthn.ts';
import type { Authenticator } from '../tenant/authenticators.ts';
import { loadUser } from '../tenant/users.ts';
import { ApiError } from '../lib/errors.ts';
import { csrfToken, page } from './html.ts';
import { type LoginContext, csrfSecret, errorPage, finish, loadInteraction, readInteractionForm, saveResult } from './interaction.ts';
import { mfaFactorChoice, oobAddressForm, oobCodeForm, otpChallengeForm, otpEnrollForm, recoveryCodeForm, recoveryCodeNotice, type OtherMethods, type RememberOption } from './pages.ts';
import { WEBAUTHN_SCRIPT, defaultKeyName, webauthnForm } from './mfa-webauthn-pages.ts';

// /u/mfa: the second factor of a login (the engine's `mfa` prompt, see
// oidc/mfa-prompt.ts), with the factors the prompt offers: an authenticator
// app, a code by SMS, a code by email, a security key or device biometrics
// (WebAuthn, run by the page's script). A user with none of them enrolled
// picks one and enrolls it here (and is shown a recovery code once); a user
// with one types its code (or uses the key), or uses another method or a
// recovery code instead. Either way the login goes back to the engine with
// `amr: ["mfa"]` and the claims of the post-login actions that already ran.

const REFUSED: Record<OtpRefused['reason'], string> = {
  invalid: 'The code you entered is invalid.',
  too_many_attempts: 'Too many failed attempts. Please try again later.',
  not_enrolled: 'There is nothing to verify this code against. Please go back to the application and sign in again.',
  expired: 'The code has expired. Use "Resend the code" to get a new one.',
};
const STATUS: Record<OtpRefused['reason'], number> = { invalid: 401, too_many_attempts: 429, not_enrolled: 400, expired: 400 };
const LABEL: Record<Offered, string> = {
  otp: 'Authenticator app', sms: 'SMS', email: 'Email', 'webauthn-roaming': 'Security key', 'webauthn-platform': 'Fingerprint or face recognition',
};
/** A security key's answer that does not check out, in words for it rather than for a code. */
const KEY_REFUSED: Record<OtpRefused['reason'], string> = {
  ...REFUSED,
  invalid: 'We could not verify your security key or device. Try again, or use another method.',
  expired: 'The request timed out. Try again.',
};

/** The login waiting for its second factor, or an error page. */
async function loadMfaLogin(lc: LoginContext | undefined, ctx: Koa.Context) {
  if (!lc) return undefined;
  const userId: string | undefined = lc.interaction.session?.accountId;
  if (lc.interaction.prompt?.name !== MFA_PROMPT || !userId || lc.interaction.result) {
    errorPage(ctx, lc.brand, 'This login is not waiting for a second factor. Please go back to the application and sign in again.');
    return undefined;
  }
  const details = lc.interaction.prompt.details ?? {};
  const factors: Offered[] = details[MFA_FACTORS] ?? ['otp'];
  return { ...lc, userId, factors, rememberAllowed: details[MFA_REMEMBER] === true };
}
type MfaLogin = NonNullable<Awaited<ReturnType<typeof loadMfaLogin>>>;

const stateQuery = (lc: LoginContext) => new URLSearchParams({ state: lc.uid }).toString();

type PageError = { message: string; status: number };

/** The "Remember this browser" box, when Guardian's settings show it and the login allows it. */
async function rememberOption(env: Env, ml: MfaLogin): Promise<RememberOption> {
  const s = await mfaSessionSettings(env);
  return ml.rememberAllowed && s.display_remember_me_checkbox ? { remember: { checked: s.remember_me_default_value } } : {};
}
const factorUrl = (ml: MfaLogin, factor: Offered) => `/u/mfa?${new URLSearchParams({ state: ml.uid, factor })}`;

/**
 * The page for this login: a challenge with the enrolled method the query
 * names (or the first one), else enrollment of the factor it names (or a
 * choice among the factors, when there are several).
 */
async function renderMfa(ctx: Koa.Context, env: Env, engine: Engine, ml: MfaLogin, asked?: string, error?: PageError) {
  const mfa = await mfaStateOf(env, ml.userId);
  const usable = usableAuthenticators(mfa, ml.factors);
  if (usable.length) {
    const chosen = usable.find((a) => factorOf(a) === asked) ?? usable[0];
    const others: OtherMethods = {
      methods: [...new Set(usable.map(factorOf))].filter((f) => f !== factorOf(chosen)).map((f) => ({ label: LABEL[f!], url: factorUrl(ml, f!) })),
      recoveryUrl: recoveryCodeOf(mfa) ? `/u/mfa/recovery?${stateQuery(ml)}` : undefined,
    };
    if (chosen.type === 'totp') return renderOtpChallenge(ctx, env, ml, others, error);
    if (isWebAuthnFactor(chosen.type)) return renderWebAuthn(ctx, env, ml, chosen.type, others, error);
    return sendAndRender(ctx, env, engine, ml, chosen, false, others, error);
  }
  const factor = ml.factors.find((f) => f === asked) ?? (ml.factors.length === 1 ? ml.factors[0] : undefined);
  if (!factor) {
    return page(ctx, { title: 'Secure your account', brand: ml.brand, body: mfaFactorChoice({ methods: ml.factors.map((f) => ({ label: LABEL[f], url: factorUrl(ml, f) })) }) });
  }
  if (factor === 'otp') return renderOtpEnrollment(ctx, env, ml, error);
  if (isWebAuthnFactor(factor)) return renderWebAuthn(ctx, env, ml, factor, undefined, error);
  const user = await loadUser(env, ml.userId);
  renderAddress(ctx, env, ml, factor, factor === 'email' ? user.email ?? '' : '');
}

/** Saves the interaction as it is, for as long as it has left. */
const keepInteraction = (ml: MfaLogin) => ml.interaction.save(Math.max(1, ml.interaction.exp - Math.floor(Date.now() / 1000)));

/**
 * A security key's or device's ceremony: a challenge to the user's keys of
 * this factor (`others` given), else the enrollment of one. Its challenge is
 * kept on the interaction for the POST, replacing any earlier one.
 */
async function renderWebAuthn(ctx: Koa.Context, env: Env, ml: MfaLogin, factor: WebAuthnFactor, others?: OtherMethods, error?: PageError) {
  const enrolling = !others;
  const { pending, options } = await startCeremony(env, await loadUser(env, ml.userId), factor, enrolling, ml.brand.name);
  ml.interaction.lastSubmission = { ...ml.interaction.lastSubmission, webauthn: pending };
  await keepInteraction(ml);
  const backUrl = enrolling && ml.factors.length > 1 ? `/u/mfa?${stateQuery(ml)}` : undefined;
  page(ctx, {
    title: enrolling ? 'Secure your account' : 'Verify your identity', brand: ml.brand, status: error?.status, script: WEBAUTHN_SCRIPT,
    body: webauthnForm({
      state: ml.uid, csrf: csrfToken(ctx, csrfSecret(env)), factor, enrolling, options, error: error?.message, backUrl,
      ...others, ...(await rememberOption(env, ml)),
    }),
  });
}

async function renderOtpChallenge(ctx: Koa.Context, env: Env, ml: MfaLogin, others: OtherMethods, error?: PageError) {
  const csrf = csrfToken(ctx, csrfSecret(env));
  const body = otpChallengeForm({ state: ml.uid, csrf, error: error?.message, ...others, ...(await rememberOption(env, ml)) });
  page(ctx, { title: 'Verify your identity', brand: ml.brand, status: error?.status, body });
}

async function renderOtpEnrollment(ctx: Koa.Context, env: Env, ml: MfaLogin, error?: PageError) {
  const enrollment = await pendingOtpEnrollment(env, ml.userId, { issuer: ml.brand.name });
  if (!enrollment) return errorPage(ctx, ml.brand, REFUSED.not_enrolled);
  const csrf = csrfToken(ctx, csrfSecret(env));
  const body = otpEnrollForm({ state: ml.uid, csrf, secret: enrollment.secret, uri: enrollment.uri, error: error?.message, ...(await rememberOption(env, ml)) });
  page(ctx, { title: 'Secure your account', brand: ml.brand, status: error?.status, body });
}

function renderAddress(ctx: Koa.Context, env: Env, ml: MfaLogin, factor: 'sms' | 'email', address: string, error?: PageError) {
  const backUrl = ml.factors.length > 1 ? `/u/mfa?${stateQuery(ml)}` : undefined;
  page(ctx, {
    title: 'Secure your account', brand: ml.brand, status: error?.status,
    body: oobAddressForm({ state: ml.uid, csrf: csrfToken(ctx, csrfSecret(env)), factor, address, error: error?.message, backUrl }),
  });
}

/** Sends a code to the authenticator and shows where it went, with the form to type it into. */
async function sendAndRender(ctx: Koa.Context, env: Env, engine: Engine, ml: MfaLogin, a: Authenticator, enrolling: boolean, others: OtherMethods, error?: PageError) {
  const oobCode = await sendOobCode(env, { user: await loadUser(env, ml.userId), authenticator: a, client: await engine.clients.get(ml.client.id), enrolling });
  await renderCode(ctx, env, ml, { oobCode, sentTo: maskedAddress(a), byEmail: a.type === 'email', resendUrl: factorUrl(ml, factorOf(a)!), ...others }, error);
}

type CodeSent = { oobCode: string; sentTo: string; byEmail: boolean; resendUrl: string } & OtherMethods;
async function renderCode(ctx: Koa.Context, env: Env, ml: MfaLogin, sent: CodeSent, error?: PageError) {
  page(ctx, {
    title: 'Verify your identity', brand: ml.brand, status: error?.status,
    body: oobCodeForm({ state: ml.uid, csrf: csrfToken(ctx, csrfSecret(env)), error: error?.message, ...sent, ...(await rememberOption(env, ml)) }),
  });
}

/** The login's result: a second factor on top of the first, and the actions' claims so they do not run again. */
const mfaResult = (ml: MfaLogin) => ({
  login: { ...ml.interaction.lastSubmission?.login, accountId: ml.userId, amr: ['mfa'] },
  [CONTINUED]: ml.interaction.prompt.details?.[CONTINUED] ?? {},
});

/** Spends the posted code; the refusal's page when it fails, else what it gave. */
async function spend(ctx: Koa.Context, env: Env, ml: MfaLogin, factor: Factor, code: string, again: (e: PageError) => Promise<void> | void, words = REFUSED) {
  try {
    return await spendSecondFactor(env, factor, ml.userId, code, { ...requestFacts(ctx), client_id: ml.client.id, client_name: ml.client.data.name });
  } catch (e) {
    if (!(e instanceof OtpRefused)) throw e;
    await again({ message: words[e.reason], status: STATUS[e.reason] });
    return undefined;
  }
}

/** The login is done; a recovery code to keep is shown first, with the way back to the engine. */
async function done(ctx: Koa.Context, env: Env, ml: MfaLogin, body: Record<string, any>, shown?: { code: string; replaced: boolean }) {
  if (ml.rememberAllowed && body.remember) await rememberBrowser(env, ctx, ml.userId);
  if (!shown) return finish(ctx, ml.interaction, mfaResult(ml));
  await saveResult(ml.interaction, mfaResult(ml));
  page(ctx, { title: 'Recovery code', brand: ml.brand, body: recoveryCodeNotice({ ...shown, continueUrl: ml.interaction.returnTo }) });
}

/** The first recovery code comes with the first enrollment, when the tenant offers them. */
async function doneEnrolling(ctx: Koa.Context, env: Env, ml: MfaLogin, body: Record<string, any>, enrolled?: boolean) {
  const code = enrolled ? await firstRecoveryCode(env, ml.userId) : undefined;
  await done(ctx, env, ml, body, code ? { code, replaced: false } : undefined);
}

export function mfaRoutes(router: Router, env: Env, engine: Engine) {
  const codeOf = (body: Record<string, any>) => (typeof body.code === 'string' ? body.code : '');

  router.get('/u/mfa', async (ctx) => {
    const ml = await loadMfaLogin(await loadInteraction(ctx, engine, ctx.query.state), ctx);
    if (ml) await showing(ctx, ml, () => renderMfa(ctx, env, engine, ml, typeof ctx.query.factor === 'string' ? ctx.query.factor : undefined));
  });

  /** A delivery the tenant's configuration refused (a provider's 400) is shown on the login's error page. */
  async function showing(ctx: Koa.Context, ml: MfaLogin, render: () => Promise<void>) {
    try {
      await render();
    } catch (e) {
      if (!(e instanceof ApiError) || e.statusCode >= 500) throw e;
      errorPage(ctx, ml.brand, `We could not send your code: ${e.message}`);
    }
  }

  /** Enrolling a phone number or email: the first code goes there, and the address is kept when it comes back. */
  router.post('/u/mfa/oob/enroll', async (ctx) => {
    const form = await readInteractionForm(ctx, env, engine);
    const ml = await loadMfaLogin(form?.lc, ctx);
    if (!ml) return;
    const factor = ml.factors.find((f) => f === form!.body.factor);
    if ((factor !== 'sms' && factor !== 'email') || usableAuthenticators(await mfaStateOf(env, ml.userId), ml.factors).length) {
      return errorPage(ctx, ml.brand, 'This method cannot be enrolled for this login. Please go back to the application and sign in again.');
    }
    let a: Authenticator;
    try {
      a = newOobAuthenticator(factor, form!.body.address);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      return renderAddress(ctx, env, ml, factor, String(form!.body.address ?? ''), { message: e.message, status: 400 });
    }
    await showing(ctx, ml, () => sendAndRender(ctx, env, engine, ml, a, true, {}));
  });

  /** The code sent by SMS or email, for a challenge or an enrollment alike. */
  router.post('/u/mfa/oob', async (ctx) => {
    const form = await readInteractionForm(ctx, env, engine);
    const ml = await loadMfaLogin(form?.lc, ctx);
    if (!ml) return;
    const oobCode = typeof form!.body.oob_code === 'string' ? form!.body.oob_code : '';
    // The same form again, with the refusal: a wrong code may be typed again, an expired one needs "Resend".
    const again = (e: PageError) => renderCode(ctx, env, ml, {
      oobCode, sentTo: String(form!.body.sent_to ?? ''), byEmail: form!.body.by === 'email', resendUrl: `/u/mfa?${stateQuery(ml)}`,
    }, e);
    const spent = await spend(ctx, env, ml, oobFactor(oobCode, ml.client.id), codeOf(form!.body), again);
    if (spent) await doneEnrolling(ctx, env, ml, form!.body, spent.enrolled);
  });

  /**
   * What the browser answered the ceremony of renderWebAuthn with. The kept
   * challenge is spent whatever the answer, so an answer counts once; a
   * refused one gets the page again, with a new challenge.
   */
  router.post('/u/mfa/webauthn', async (ctx) => {
    const form = await readInteractionForm(ctx, env, engine);
    const ml = await loadMfaLogin(form?.lc, ctx);
    if (!ml) return;
    const pending: PendingCeremony | undefined = ml.interaction.lastSubmission?.webauthn;
    if (pending) {
      delete ml.interaction.lastSubmission.webauthn;
      await keepInteraction(ml);
    }
    // An enrollment while nothing is enrolled yet; a challenge while the user still has a key of its factor.
    const usable = pending ? usableAuthenticators(await mfaStateOf(env, ml.userId), ml.factors) : [];
    const fits = pending && (pending.enrolling ? !usable.length : usable.some((a) => a.type === pending.factor));
    if (!pending || !ml.factors.includes(pending.factor) || !fits) {
      return errorPage(ctx, ml.brand, 'This security key request is no longer valid. Please go back to the application and sign in again.');
    }
    const name = String(form!.body.name ?? '').trim().slice(0, 20) || defaultKeyName(pending.factor);
    const factor = webauthnFactor(env, pending, { name, userAgent: ctx.get('user-agent') || undefined });
    const again = (e: PageError) => renderMfa(ctx, env, engine, ml, pending.factor, e);
    const spent = await spend(ctx, env, ml, factor, typeof form!.body.response === 'string' ? form!.body.response : '', again, KEY_REFUSED);
    if (spent) await doneEnrolling(ctx, env, ml, form!.body, spent.enrolled);
  });

  router.post('/u/mfa', async (ctx) => {
    const form = await readInteractionForm(ctx, env, engine);
    const ml = await loadMfaLogin(form?.lc, ctx);
    if (!ml) return;
    const spent = await spend(ctx, env, ml, OTP_FACTOR, codeOf(form!.body), (e) => renderMfa(ctx, env, engine, ml, 'otp', e));
    if (spent) await doneEnrolling(ctx, env, ml, form!.body, spent.enrolled);
  });

  const renderRecovery = async (ctx: Koa.Context, ml: MfaLogin, error?: { message: string; status: number }) => {
    page(ctx, {
      title: 'Verify your identity', brand: ml.brand, status: error?.status,
      body: recoveryCodeForm({ state: ml.uid, csrf: csrfToken(ctx, csrfSecret(env)), error: error?.message, backUrl: `/u/mfa?${stateQuery(ml)}`, ...(await rememberOption(env, ml)) }),
    });
  };

  router.get('/u/mfa/recovery', async (ctx) => {
    const ml = await loadMfaLogin(await loadInteraction(ctx, engine, ctx.query.state), ctx);
    if (ml) await renderRecovery(ctx, ml);
  });

  router.post('/u/mfa/recovery', async (ctx) => {
    const form = await readInteractionForm(ctx, env, engine);
    const ml = await loadMfaLogin(form?.lc, ctx);
    if (!ml) return;
    const spent = await spend(ctx, env, ml, RECOVERY_CODE_FACTOR, codeOf(form!.body), async (e) => renderRecovery(ctx, ml, e));
    if (spent) await done(ctx, env, ml, form!.body, { code: spent.successor!, replaced: true });
  });
}
