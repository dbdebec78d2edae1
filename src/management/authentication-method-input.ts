import { ApiError, badRequest, conflict } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';
import { newAuthenticatorId, type Authenticator } from '../tenant/authenticators.ts';

// What a new authentication method needs beyond the spec's schema, which lets
// every field through for every type: the fields each type requires and
// allows, the values' shapes, and the rules on a user's whole set (one TOTP,
// no phone, email or credential twice, a bounded number).

const WEBAUTHN = ['key_id', 'public_key', 'relying_party_identifier', 'aaguid', 'credential_device_type', 'credential_backed_up', 'identity_user_id', 'user_agent', 'user_handle', 'transports'];
const FIELDS: Record<string, { required: string[]; allowed: string[] }> = {
  phone: { required: ['phone_number'], allowed: ['phone_number', 'preferred_authentication_method'] },
  email: { required: ['email'], allowed: ['email'] },
  totp: { required: ['totp_secret'], allowed: ['totp_secret'] },
  'webauthn-roaming': { required: ['key_id', 'public_key'], allowed: WEBAUTHN },
  passkey: { required: ['key_id', 'public_key'], allowed: WEBAUTHN },
};

const SHAPES: Record<string, [RegExp, string]> = {
  name: [/^.{1,20}$/su, 'Must be between 1 and 20 characters'],
  phone_number: [/^\+[1-9][0-9]{6,14}$/, 'Must be a phone number in E.164 format'],
  email: [/^[^\s@]{1,64}@[^\s@.]+(\.[^\s@.]+)+$/, 'Must be an email address'],
  // Base32 (RFC 4648), at least 80 bits as authenticator apps expect; padding allowed.
  totp_secret: [/^[A-Z2-7]{16,128}=*$/i, 'Must be a base32 encoded secret of 16 to 128 characters'],
  key_id: [/^[A-Za-z0-9+/_=-]{1,1024}$/, 'Must be a base64 encoded credential id'],
  public_key: [/^[A-Za-z0-9+/_-]{1,4096}={0,2}$/, 'Must be base64 encoded'],
};

export const MAX_AUTHENTICATORS = 20;
const invalid = (at: string, prop: string, why: string) => badRequest(`Payload validation error: '${why}' on property ${at}${prop}.`);

/** The shapes of whichever of these fields the body has; `at` prefixes the property in messages (an array index). */
export function checkShapes(body: Record<string, unknown>, at = '') {
  for (const [prop, [re, why]] of Object.entries(SHAPES)) {
    if (typeof body[prop] === 'string' && !re.test(body[prop] as string)) throw invalid(at, prop, why);
  }
}

/** A new authenticator from a create or replace body (already valid against the spec), its TOTP secret sealed. */
export function newAuthenticator(env: Env, body: Record<string, any>, at = ''): Authenticator {
  const { required, allowed } = FIELDS[body.type];
  for (const f of required) if (body[f] === undefined) throw badRequest(`Payload validation error: 'Missing required property: ${f}'${at ? ` on property ${at.slice(0, -1)}` : ''}.`);
  for (const k of Object.keys(body)) if (k !== 'type' && k !== 'name' && !allowed.includes(k)) throw invalid(at, k, `Not allowed for type ${body.type}`);
  checkShapes(body, at);
  const { type, totp_secret, ...rest } = body;
  return {
    id: newAuthenticatorId(type), type, ...rest,
    ...(totp_secret !== undefined ? { totp_secret: env.box.seal(totp_secret.replace(/=+$/, '').toUpperCase()) } : {}),
    // The credential was made for this tenant unless the body says otherwise.
    ...(allowed === WEBAUTHN && !rest.relying_party_identifier ? { relying_party_identifier: new URL(env.issuer).hostname } : {}),
    created_at: new Date().toISOString(),
  };
}

/** Whether `b` enrolls what `a` already does. */
function clashes(a: Authenticator, b: Authenticator) {
  if (b.type === 'totp') return a.type === 'totp';
  if (b.key_id !== undefined) return a.key_id === b.key_id;
  if (b.type === 'phone') return a.type === 'phone' && a.phone_number === b.phone_number;
  return b.type === 'email' && a.type === 'email' && a.email!.toLowerCase() === b.email!.toLowerCase();
}

/** The set with `b` added, or a 409 / 400 when the user's set cannot take it. */
export function withAuthenticator(list: Authenticator[], b: Authenticator): Authenticator[] {
  if (list.some((a) => clashes(a, b))) {
    throw conflict(b.type === 'totp' ? 'The user already has a totp authentication method.' : `The user already has this ${b.type} authentication method.`);
  }
  if (list.length >= MAX_AUTHENTICATORS) throw new ApiError(400, `A user can have at most ${MAX_AUTHENTICATORS} authentication methods.`, 'too_many_entities');
  return [...list, b];
}
