import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { UserRow } from '../store/schema.ts';
import type { Env } from './env.ts';
import { changeMfa, mfaOf, newAuthenticatorId, type Authenticator } from './authenticators.ts';
import { PASSKEY_TIMEOUT_MS } from './passkey-sessions.ts';
import { PUBLIC_KEY_PARAMS, PasskeyRejected, assertedPasskey, newChallenge, relyingPartyId, userHandleOf, verifiedCredential, type Ceremony } from './passkeys.ts';
import { OtpRefused } from './otp.ts';
import { loadUser } from './users.ts';
import type { Factor } from './second-factor.ts';

// WebAuthn as a second factor, Guardian's `webauthn-roaming` (a security key,
// cross-platform) and `webauthn-platform` (the device's biometrics): the
// factors' settings, the options the Universal Login page hands to
// navigator.credentials, and the check of what comes back, through the same
// @simplewebauthn/server checks as passkeys (passkeys.ts). A key is one of
// the user's authenticators, of its factor's type, and is only ever asked for
// by its credential id (no discoverable credential, no user handle).

export type WebAuthnFactor = 'webauthn-roaming' | 'webauthn-platform';
export const isWebAuthnFactor = (f: unknown): f is WebAuthnFactor => f === 'webauthn-roaming' || f === 'webauthn-platform';

export type UserVerification = 'discouraged' | 'preferred' | 'required';
export interface WebAuthnSettings { userVerification?: UserVerification; overrideRelyingParty?: boolean; relyingPartyIdentifier?: string }

/** Each factor's settings document (`/api/v2/guardian/factors/{factor}/settings`) and what Auth0 answers before one is written. */
export const WEBAUTHN_SETTINGS: Record<WebAuthnFactor, { doc: string; defaults: WebAuthnSettings }> = {
  'webauthn-roaming': { doc: 'guardian.webauthn_roaming', defaults: { userVerification: 'discouraged', overrideRelyingParty: false } },
  'webauthn-platform': { doc: 'guardian.webauthn_platform', defaults: { overrideRelyingParty: false } },
};

/**
 * A ceremony the page started: what the POST that ends it is checked against.
 * It is kept on the login's interaction and spent by the first answer.
 */
export interface PendingCeremony {
  factor: WebAuthnFactor; enrolling: boolean; challenge: string; rpId: string; userVerification: UserVerification;
  /** Epoch milliseconds; the options' timeout told the browser the same. */
  expires_at: number;
}

async function settingsOf(env: Env, factor: WebAuthnFactor) {
  const { doc, defaults } = WEBAUTHN_SETTINGS[factor];
  const s: WebAuthnSettings = { ...defaults, ...(await env.store.getTenantDoc<WebAuthnSettings>(doc)) };
  return {
    rpId: s.overrideRelyingParty && s.relyingPartyIdentifier ? s.relyingPartyIdentifier : relyingPartyId(env),
    // Device biometrics are user verification; a security key asks for its PIN as the settings say.
    userVerification: factor === 'webauthn-platform' ? 'required' as const : s.userVerification ?? 'discouraged',
  };
}

const keysOf = (row: UserRow, types: string[]) => mfaOf(row).authenticators.filter((a) => types.includes(a.type) && a.key_id);
const descriptor = (a: Authenticator) => ({ type: 'public-key' as const, id: a.key_id!, ...(a.transports?.length ? { transports: a.transports } : {}) });

/**
 * A new ceremony for `user`: the enrollment of a key of this factor
 * (PublicKeyCredentialCreationOptions, which leave out the keys the user
 * already has), or a challenge to the keys of this factor the user enrolled
 * (PublicKeyCredentialRequestOptions), in their JSON form.
 */
export async function startCeremony(env: Env, user: UserRow, factor: WebAuthnFactor, enrolling: boolean, rpName: string) {
  const { rpId, userVerification } = await settingsOf(env, factor);
  const pending: PendingCeremony = { factor, enrolling, challenge: newChallenge(), rpId, userVerification, expires_at: Date.now() + PASSKEY_TIMEOUT_MS };
  const base = { challenge: pending.challenge, timeout: PASSKEY_TIMEOUT_MS };
  if (!enrolling) return { pending, options: { ...base, rpId, userVerification, allowCredentials: keysOf(user, [factor]).map(descriptor) } };
  const name = user.email ?? user.username ?? user.phone_number ?? user.user_id;
  return {
    pending,
    options: {
      ...base,
      rp: { id: rpId, name: rpName },
      user: { id: userHandleOf(user.user_id), name, displayName: user.name ?? name },
      pubKeyCredParams: PUBLIC_KEY_PARAMS,
      excludeCredentials: keysOf(user, ['webauthn-roaming', 'webauthn-platform']).map(descriptor),
      authenticatorSelection: {
        authenticatorAttachment: factor === 'webauthn-roaming' ? 'cross-platform' : 'platform',
        residentKey: 'discouraged', requireResidentKey: false, userVerification,
      },
      attestation: 'none',
    },
  };
}

/** The posted PublicKeyCredential, in its JSON form; anything else is an invalid answer. */
function credentialOf(text: string): Record<string, any> {
  let v: unknown;
  try { v = JSON.parse(text); } catch { throw new OtpRefused('invalid'); }
  if (!v || typeof v !== 'object' || typeof (v as any).id !== 'string' || !(v as any).response || typeof (v as any).response !== 'object') throw new OtpRefused('invalid');
  return v as Record<string, any>;
}

/** The library's refusals are a wrong answer, as a wrong code is. */
async function refusing<T>(run: () => Promise<T>): Promise<T> {
  try { return await run(); } catch (e) {
    throw e instanceof PasskeyRejected ? new OtpRefused('invalid') : e;
  }
}

/**
 * The factor a ceremony's answer is spent by (second-factor.ts): a new key
 * enrolled under `name`, or an assertion by one of the user's keys of this
 * factor, whose signature counter is then kept. The answer is checked against
 * the tenant's own origin: only its pages run these ceremonies.
 */
export function webauthnFactor(env: Env, p: PendingCeremony, opts: { name?: string; userAgent?: string } = {}): Factor {
  const ceremony: Ceremony = { env, challenge: p.challenge, rpId: p.rpId, requireUserVerification: p.userVerification === 'required', userAgent: opts.userAgent };
  return {
    name: 'webauthn',
    events: { ok: ['gd_auth_succeed', 'WebAuthn Auth success'], failed: ['gd_auth_failed', 'WebAuthn Auth failed'] },
    async spend(_env, userId, answer) {
      if (Date.now() > p.expires_at) throw new OtpRefused('expired');
      const credential = credentialOf(answer);
      if (p.enrolling) {
        const fields = await refusing(() => verifiedCredential(ceremony, credential as RegistrationResponseJSON));
        await changeMfa(env, userId, (mfa) => {
          if (mfa.authenticators.some((a) => a.key_id === fields.key_id)) throw new OtpRefused('invalid');
          const key: Authenticator = {
            id: newAuthenticatorId(p.factor), type: p.factor, ...(opts.name ? { name: opts.name } : {}), ...fields,
            identity_user_id: userId.slice(userId.indexOf('|') + 1), created_at: new Date().toISOString(),
          };
          return { ...mfa, authenticators: [...mfa.authenticators, key] };
        });
        return { enrolled: true, channel: p.factor };
      }
      const stored = keysOf(await loadUser(env, userId), [p.factor]).find((a) => a.key_id === credential.id);
      if (!stored) throw new OtpRefused('invalid');
      await refusing(() => assertedPasskey(ceremony, credential as AuthenticationResponseJSON, userId, stored));
      return {};
    },
  };
}
