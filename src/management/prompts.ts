import type { Route } from './router.ts';
import { singleton } from './singleton.ts';

// Universal Login prompt settings, and the per-prompt custom text and partials.
// The router has already refused prompt and language names outside the spec's enums.

export const promptRoutes: Route[] = [
  ...singleton({
    path: '/prompts', doc: 'prompts.settings',
    defaults: { universal_login_experience: 'new', identifier_first: false, webauthn_platform_first_factor: false },
  }),
  ...singleton({ path: '/prompts/{prompt}/custom-text/{language}', doc: (p) => `prompts.custom_text.${p.prompt}.${p.language}`, defaults: {} }),
  ...singleton({ path: '/prompts/{prompt}/partials', doc: (p) => `prompts.partials.${p.prompt}`, defaults: {} }),
];
