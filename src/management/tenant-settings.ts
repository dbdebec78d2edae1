import type { Env } from '../tenant/env.ts';
import { projector } from './fields.ts';
import { route, type Route } from './router.ts';
import { badRequest } from '../lib/errors.ts';
import { maskProblem } from '../oidc/device-flow.ts';

export const DEFAULT_SETTINGS = {
  friendly_name: 'Postern',
  picture_url: '',
  support_email: '',
  support_url: '',
  allowed_logout_urls: [] as string[],
  session_lifetime: 168,
  idle_session_lifetime: 72,
  default_audience: '',
  default_directory: '',
  enabled_locales: ['en'],
  sandbox_version: '22',
  session_cookie: { mode: 'persistent' },
  flags: { enable_client_connections: true, revoke_refresh_token_grant: false, disable_clickjack_protection_headers: false },
};

/** Stored settings over Auth0's defaults. */
const withDefaults = (stored: object | undefined) => ({ ...DEFAULT_SETTINGS, ...stored });

export async function tenantSettings(env: Env) {
  return withDefaults((await env.store.getTenant())?.settingsObj);
}

// Nested objects PATCH as a merge, everything else is replaced.
const MERGED = ['flags', 'session_cookie', 'universal_login', 'error_page', 'device_flow', 'guardian_mfa_page', 'change_password', 'mtls', 'sessions'];

export const tenantRoutes: Route[] = [
  route('GET', '/tenants/settings', async ({ env, query }) => projector(query)(await tenantSettings(env))),
  route('PATCH', '/tenants/settings', async ({ env, body }) => {
    const mask = (body.device_flow as { mask?: unknown } | null | undefined)?.mask;
    if (mask !== undefined && maskProblem(mask)) throw badRequest(maskProblem(mask)!);
    const next = await env.store.modifyTenantSettings((stored) => {
      const current: any = withDefaults(stored);
      const out: any = { ...current };
      for (const [k, v] of Object.entries(body)) out[k] = MERGED.includes(k) && v && typeof v === 'object' ? { ...current[k], ...v } : v;
      return out;
    });
    env.invalidate('all');
    return next;
  }),
];
