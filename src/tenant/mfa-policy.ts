import type { Env } from './env.ts';

// Whether a login needs a second factor, and which one Postern can ask for.
// The tenant's Guardian policy (`all-applications` means every login) and
// factors decide, unless a post-login action said otherwise with
// api.multifactor.enable: `none` skips MFA for that login, any other
// provider asks for it. Postern asks for an authenticator app's one-time
// password (with a recovery code as fallback); when MFA is required and that
// factor is off while others are on, the login is refused rather than let through.

/** What a post-login action asked for (api.multifactor.enable). */
export interface ActionMfa { provider: string; allowRememberBrowser?: boolean }

export type MfaNeed = 'none' | 'otp' | 'unavailable';

/** The providers that mean Guardian's own factors; `google-authenticator` is the one-time password alone. */
const GUARDIAN = new Set(['any', 'guardian', 'google-authenticator']);

export async function mfaNeed(env: Env, asked?: ActionMfa): Promise<MfaNeed> {
  if (asked?.provider === 'none') return 'none';
  // Every login asks this: the factors are read only when the policy or an action asks for MFA.
  if (!asked && !(await env.store.getTenantDoc<string[]>('guardian.policies'))?.includes('all-applications')) return 'none';
  const factors = await env.store.getTenantDoc<Record<string, { enabled?: boolean }>>('guardian.factors');
  // A policy with no factor enabled at all asks nothing: there is nothing to ask with (as in Auth0).
  if (!asked && !Object.values(factors ?? {}).some((f) => f?.enabled)) return 'none';
  if (asked && !GUARDIAN.has(asked.provider)) return 'unavailable';
  return asked?.provider === 'google-authenticator' || factors?.otp?.enabled ? 'otp' : 'unavailable';
}

export const MFA_UNAVAILABLE = 'Multifactor authentication is required, but none of the enabled factors is one Postern offers (an authenticator app).';

/** Whether recovery codes go with the authenticator app (the tenant's `recovery-code` factor). */
export async function recoveryCodesEnabled(env: Env): Promise<boolean> {
  return Boolean((await env.store.getTenantDoc<Record<string, { enabled?: boolean }>>('guardian.factors'))?.['recovery-code']?.enabled);
}
