import { Secret, TOTP } from 'otpauth';

// RFC 6238 one-time passwords as authenticator apps make them (Google
// Authenticator's profile: SHA-1, 6 digits, 30 seconds), through `otpauth`.

const PROFILE = { algorithm: 'SHA1', digits: 6, period: 30 } as const;

/** A new shared secret: 160 bits, base32 without padding. */
export const newTotpSecret = (): string => new Secret({ size: 20 }).base32;

/** The `otpauth://` URI an authenticator app (or a QR code) takes. */
export function totpUri(secret: string, issuer: string, account: string): string {
  return new TOTP({ ...PROFILE, issuer, label: account, secret: Secret.fromBase32(secret) }).toString();
}

/**
 * The time step a code belongs to, one step of clock drift either way, or
 * undefined when it matches none. The step lets the caller refuse a code
 * that was already used.
 */
export function totpStep(secret: string, code: string, at = Date.now()): number | undefined {
  if (!/^\d{6}$/.test(code)) return undefined;
  const totp = new TOTP({ ...PROFILE, secret: Secret.fromBase32(secret) });
  const delta = totp.validate({ token: code, timestamp: at, window: 1 });
  return delta === null ? undefined : totp.counter({ timestamp: at }) + delta;
}
