import type { Env } from './env.ts';
import type { Authenticator, MfaState } from './authenticators.ts';

// Whether a login needs a second factor, and which ones Postern can ask for.
// The tenant's Guardian policy (`all-applications` means every login) and
// factors decide, unless a post-login action said otherwise with
// api.multifactor.enable: `none` skips MFA for that login, any other
// provider asks for it. Postern asks for an authenticator app's one-time
// password, a code by SMS or voice call, a code by email, a security key or
// device biometrics (WebAuthn, at Universal Login only), with a recovery code
// as fallback; when MFA is required and none of those factors is on while
// others are, the login is refused rather than let through.

/** What a post-login action asked for (api.multifactor.enable). */
export interface ActionMfa { provider: string; allowRememberBrowser?: boolean }

/** The Guardian factors Postern can ask for, by their Guardian names. */
export type Offered = MfaApiFactor | 'webauthn-roaming' | 'webauthn-platform';
/** Those the MFA API (/mfa/*, the password grants) can use too: Auth0's has no WebAuthn. */
export type MfaApiFactor = 'otp' | 'sms' | 'email';
export const MFA_API_FACTORS: MfaApiFactor[] = ['otp', 'sms', 'email'];
export const OFFERED: Offered[] = [...MFA_API_FACTORS, 'webauthn-roaming', 'webauthn-platform'];
export const isMfaApiFactor = (f: Offered): f is MfaApiFactor => (MFA_API_FACTORS as Offered[]).includes(f);

export type MfaNeed = { kind: 'none' } | { kind: 'unavailable' } | { kind: 'required'; factors: Offered[] };
const NONE: MfaNeed = { kind: 'none' };
const UNAVAILABLE: MfaNeed = { kind: 'unavailable' };

/** The providers that mean Guardian's own factors; `google-authenticator` is the one-time password alone. */
const GUARDIAN = new Set(['any', 'guardian', 'google-authenticator']);

type Factors = Record<string, { enabled?: boolean } | undefined>;
const enabledFactors = async (env: Env) => (await env.store.getTenantDoc<Factors>('guardian.factors')) ?? {};

export async function mfaNeed(env: Env, asked?: ActionMfa): Promise<MfaNeed> {
  if (asked?.provider === 'none') return NONE;
  // Every login asks this: the factors are read only when the policy or an action asks for MFA.
  if (!asked && !(await env.store.getTenantDoc<string[]>('guardian.policies'))?.includes('all-applications')) return NONE;
  const factors = await enabledFactors(env);
  // A policy with no factor enabled at all asks nothing: there is nothing to ask with (as in Auth0).
  if (!asked && !Object.values(factors).some((f) => f?.enabled)) return NONE;
  if (asked && !GUARDIAN.has(asked.provider)) return UNAVAILABLE;
  const offered = asked?.provider === 'google-authenticator' ? ['otp' as const] : OFFERED.filter((f) => factors[f]?.enabled);
  return offered.length ? { kind: 'required', factors: offered } : UNAVAILABLE;
}

/** The enabled factors Postern offers, whatever the policy says. */
export async function offeredFactors(env: Env): Promise<Offered[]> {
  const factors = await enabledFactors(env);
  return OFFERED.filter((f) => factors[f]?.enabled);
}

/** The enabled factors of the MFA API: what an MFA API access token may enroll. */
export const mfaApiFactors = async (env: Env): Promise<MfaApiFactor[]> => (await offeredFactors(env)).filter(isMfaApiFactor);

/** A remembered browser may skip MFA, unless the action that asked for it did not allow that (Auth0's default for actions). */
export const rememberAllowed = (asked?: ActionMfa) => !asked || asked.allowRememberBrowser === true;

export const MFA_UNAVAILABLE = 'Multifactor authentication is required, but none of the enabled factors is one Postern offers (an authenticator app, SMS or voice, email, a security key or device biometrics).';
export const MFA_API_UNAVAILABLE = 'Multifactor authentication is required, but none of the enabled factors works through the MFA API (an authenticator app, SMS or voice, email); log in through Universal Login instead.';

/** The factor an authenticator answers for. */
export function factorOf(a: Authenticator): Offered | undefined {
  switch (a.type) {
    case 'totp': return 'otp';
    case 'phone': return 'sms';
    case 'email': return 'email';
    case 'webauthn-roaming': case 'webauthn-platform': return a.type;
    default: return undefined;
  }
}

/** The user's authenticators that can answer for one of these factors, in the order the factors are preferred. */
export function usableAuthenticators(mfa: MfaState, factors: Offered[]): Authenticator[] {
  return factors.flatMap((f) => mfa.authenticators.filter((a) => factorOf(a) === f));
}

/** Whether recovery codes go with the other factors (the tenant's `recovery-code` factor). */
export async function recoveryCodesEnabled(env: Env): Promise<boolean> {
  return Boolean((await enabledFactors(env))['recovery-code']?.enabled);
}

/** Whether the phone factor may use this channel (Guardian's phone message types; SMS alone by default). */
export async function phoneChannelAllowed(env: Env, channel: 'sms' | 'voice'): Promise<boolean> {
  const types = (await env.store.getTenantDoc<{ message_types?: string[] }>('guardian.phone_message_types'))?.message_types ?? ['sms'];
  return types.includes(channel);
}
