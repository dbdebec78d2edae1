import { conflict, notFound } from '../lib/errors.ts';
import { hex } from '../lib/ids.ts';
import { route, type Route } from './router.ts';

// The Universal Login theme (the no-code editor's borders, colors, fonts, page
// background and widget). Auth0 keeps at most one per tenant, and that one is
// the default; it lives in one tenant document. The router has checked every
// body against the spec's theme schema.

const THEME_DOC = 'branding.theme';
interface Theme { themeId: string; displayName: string; [section: string]: unknown }

const missing = () => notFound('The theme does not exist.');
// The message Auth0 answers a second theme with.
const exists = () => conflict('There was an error creating branding settings: theme already exists');

/** The stored theme when it is `themeId`. */
async function loadTheme(getDoc: () => Promise<Theme | undefined>, themeId: string): Promise<Theme> {
  const theme = await getDoc();
  if (!theme || theme.themeId !== themeId) throw missing();
  return theme;
}

export const brandingThemeRoutes: Route[] = [
  // Auth0 answers a created theme with 200, not 201.
  route('POST', '/branding/themes', async ({ env, body }) => env.store.modifyTenantDoc<Theme>(THEME_DOC, (stored) => {
    if (stored) throw exists();
    return { ...body, displayName: body.displayName ?? '', themeId: hex(16) };
  })),
  route('GET', '/branding/themes/default', async ({ env }) => {
    const theme = await env.store.getTenantDoc<Theme>(THEME_DOC);
    if (!theme) throw notFound('There is no default theme.');
    return theme;
  }),
  route('GET', '/branding/themes/{themeId}', async ({ env, params }) =>
    loadTheme(() => env.store.getTenantDoc<Theme>(THEME_DOC), params.themeId)),
  // The spec requires every section in a PATCH, so it replaces them; displayName stays unless sent.
  route('PATCH', '/branding/themes/{themeId}', async ({ env, params, body }) => env.store.modifyTenantDoc<Theme>(THEME_DOC, async (stored) => {
    const theme = await loadTheme(async () => stored, params.themeId);
    return { ...theme, ...body, themeId: theme.themeId };
  })),
  route('DELETE', '/branding/themes/{themeId}', async ({ env, params }) => {
    await loadTheme(() => env.store.getTenantDoc<Theme>(THEME_DOC), params.themeId);
    await env.store.deleteTenantDoc(THEME_DOC);
  }),
];
