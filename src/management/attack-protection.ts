import { badRequest } from '../lib/errors.ts';
import type { Route } from './router.ts';
import { singleton, type Singleton } from './singleton.ts';

// Auth0's attack-protection settings, with the values a new tenant starts with.
// Exported so that what enforces them reads the same documents.

export const BRUTE_FORCE: Singleton = {
  path: '/attack-protection/brute-force-protection', doc: 'attack_protection.brute_force',
  defaults: { enabled: true, shields: ['block', 'user_notification'], mode: 'count_per_identifier_and_ip', allowlist: [], max_attempts: 10 },
};

export const SUSPICIOUS_IP_THROTTLING: Singleton = {
  path: '/attack-protection/suspicious-ip-throttling', doc: 'attack_protection.suspicious_ip',
  defaults: {
    enabled: true, shields: ['admin_notification', 'block'], allowlist: [],
    stage: { 'pre-login': { max_attempts: 100, rate: 864000 }, 'pre-user-registration': { max_attempts: 50, rate: 1728000 } },
  },
  merge: ['stage'],
};

export const BREACHED_PASSWORD_DETECTION: Singleton = {
  path: '/attack-protection/breached-password-detection', doc: 'attack_protection.breached_password',
  defaults: {
    enabled: false, shields: [], admin_notification_frequency: [], method: 'standard',
    stage: { 'pre-user-registration': { shields: [] }, 'pre-change-password': { shields: [] } },
  },
  merge: ['stage'],
};

export const BOT_DETECTION: Singleton = {
  path: '/attack-protection/bot-detection', doc: 'attack_protection.bot_detection',
  // Without response settings Auth0 only monitors: no challenge is ever shown.
  defaults: {
    bot_detection_level: 'medium', challenge_password_policy: 'never', challenge_passwordless_policy: 'never',
    challenge_password_reset_policy: 'never', allowlist: [], monitoring_mode_enabled: false,
  },
};

export const CAPTCHA: Singleton = {
  path: '/attack-protection/captcha', doc: 'attack_protection.captcha',
  defaults: { active_provider_id: 'auth_challenge', simple_captcha: {}, auth_challenge: { fail_open: false } },
  secrets: ['secret', 'api_key'],
  // Third-party providers need their keys stored before they can be the active one.
  check: (doc) => {
    const id = doc.active_provider_id;
    if (id && id !== 'auth_challenge' && id !== 'simple_captcha' && !doc[id]?.site_key) {
      throw badRequest(`The ${id} provider must be configured before it can be the active provider.`);
    }
  },
};

export const attackProtectionRoutes: Route[] = [BRUTE_FORCE, SUSPICIOUS_IP_THROTTLING, BREACHED_PASSWORD_DETECTION, BOT_DETECTION, CAPTCHA].flatMap(singleton);
