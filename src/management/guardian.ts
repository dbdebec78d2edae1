import { route, type Handler, type Route } from './router.ts';
import { badRequest } from '../lib/errors.ts';
import { GUARDIAN_PHONE_TEMPLATES } from '../tenant/mfa-messages.ts';
import { MFA_SESSION_DEFAULTS } from '../tenant/remember-browser.ts';
import { WEBAUTHN_SETTINGS, type WebAuthnFactor, type WebAuthnSettings } from '../tenant/mfa-webauthn.ts';
import { relyingPartyId } from '../tenant/passkeys.ts';
import type { Env } from '../tenant/env.ts';
import { findOperation } from './spec.ts';
import { readSingleton, singleton, writeSingleton, type Singleton } from './singleton.ts';

// Guardian (MFA) configuration. The sms/* paths are Auth0's older names for
// the phone factor's settings, so both read and write the same documents.

/** In the order Auth0 lists them. */
const FACTORS = ['sms', 'push-notification', 'otp', 'email', 'duo', 'webauthn-roaming', 'webauthn-platform', 'recovery-code'];
const factors: Singleton<Record<string, { enabled: boolean }>> = { path: '/guardian/factors', doc: 'guardian.factors', defaults: {} };

const setting = (path: string, doc: string, defaults: Record<string, unknown>) => singleton({ path, doc, defaults });

/**
 * The MFA prompt's "remember me" and MFA session lifetimes, Auth0's defaults
 * until written. Only the GET: the op table names no scope for the PUT, so it
 * is not served (and nothing else writes this document yet).
 */
const settings: Singleton = { path: '/guardian/settings', doc: 'guardian.settings', defaults: MFA_SESSION_DEFAULTS };

/**
 * The WebAuthn factors' settings. Auth0 serves them (its SDKs and Terraform
 * provider read and write them) but its published spec and op table leave
 * them out, so they take the scopes of the other factors' settings (Duo's)
 * and their bodies are checked here.
 */
const unpublished = (method: 'GET' | 'PUT', path: string, handler: Handler): Route =>
  ({ op: { ...findOperation(method, '/guardian/factors/duo/settings'), path, operationId: `${method.toLowerCase()}_${path}` }, handler });

const USER_VERIFICATION = ['discouraged', 'preferred', 'required'];
const invalid = (why: string, prop?: string) => badRequest(`Payload validation error: '${why}'${prop ? ` on property ${prop}` : ''}.`);

/**
 * A settings body as Auth0 takes it. The relying party may only be the
 * tenant's domain or a domain above it: WebAuthn lets a page use no other.
 */
function webauthnSettings(env: Env, factor: WebAuthnFactor, body: unknown): WebAuthnSettings {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw invalid('must be object');
  const b = body as Record<string, unknown>;
  const allowed = factor === 'webauthn-roaming' ? ['userVerification', 'overrideRelyingParty', 'relyingPartyIdentifier'] : ['overrideRelyingParty', 'relyingPartyIdentifier'];
  for (const k of Object.keys(b)) if (!allowed.includes(k)) throw invalid(`Additional properties not allowed: ${k}`);
  if (b.userVerification !== undefined && !USER_VERIFICATION.includes(b.userVerification as string)) throw invalid('must be equal to one of the allowed values', 'userVerification');
  if (b.overrideRelyingParty !== undefined && typeof b.overrideRelyingParty !== 'boolean') throw invalid('must be boolean', 'overrideRelyingParty');
  if (b.relyingPartyIdentifier !== undefined) {
    if (typeof b.relyingPartyIdentifier !== 'string') throw invalid('must be string', 'relyingPartyIdentifier');
    const host = relyingPartyId(env), id = b.relyingPartyIdentifier.toLowerCase();
    if (id !== host && !(id.includes('.') && host.endsWith(`.${id}`))) throw invalid(`must be ${host} or a domain that ${host} belongs to`, 'relyingPartyIdentifier');
    b.relyingPartyIdentifier = id;
  }
  if (b.overrideRelyingParty === true && !b.relyingPartyIdentifier) throw invalid('Missing required property: relyingPartyIdentifier (overrideRelyingParty is true)');
  return b as WebAuthnSettings;
}

const webauthnRoutes = (factor: WebAuthnFactor): Route[] => {
  const path = `/guardian/factors/${factor}/settings`;
  const doc: Singleton<WebAuthnSettings> = { path, ...WEBAUTHN_SETTINGS[factor] };
  return [
    unpublished('GET', path, async ({ env }) => readSingleton(env, doc)),
    // PUT replaces the document and answers the body as it was given, as Auth0 does.
    unpublished('PUT', path, async ({ env, body }) => {
      const settings = webauthnSettings(env, factor, body);
      await writeSingleton(env, doc, {}, () => settings);
      return settings;
    }),
  ];
};

export const guardianRoutes: Route[] = [
  ...singleton<string[]>({ path: '/guardian/policies', doc: 'guardian.policies', defaults: [] }),
  route('GET', settings.path, async ({ env }) => readSingleton(env, settings)),
  route('GET', '/guardian/factors', async ({ env }) => {
    const state = await readSingleton(env, factors);
    // No trial runs here, so none has expired.
    return FACTORS.map((name) => ({ name, enabled: state[name]?.enabled ?? false, trial_expired: false }));
  }),
  route('PUT', '/guardian/factors/{name}', async ({ env, params, body }) => {
    await writeSingleton(env, factors, {}, (state) => ({ ...state, [params.name]: { enabled: body.enabled } }));
    return { enabled: body.enabled };
  }),
  ...setting('/guardian/factors/phone/message-types', 'guardian.phone_message_types', { message_types: ['sms'] }),
  ...setting('/guardian/factors/phone/selected-provider', 'guardian.phone_provider', { provider: 'auth0' }),
  ...setting('/guardian/factors/sms/selected-provider', 'guardian.phone_provider', { provider: 'auth0' }),
  ...setting('/guardian/factors/phone/templates', 'guardian.phone_templates', GUARDIAN_PHONE_TEMPLATES),
  ...setting('/guardian/factors/sms/templates', 'guardian.phone_templates', GUARDIAN_PHONE_TEMPLATES),
  ...setting('/guardian/factors/push-notification/selected-provider', 'guardian.push_provider', { provider: 'guardian' }),
  ...webauthnRoutes('webauthn-roaming'),
  ...webauthnRoutes('webauthn-platform'),
];
