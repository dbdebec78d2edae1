import type { Route } from './router.ts';
import { singleton } from './singleton.ts';

// Risk assessment settings, with the values a new tenant starts with. Stored
// and answered; Postern assesses no login's risk and remembers no device.
export const riskAssessmentRoutes: Route[] = [
  ...singleton({ path: '/risk-assessments/settings', doc: 'risk_assessments.settings', defaults: { enabled: false } }),
  ...singleton({ path: '/risk-assessments/settings/new-device', doc: 'risk_assessments.new_device', defaults: { remember_for: 30 } }),
];
