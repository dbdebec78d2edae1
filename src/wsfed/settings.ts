import type { Env } from '../tenant/env.ts';
import type { CachedClient } from '../oidc/clients.ts';
import { overriddenSettings, type SamlOverrides } from '../samlp/action-overrides.ts';
import { samlpSettings, type SamlpSettings } from '../samlp/settings.ts';

// The WS-Fed Web App addon has no token settings at Auth0 (`addons.wsfed` only
// marks it on; its callback and realm are the application's callbacks and
// client_aliases): the token takes the SAML defaults, which post-login actions
// change through api.samlResponse as Auth0's rules do through
// context.samlConfiguration. The token is a SAML 1.1 assertion, as Auth0's;
// `samlVersion: '2.0'` on the addon (Postern's own) makes it SAML 2.0.

export type SamlVersion = '1.1' | '2.0';

export interface WsfedSettings { saml: SamlpSettings; samlVersion: SamlVersion }

export function wsfedAddon(client: CachedClient): Record<string, any> {
  const addon = client.data.addons?.wsfed;
  return addon && typeof addon === 'object' && !Array.isArray(addon) ? addon : {};
}

export function wsfedSettings(env: Env, client: CachedClient, o?: SamlOverrides): WsfedSettings {
  const addon = wsfedAddon(client);
  return { saml: overriddenSettings(env, {}, o), samlVersion: addon.samlVersion === '2.0' ? '2.0' : '1.1' };
}

/** The tokens' issuer, which metadata names as the entity: `urn:{domain}`, as the SAML addon's. */
export const tokenIssuer = (env: Env) => samlpSettings(env, {}).issuer;
