import { loadModule, loadVersion, publish } from './action-module-docs.ts';
import { versionJson } from './action-modules.ts';
import { paged } from './actions.ts';
import { reply, route, type Route } from './router.ts';

// An actions module's published versions: frozen copies of its draft, numbered
// from 1, newest first. Publishing keeps the draft as it is.

export const actionModuleVersionRoutes: Route[] = [
  route('GET', '/actions/modules/{id}/versions', async ({ env, params, query }) => {
    const m = await loadModule(env, params.id);
    // Only the page's versions are read in full.
    return paged(query, 'versions', async () => [...m.versions].sort((a, b) => b.number - a.number),
      async (metas) => (await Promise.all(metas.map((v) => loadVersion(env, m, v.id)))).map(versionJson));
  }),
  route('POST', '/actions/modules/{id}/versions', async ({ env, params }) => reply(201, versionJson((await publish(env, params.id)).version))),
  route('GET', '/actions/modules/{id}/versions/{versionId}', async ({ env, params }) =>
    versionJson(await loadVersion(env, await loadModule(env, params.id), params.versionId))),
];
