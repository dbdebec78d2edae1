import type { Env } from '../tenant/env.ts';

// The tenant's email provider, as the Management API's /emails/provider
// configures it. The credentials are sealed as one value; only the fields
// Auth0 shows back (never a password or key) are kept in the clear.

const DOC = 'email_provider';
const PUBLIC_CREDENTIALS = ['api_user', 'region', 'smtp_host', 'smtp_port', 'smtp_user'] as const;

interface Stored {
  name: string; enabled: boolean; default_from_address?: string; settings?: Record<string, unknown>;
  credentials_public: Record<string, unknown>; credentials_sealed: string;
}
export interface EmailProvider {
  name: string; enabled: boolean; default_from_address?: string; settings?: Record<string, unknown>;
  credentials: Record<string, any>;
}

const publicPart = (credentials: Record<string, unknown>) =>
  Object.fromEntries(PUBLIC_CREDENTIALS.filter((k) => credentials[k] !== undefined).map((k) => [k, credentials[k]]));

/** The provider as Auth0 returns it: no secrets. */
export function providerJson(p: Stored) {
  return {
    name: p.name, enabled: p.enabled,
    ...(p.default_from_address !== undefined ? { default_from_address: p.default_from_address } : {}),
    credentials: p.credentials_public,
    ...(p.settings ? { settings: p.settings } : {}),
  };
}

export const loadStoredProvider = (env: Env) => env.store.getTenantDoc<Stored>(DOC);

/** The provider with its credentials opened, for sending. */
export async function loadEmailProvider(env: Env): Promise<EmailProvider | undefined> {
  const p = await loadStoredProvider(env);
  if (!p) return undefined;
  return { name: p.name, enabled: p.enabled, default_from_address: p.default_from_address, settings: p.settings, credentials: JSON.parse(env.box.open(p.credentials_sealed)) };
}

export async function saveEmailProvider(env: Env, p: EmailProvider): Promise<Stored> {
  const stored: Stored = {
    name: p.name, enabled: p.enabled, default_from_address: p.default_from_address, settings: p.settings,
    credentials_public: publicPart(p.credentials), credentials_sealed: env.box.seal(JSON.stringify(p.credentials)),
  };
  if (stored.default_from_address === undefined) delete stored.default_from_address;
  if (stored.settings === undefined) delete stored.settings;
  await env.store.putTenantDoc(DOC, stored);
  return stored;
}

export const deleteEmailProvider = (env: Env) => env.store.deleteTenantDoc(DOC);
