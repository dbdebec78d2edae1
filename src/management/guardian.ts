import { route, type Route } from './router.ts';
import { GUARDIAN_PHONE_TEMPLATES } from '../tenant/mfa-messages.ts';
import { MFA_SESSION_DEFAULTS } from '../tenant/remember-browser.ts';
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
];
