import type { Route } from './router.ts';
import { singleton } from './singleton.ts';

// How Auth0 backs off from a failing phone provider (attack protection).
// Stored and answered; Postern sends no SMS or voice message to back off from.
export const phoneProviderProtectionRoutes: Route[] = singleton({
  path: '/attack-protection/phone-provider-protection', doc: 'attack_protection.phone_provider', defaults: { type: 'none' },
});
