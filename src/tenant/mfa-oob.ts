import { randomBytes } from 'node:crypto';
import type { UserRow } from '../store/schema.ts';
import { badRequest } from '../lib/errors.ts';
import { isEmail, isPhoneNumber } from '../connections/passwordless.ts';
import type { Env } from './env.ts';
import { changeMfa, newAuthenticatorId, type Authenticator } from './authenticators.ts';
import { sendOobMessage, type OobChannel } from './mfa-messages.ts';
import { CodeNotAccepted, issueCode, keyedMac, spendCode } from './one-time-codes.ts';
import { OtpRefused } from './otp.ts';

// Second factors whose code is sent out of band: by text message or voice
// call (Guardian's `sms` factor, a `phone` authenticator) or by email. Each
// challenge sends a new code and answers an `oob_code` that names it; the
// person types the code (Auth0's `binding_code`) where the application asks.
// A phone number or address being enrolled becomes an authenticator only
// when its first code comes back, so a mistyped number is never kept.

const MODEL = 'MfaOobCode';
/** Tries per code; a new challenge sends a new code. */
const MAX_ATTEMPTS = 3;

interface Pending { sub: string; client_id?: string; authenticator: Authenticator; enrolling: boolean }

const keyOf = (env: Env, oobCode: string) => ({ model: MODEL, id: keyedMac(env, 'postern mfa oob code', oobCode) });

/** The channel a code goes by for this authenticator; undefined for those whose codes are not sent. */
export function channelOf(a: Authenticator): OobChannel | undefined {
  if (a.type === 'email') return 'email';
  if (a.type === 'phone') return a.preferred_authentication_method === 'voice' ? 'voice' : 'sms';
  return undefined;
}

/** A phone number or address as shown back: enough to recognise, not to learn. */
export function maskedAddress(a: Authenticator) {
  if (a.type === 'phone') return `XXXXXXXX${(a.phone_number ?? '').slice(-4)}`;
  const [local, domain] = (a.email ?? '').split('@');
  return `${local.slice(0, 2)}***@${domain ?? ''}`;
}

/** The code's digits and lifetime: Guardian's email settings for email, Auth0's six digits and five minutes by phone. */
async function codeOptions(env: Env, channel: OobChannel) {
  if (channel !== 'email') return { length: 6, ttlSeconds: 300 };
  const s = (await env.store.getTenantDoc<{ otp_length?: number; otp_expiration_time?: number }>('guardian.email_settings')) ?? {};
  const length = Number.isInteger(s.otp_length) && s.otp_length! >= 4 && s.otp_length! <= 10 ? s.otp_length! : 6;
  const ttlSeconds = Number.isInteger(s.otp_expiration_time) && s.otp_expiration_time! >= 60 ? s.otp_expiration_time! : 300;
  return { length, ttlSeconds };
}

export interface OobSend { user: UserRow; authenticator: Authenticator; client?: { id: string; data: any }; enrolling?: boolean }

/** Sends a new code to the authenticator; answers the oob_code that names it. */
export async function sendOobCode(env: Env, s: OobSend): Promise<string> {
  const channel = channelOf(s.authenticator);
  if (!channel) throw new Error(`no code is sent to a ${s.authenticator.type} authenticator`);
  const oobCode = randomBytes(32).toString('base64url');
  const pending: Pending = { sub: s.user.user_id, client_id: s.client?.id, authenticator: s.authenticator, enrolling: Boolean(s.enrolling) };
  const code = await issueCode(env, keyOf(env, oobCode), await codeOptions(env, channel), pending);
  const to = channel === 'email' ? s.authenticator.email! : s.authenticator.phone_number!;
  await sendOobMessage(env, { channel, to, code, enrolling: Boolean(s.enrolling), user: s.user, client: s.client });
  return oobCode;
}

/** A phone or email authenticator to enroll, from what the person typed; a 400 for a malformed number or address. */
export function newOobAuthenticator(channel: OobChannel, address: unknown): Authenticator {
  const value = typeof address === 'string' ? address.trim() : '';
  const created_at = new Date().toISOString();
  if (channel === 'email') {
    if (!isEmail(value)) throw badRequest('email must be a valid email address.', 'invalid_request');
    return { id: newAuthenticatorId('email'), type: 'email', email: value, created_at };
  }
  if (!isPhoneNumber(value)) throw badRequest('phone_number must be a phone number in E.164 format, such as +14155550123.', 'invalid_request');
  return { id: newAuthenticatorId('phone'), type: 'phone', phone_number: value, preferred_authentication_method: channel, created_at };
}

/**
 * Spends a code sent to `userId` (for the application `clientId`, when the
 * challenge named one). An enrolling authenticator is kept from now on.
 * Refusals are OtpRefused, as for the authenticator app.
 */
export async function verifyOobCode(env: Env, userId: string, clientId: string | undefined, oobCode: string, code: string) {
  let pending: Pending;
  try {
    pending = await spendCode<Pending>(env, keyOf(env, oobCode), code, MAX_ATTEMPTS);
  } catch (e) {
    if (!(e instanceof CodeNotAccepted)) throw e;
    throw new OtpRefused(e.reason === 'wrong' ? 'invalid' : e.reason);
  }
  if (pending.sub !== userId || (pending.client_id && clientId && pending.client_id !== clientId)) throw new OtpRefused('invalid');
  const a = pending.authenticator;
  if (pending.enrolling) {
    await changeMfa(env, userId, (mfa) => ({ ...mfa, authenticators: [...mfa.authenticators.filter((x) => x.id !== a.id), a] }));
  }
  return { enrolled: pending.enrolling, authenticator: a, channel: channelOf(a)! };
}
