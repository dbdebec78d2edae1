import type { Env } from '../tenant/env.ts';

// Universal Login's texts, which the tenant may replace per prompt, screen and
// language (PUT /api/v2/prompts/{prompt}/custom-text/{language}, a document
// keyed by screen). `${clientName}` and `${companyName}` are filled in as at
// Auth0. The texts are plain: the forms escape them like any value.

export type ScreenText = Record<string, string>;

const DEFAULTS: Record<string, Record<string, ScreenText>> = {
  login: {
    login: {
      title: 'Welcome', description: 'Log in to continue to ${clientName}.', emailPlaceholder: 'Email address',
      usernamePlaceholder: 'Username or email address', passwordPlaceholder: 'Password', buttonText: 'Continue',
      forgotPasswordText: 'Forgot password?', signupActionText: "Don't have an account?", signupActionLinkText: 'Sign up',
    },
  },
  'login-id': {
    'login-id': {
      title: 'Welcome', description: 'Log in to continue to ${clientName}.', emailPlaceholder: 'Email address', buttonText: 'Continue',
      signupActionText: "Don't have an account?", signupActionLinkText: 'Sign up',
    },
  },
  signup: {
    signup: {
      title: 'Create your account', description: 'Sign up to continue to ${clientName}.', emailPlaceholder: 'Email address',
      usernamePlaceholder: 'Username', passwordPlaceholder: 'Password', buttonText: 'Continue',
      loginActionText: 'Already have an account?', loginActionLinkText: 'Log in',
    },
  },
};

/** The texts of one screen: the tenant's custom text for its first enabled language over Postern's defaults. */
export async function screenText(env: Env, prompt: string, screen: string, vars: { clientName: string; companyName: string }): Promise<ScreenText> {
  const settings = (await env.store.getTenant())?.settingsObj as { enabled_locales?: string[] } | undefined;
  const language = settings?.enabled_locales?.[0] ?? 'en';
  const custom = (await env.store.getTenantDoc<Record<string, unknown>>(`prompts.custom_text.${prompt}.${language}`))?.[screen];
  const texts: ScreenText = { ...DEFAULTS[prompt]?.[screen] };
  if (custom && typeof custom === 'object') {
    for (const [k, v] of Object.entries(custom)) if (typeof v === 'string' && v) texts[k] = v;
  }
  const fill = (s: string) => s.replace(/\$\{(clientName|companyName)\}/g, (_, name: 'clientName' | 'companyName') => vars[name]);
  return Object.fromEntries(Object.entries(texts).map(([k, v]) => [k, fill(v)]));
}
