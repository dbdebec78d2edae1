import type { Env } from '../tenant/env.ts';
import { tenantSettings } from '../management/tenant-settings.ts';
import { BRANDING } from '../management/branding.ts';
import { readSingleton } from '../management/singleton.ts';
import type { Branding } from './html.ts';

const HTML_COLOR = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;

/**
 * The /u/ page shell's name, logo and accent color: Universal Login branding
 * (`PATCH /branding`) over the tenant settings' picture, as Auth0 takes them.
 * `settings` spares a read where the caller has them cached.
 */
export async function branding(env: Env, settings?: { friendly_name?: string; picture_url?: string }): Promise<Branding> {
  const [s, b] = await Promise.all([settings ?? tenantSettings(env), readSingleton(env, BRANDING)]);
  const logo = b.logo_url || s.picture_url || undefined;
  // Only a plain color reaches the page's CSS, whatever was stored.
  const primary = HTML_COLOR.test(String(b.colors?.primary ?? '')) ? String(b.colors.primary) : undefined;
  return { name: s.friendly_name || 'Postern', ...(logo ? { logo } : {}), ...(primary ? { primary } : {}) };
}
