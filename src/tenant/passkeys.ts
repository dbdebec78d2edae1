import { randomBytes } from 'node:crypto';
import { verifyAuthenticationResponse, verifyRegistrationResponse } from '@simplewebauthn/server';
import type { AuthenticationResponseJSON, AuthenticatorTransport, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { UserRow } from '../store/schema.ts';
import type { Env } from './env.ts';
import { changeMfa, mfaOf, newAuthenticatorId, type Authenticator } from './authenticators.ts';
import { PASSKEY_TIMEOUT_MS, type PasskeySession, type SignupProfile } from './passkey-sessions.ts';

// A user's passkeys as WebAuthn sees them: the options an authenticator is
// asked with, and the checks of what it answers (by @simplewebauthn/server),
// with the tenant's domain as the relying party. A passkey is kept as one of
// the user's authenticators (type `passkey`, see authenticators.ts), so the
// Management API lists and deletes it like the others. The same checks serve
// the security keys and device biometrics of the second factor (mfa-webauthn.ts).

/** ES256 and RS256, as Auth0 offers them. */
const ALGORITHMS = [-7, -257];
export const PUBLIC_KEY_PARAMS = ALGORITHMS.map((alg) => ({ type: 'public-key' as const, alg }));

/** A credential an authenticator gave back that does not check out; its message says why. */
export class PasskeyRejected extends Error {}

export const relyingPartyId = (env: Env) => new URL(env.issuer).hostname;

/**
 * Where a ceremony may have taken place: the tenant's own origin; an Android
 * app of the application (`android:apk-key-hash:` and its signing
 * certificate's SHA-256, from `mobile.android.sha256_cert_fingerprints`, as
 * Android's Credential Manager names it); and the application's web origins
 * on the relying party's host or below it, the only web pages a browser lets
 * use this RP id.
 */
export function expectedOrigins(env: Env, client: { data: any }): string[] {
  const rpId = relyingPartyId(env);
  const web = [...(client.data.web_origins ?? []), ...(client.data.allowed_origins ?? [])].flatMap((o: unknown) => {
    if (typeof o !== 'string' || !URL.canParse(o)) return [];
    const u = new URL(o);
    return u.protocol === 'https:' && (u.hostname === rpId || u.hostname.endsWith(`.${rpId}`)) ? [u.origin] : [];
  });
  const android = (client.data.mobile?.android?.sha256_cert_fingerprints ?? []).flatMap((f: unknown) => {
    const hex = typeof f === 'string' ? f.replace(/:/g, '') : '';
    return /^[0-9a-f]{64}$/i.test(hex) ? [`android:apk-key-hash:${Buffer.from(hex, 'hex').toString('base64url')}`] : [];
  });
  return [...new Set([new URL(env.issuer).origin, ...web, ...android])];
}

export const newChallenge = () => randomBytes(32).toString('base64url');
/** The WebAuthn user handle of a new user: their user id, so a login finds them from the assertion alone. */
export const userHandleOf = (userId: string) => Buffer.from(userId, 'utf8').toString('base64url');

/** PublicKeyCredentialCreationOptions for a signup, in Auth0's JSON. */
export function creationOptions(env: Env, rpName: string, s: Extract<PasskeySession, { kind: 'signup' }>) {
  const p: SignupProfile = s.profile;
  const name = p.email ?? p.username ?? p.phone_number ?? s.user_id;
  return {
    challenge: s.challenge,
    rp: { id: relyingPartyId(env), name: rpName },
    user: { id: userHandleOf(s.user_id), name, displayName: p.name ?? name },
    pubKeyCredParams: PUBLIC_KEY_PARAMS,
    authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
    timeout: PASSKEY_TIMEOUT_MS,
  };
}

/** PublicKeyCredentialRequestOptions for a login: no allowCredentials, so the authenticator offers its discoverable passkeys. */
export const requestOptions = (env: Env, challenge: string) =>
  ({ challenge, rpId: relyingPartyId(env), timeout: PASSKEY_TIMEOUT_MS, userVerification: 'preferred' });

/** The library's refusals (and its decoders' errors on malformed input) as one kind. */
async function checked<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    throw new PasskeyRejected((e as Error).message);
  }
}

export interface Ceremony {
  env: Env; challenge: string; userAgent?: string;
  /** The application whose origins may have run it (the native passkey API); else the tenant's own pages alone. */
  client?: { data: any };
  /** The relying party, when the tenant's settings name another than its domain. */
  rpId?: string;
  requireUserVerification?: boolean;
}
const rpIdOf = (c: Ceremony) => c.rpId ?? relyingPartyId(c.env);
const originsOf = (c: Ceremony) => (c.client ? expectedOrigins(c.env, c.client) : [new URL(c.env.issuer).origin]);

/** What is kept of a new credential from a registration response, once it checks out. */
export async function verifiedCredential(c: Ceremony, response: RegistrationResponseJSON) {
  const rpId = rpIdOf(c);
  const v = await checked(() => verifyRegistrationResponse({
    response, expectedChallenge: c.challenge, expectedOrigin: originsOf(c), expectedRPID: rpId,
    requireUserVerification: c.requireUserVerification ?? false, supportedAlgorithmIDs: ALGORITHMS,
  }));
  if (!v.verified) throw new PasskeyRejected('The credential could not be verified.');
  const info = v.registrationInfo;
  return {
    key_id: info.credential.id, public_key: Buffer.from(info.credential.publicKey).toString('base64'),
    relying_party_identifier: rpId, aaguid: info.aaguid,
    credential_device_type: info.credentialDeviceType === 'multiDevice' ? 'multi_device' : 'single_device',
    credential_backed_up: info.credentialBackedUp,
    ...(c.userAgent ? { user_agent: c.userAgent } : {}),
    // As the browser said, and only strings: they go back to it in later options.
    transports: [response.response?.transports].flat().filter((t): t is AuthenticatorTransport => typeof t === 'string').slice(0, 8),
    counter: info.credential.counter,
  } satisfies Partial<Authenticator>;
}

/** A new passkey from a registration response, as the authenticator to store for `identity` (its id within the connection). */
export async function registeredPasskey(c: Ceremony, response: RegistrationResponseJSON, identity: { userId: string; identityId: string }): Promise<Authenticator> {
  return {
    id: newAuthenticatorId('passkey'), type: 'passkey', ...(await verifiedCredential(c, response)),
    identity_user_id: identity.identityId, user_handle: userHandleOf(identity.userId),
    created_at: new Date().toISOString(),
  };
}

/** The user id an assertion's user handle names, when it names one. */
export function userIdOf(response: AuthenticationResponseJSON): string | undefined {
  const handle = response.response.userHandle;
  if (typeof handle !== 'string' || !/^[\w-]+$/.test(handle)) return undefined;
  return Buffer.from(handle, 'base64url').toString('utf8') || undefined;
}

/** The user's stored passkey that made this assertion. */
export const passkeyOf = (row: UserRow, credentialId: string) =>
  mfaOf(row).authenticators.find((a) => a.type === 'passkey' && a.key_id === credentialId);

/**
 * Checks an assertion against the stored passkey (or security key), then records its signature
 * counter, which must have grown since the last use (a counter that stays at
 * zero is an authenticator that keeps none, as WebAuthn allows). The write is
 * conditional on the user's row, so two uses of one signature cannot both pass.
 */
export async function assertedPasskey(c: Ceremony, response: AuthenticationResponseJSON, userId: string, stored: Authenticator): Promise<void> {
  const v = await checked(() => verifyAuthenticationResponse({
    response, expectedChallenge: c.challenge, expectedOrigin: originsOf(c), expectedRPID: rpIdOf(c),
    credential: { id: stored.key_id!, publicKey: Buffer.from(stored.public_key!, 'base64'), counter: stored.counter ?? 0, transports: stored.transports as any },
    requireUserVerification: c.requireUserVerification ?? false,
  }));
  if (!v.verified) throw new PasskeyRejected('The passkey signature does not verify.');
  const { newCounter, credentialBackedUp } = v.authenticationInfo;
  await changeMfa(c.env, userId, (mfa) => {
    const cur = mfa.authenticators.find((a) => a.id === stored.id);
    if (!cur) throw new PasskeyRejected('The passkey is no longer enrolled.');
    if ((newCounter > 0 || (cur.counter ?? 0) > 0) && newCounter <= (cur.counter ?? 0)) throw new PasskeyRejected('The passkey signature counter did not increase.');
    const used = { ...cur, counter: newCounter, credential_backed_up: credentialBackedUp, last_auth_at: new Date().toISOString() };
    return { ...mfa, authenticators: mfa.authenticators.map((a) => (a === cur ? used : a)) };
  });
}
