import type { Env } from '../tenant/env.ts';
import { tenantSettings } from '../management/tenant-settings.ts';
import { BRANDING, universalLoginTemplate } from '../management/branding.ts';
import { renderPageTemplate } from './page-template.ts';
import { readSingleton } from '../management/singleton.ts';
import type { Branding } from './html.ts';

const HTML_COLOR = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;

/**
 * The /u/ page shell's name, logo and accent color: Universal Login branding
 * (`PATCH /branding`) over the tenant settings' picture, as Auth0 takes them.
 * `settings` spares a read where the caller has them cached.
 */
export async function branding(env: Env, settings?: { friendly_name?: string; picture_url?: string }): Promise<Branding> {
  const [s, b, template] = await Promise.all([settings ?? tenantSettings(env), readSingleton(env, BRANDING), universalLoginTemplate(env)]);
  const logo = b.logo_url || s.picture_url || undefined;
  // Only a plain color reaches the page's CSS, whatever was stored.
  const primary = HTML_COLOR.test(String(b.colors?.primary ?? '')) ? String(b.colors.primary) : undefined;
  const name = s.friendly_name || 'Postern';
  const vars = { tenant: { friendly_name: name }, branding: { logo_url: logo, colors: { primary } } };
  return {
    name, ...(logo ? { logo } : {}), ...(primary ? { primary } : {}),
    ...(template ? { frame: (ctx, parts) => renderPageTemplate(ctx, template, parts, vars) } : {}),
  };
}
