import type { Env } from '../tenant/env.ts';
import { tenantSettings } from '../management/tenant-settings.ts';
import type { Branding } from './html.ts';

/** The tenant's name and logo for the /u/ page shell. */
export async function branding(env: Env): Promise<Branding> {
  const s = await tenantSettings(env);
  return { name: s.friendly_name || 'Postern', ...(s.picture_url ? { logo: s.picture_url } : {}) };
}
