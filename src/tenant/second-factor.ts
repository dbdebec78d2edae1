import type { Env } from './env.ts';
import type { LogEvent } from './logs.ts';
import { verifyOobCode } from './mfa-oob.ts';
import { OtpRefused, useRecoveryCode, verifyOtp } from './otp.ts';

// Spending a second factor's code, for the MFA grants and the Universal Login
// MFA page alike, with the Guardian log events Auth0 records for each outcome.
// (A security key's "code" is its WebAuthn response: mfa-webauthn.ts.)

/** One factor: how its code is spent, and Auth0's log events for it. */
export interface Factor {
  name: 'otp' | 'oob' | 'recovery-code' | 'webauthn';
  /** Spends the code: whether it completed an enrollment (and by which channel), and a recovery code's successor. */
  spend(env: Env, userId: string, code: string): Promise<{ enrolled?: boolean; channel?: string; successor?: string }>;
  events: { ok: [type: string, description: string]; failed: [type: string, description: string] };
}

export const OTP_FACTOR: Factor = {
  name: 'otp',
  spend: async (env, userId, code) => ({ enrolled: (await verifyOtp(env, userId, code)).enrolled }),
  events: { ok: ['gd_auth_succeed', 'OTP Auth success'], failed: ['gd_auth_failed', 'OTP Auth failed'] },
};

/** A code sent by SMS, voice or email, named by the oob_code its challenge answered. */
export const oobFactor = (oobCode: string, clientId?: string): Factor => ({
  name: 'oob',
  spend: (env, userId, code) => verifyOobCode(env, userId, clientId, oobCode, code),
  events: { ok: ['gd_auth_succeed', 'OOB Auth success'], failed: ['gd_auth_failed', 'OOB Auth failed'] },
});

export const RECOVERY_CODE_FACTOR: Factor = {
  name: 'recovery-code',
  spend: async (env, userId, code) => ({ successor: await useRecoveryCode(env, userId, code) }),
  events: { ok: ['gd_recovery_succeed', 'Recovery success'], failed: ['gd_recovery_failed', 'Recovery failed'] },
};

/** Spends a code and logs the outcome; a refusal is rethrown (OtpRefused) for the caller to word. */
export async function spendSecondFactor(env: Env, factor: Factor, userId: string, code: string, facts: Partial<LogEvent>) {
  const base = { ...facts, user_id: userId };
  try {
    const spent = await factor.spend(env, userId, code);
    if (spent.enrolled) env.events.record({ ...base, type: 'gd_enrollment_complete', description: `Guardian - Enrollment complete (${spent.channel ?? 'otp'})` });
    env.events.record({ ...base, type: factor.events.ok[0], description: factor.events.ok[1] });
    return spent;
  } catch (e) {
    if (!(e instanceof OtpRefused)) throw e;
    const [type, description] = e.reason === 'too_many_attempts' ? ['gd_otp_rate_limit_exceed', 'Too many failures'] : factor.events.failed;
    if (e.reason !== 'not_enrolled') env.events.record({ ...base, type, description });
    throw e;
  }
}
