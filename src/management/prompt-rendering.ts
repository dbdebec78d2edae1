import type { Env } from '../tenant/env.ts';
import { inMemory } from './doc-helpers.ts';
import { projector } from './fields.ts';
import { listResponse } from './pagination.ts';
import { route, type Route } from './router.ts';
import { patchSingleton, readSingleton, withDefaults, type Singleton } from './singleton.ts';

// Rendering settings of Universal Login screens (Advanced Customizations):
// one tenant document per prompt and screen. A screen never configured reads
// as Auth0's defaults, and the list holds the screens that were configured.
// The router has refused prompt and screen names outside the spec's enums.

const PREFIX = 'prompts.rendering.';
type Settings = Record<string, any>;
const screenSettings: Singleton<Settings> = {
  path: '/prompts/{prompt}/screen/{screen}/rendering',
  doc: (p) => `${PREFIX}${p.prompt}.${p.screen}`,
  defaults: { rendering_mode: 'standard', context_configuration: [], default_head_tags_disabled: false, use_page_template: false, head_tags: [] },
};

const tenantName = async (env: Env) => (await env.store.getTenant())?.name ?? env.store.tenantId;

/** Every configured screen, as GET of each would answer it. Names hold no dots, so the document's name splits back. */
async function configuredScreens(env: Env) {
  const tenant = await tenantName(env);
  const docs = await env.store.listTenantDocs<Settings>(PREFIX);
  return docs.map(({ name, data }) => {
    const [prompt, screen] = name.slice(PREFIX.length).split('.');
    return { tenant, prompt, screen, ...withDefaults(data, screenSettings.defaults) };
  });
}

export const promptRenderingRoutes: Route[] = [
  route('GET', '/prompts/rendering', async ({ env, query }) => {
    const matches = (c: Settings) => (['prompt', 'screen', 'rendering_mode'] as const)
      .every((k) => query[k] === undefined || query[k] === '' || c[k] === query[k]);
    const list = await listResponse(query, inMemory(async () => (await configuredScreens(env)).filter(matches)), { key: 'configs', project: projector(query) });
    if (Array.isArray(list)) return list;
    // Auth0's paged answer for this list has no `length`.
    const { length: _length, ...paged } = list;
    return paged;
  }),
  route('PATCH', '/prompts/rendering', async ({ env, body }) => {
    const configs: Settings[] = [];
    // One screen after the other, so a screen named twice gets both changes in order.
    for (const { prompt, screen, ...settings } of body.configs as Settings[]) {
      configs.push({ prompt, screen, ...await patchSingleton(env, screenSettings, { prompt, screen }, settings) });
    }
    return { configs };
  }),
  route('GET', screenSettings.path, async ({ env, params }) => ({
    tenant: await tenantName(env), prompt: params.prompt, screen: params.screen, ...await readSingleton(env, screenSettings, params),
  })),
  route('PATCH', screenSettings.path, async ({ env, params, body }) => patchSingleton(env, screenSettings, params, body)),
];
