import { createHash, timingSafeEqual } from 'node:crypto';
import type { Env } from './env.ts';
import { changeMfa, mfaOf, newAuthenticatorId, newRecoveryCode, type Authenticator, type MfaState } from './authenticators.ts';
import { newTotpSecret, totpStep, totpUri } from './totp.ts';
import { loadUser } from './users.ts';
import { recoveryCodesEnabled } from './mfa-policy.ts';

// The authenticator app's one-time passwords, and the recovery code to fall
// back on (codes sent by SMS or email are in mfa-oob.ts). Used by the
// Universal Login MFA page and by the MFA API (/mfa/*, the mfa-otp and
// mfa-recovery-code grants) alike. An enrollment is pending until its first
// code proves the app holds the secret; only then is it an authenticator.

/** Why a code was refused. */
export class OtpRefused extends Error {
  constructor(readonly reason: 'invalid' | 'too_many_attempts' | 'not_enrolled' | 'expired') { super(reason); }
}

/** Auth0's limit on guessing: a bucket of 10 attempts that gains one every 6 minutes. */
const BUCKET = 10;
const REFILL_MS = 6 * 60_000;

export const confirmedTotp = (mfa: MfaState) => mfa.authenticators.find((a) => a.type === 'totp');
export const recoveryCodeOf = (mfa: MfaState) => mfa.authenticators.find((a) => a.type === 'recovery-code');

export async function mfaStateOf(env: Env, userId: string): Promise<MfaState> {
  return mfaOf(await loadUser(env, userId));
}

/** Where a new enrollment's app is pointed: the secret, and the `otpauth://` URI that carries it. */
export interface OtpEnrollment { id: string; secret: string; uri: string }

/**
 * The user's pending enrollment, begun now unless one is already under way
 * (so a page reload shows the secret already scanned). `fresh` starts over,
 * as the MFA API's associate does. Undefined when the user already has an
 * authenticator app: a second one is not enrolled over the first.
 */
export async function pendingOtpEnrollment(env: Env, userId: string, opts: { issuer: string; fresh?: boolean }): Promise<OtpEnrollment | undefined> {
  const row = await loadUser(env, userId);
  const account = row.email ?? row.username ?? row.user_id;
  let out: OtpEnrollment | undefined;
  await changeMfa(env, userId, (mfa) => {
    out = undefined;
    if (confirmedTotp(mfa)) return mfa;
    let pending = mfa.pending_totp;
    if (!pending || opts.fresh) {
      pending = { id: newAuthenticatorId('totp'), totp_secret: env.box.seal(newTotpSecret()), created_at: new Date().toISOString() };
    }
    const secret = env.box.open(pending.totp_secret);
    out = { id: pending.id, secret, uri: totpUri(secret, opts.issuer, account) };
    return { ...mfa, pending_totp: pending };
  });
  return out;
}

/** Takes one attempt from the bucket, or refuses when it is empty. */
function spendAttempt(mfa: MfaState, now: number): MfaState {
  const last = mfa.otp_attempts ?? { left: BUCKET, at: now };
  const left = Math.min(BUCKET, last.left + Math.floor((now - last.at) / REFILL_MS));
  if (left <= 0) throw new OtpRefused('too_many_attempts');
  const at = left === last.left ? last.at : now;
  return { ...mfa, otp_attempts: { left: left - 1, at } };
}

/**
 * Checks a code against the user's authenticator app, or against the pending
 * enrollment, which it then confirms. A failed guess is counted (and stays
 * counted); a success refills the bucket. Answers whether this code completed
 * an enrollment.
 */
export async function verifyOtp(env: Env, userId: string, code: string): Promise<{ enrolled: boolean }> {
  const now = Date.now();
  let outcome: { enrolled: boolean } | OtpRefused = new OtpRefused('not_enrolled');
  await changeMfa(env, userId, (mfa) => {
    const confirmed = confirmedTotp(mfa);
    const sealed = confirmed?.totp_secret ?? mfa.pending_totp?.totp_secret;
    if (!sealed) { outcome = new OtpRefused('not_enrolled'); return mfa; }
    const spent = spendAttempt(mfa, now);
    const step = totpStep(env.box.open(sealed), code.trim(), now);
    if (step === undefined || (mfa.totp_last_step !== undefined && step <= mfa.totp_last_step)) {
      outcome = new OtpRefused('invalid');
      return spent;
    }
    const next: MfaState = { ...spent, totp_last_step: step, otp_attempts: undefined };
    if (confirmed) { outcome = { enrolled: false }; return next; }
    const p = mfa.pending_totp!;
    const app: Authenticator = { id: p.id, type: 'totp', created_at: new Date(now).toISOString(), totp_secret: p.totp_secret };
    outcome = { enrolled: true };
    return { ...next, pending_totp: undefined, authenticators: [...mfa.authenticators, app] };
  }).catch((e) => { if (!(e instanceof OtpRefused)) throw e; outcome = e; });
  if (outcome instanceof OtpRefused) throw outcome;
  return outcome;
}

/** The first recovery code, made with a user's first enrollment when the tenant offers them; undefined otherwise. */
export async function firstRecoveryCode(env: Env, userId: string): Promise<string | undefined> {
  if (!(await recoveryCodesEnabled(env)) || recoveryCodeOf(await mfaStateOf(env, userId))) return undefined;
  return replaceRecoveryCode(env, userId);
}

/** A new recovery code in place of the old one; answered once, kept as its hash. */
export async function replaceRecoveryCode(env: Env, userId: string): Promise<string> {
  const { code, hash } = newRecoveryCode();
  await changeMfa(env, userId, (mfa) => ({
    ...mfa,
    authenticators: [...mfa.authenticators.filter((a) => a.type !== 'recovery-code'), {
      id: newAuthenticatorId('recovery-code'), type: 'recovery-code', created_at: new Date().toISOString(), recovery_code_hash: hash,
    }],
  }));
  return code;
}

const sameHash = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * Logs in with the recovery code instead of the app: the code is spent and a
 * new one answered, as Auth0 does. Guesses count against the same bucket.
 */
export async function useRecoveryCode(env: Env, userId: string, code: string): Promise<string> {
  const now = Date.now();
  const hash = createHash('sha256').update(code.trim().toUpperCase().replace(/[\s-]/g, '')).digest('hex');
  const fresh = newRecoveryCode();
  let refusal: OtpRefused | undefined;
  await changeMfa(env, userId, (mfa) => {
    refusal = undefined;
    const held = recoveryCodeOf(mfa);
    if (!held?.recovery_code_hash) { refusal = new OtpRefused('not_enrolled'); return mfa; }
    const spent = spendAttempt(mfa, now);
    if (!sameHash(held.recovery_code_hash, hash)) { refusal = new OtpRefused('invalid'); return spent; }
    const replaced: Authenticator = { ...held, recovery_code_hash: fresh.hash };
    return { ...spent, otp_attempts: undefined, authenticators: mfa.authenticators.map((a) => (a === held ? replaced : a)) };
  }).catch((e) => { if (!(e instanceof OtpRefused)) throw e; refusal = e; });
  if (refusal) throw refusal;
  return fresh.code;
}
