import type { Route } from './router.ts';
import { singleton } from './singleton.ts';

// Whether Auth0 takes Akamai's bot and risk headers as signals (early access).
// Stored and answered; Postern reads no Akamai header.
export const supplementalSignalRoutes: Route[] = singleton({
  path: '/supplemental-signals', doc: 'supplemental_signals', defaults: { akamai_enabled: false },
});
