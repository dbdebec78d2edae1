import { notFound } from '../lib/errors.ts';
import { reply, route, type Route } from './router.ts';
import { deploy, loadAction, paged, versionJson } from './actions.ts';

// An action's versions: frozen copies made by each deploy, newest first. A
// rollback deploys a new version copied from an older one.

const missing = () => notFound('That action version does not exist.', 'inexistent_action_version');
const find = (data: any, id: string) => data.versions.find((v: any) => v.id === id) ?? (() => { throw missing(); })();

export const actionVersionRoutes: Route[] = [
  route('GET', '/actions/actions/{actionId}/versions', async ({ env, params, query }) => {
    const doc = await loadAction(env, params.actionId);
    return paged(query, 'versions', async () => [...doc.data.versions].sort((a: any, b: any) => b.number - a.number).map((v) => versionJson(doc, v)));
  }),
  route('GET', '/actions/actions/{actionId}/versions/{id}', async ({ env, params }) => {
    const doc = await loadAction(env, params.actionId);
    return versionJson(doc, find(doc.data, params.id));
  }),
  route('POST', '/actions/actions/{actionId}/versions/{id}/deploy', async ({ env, params, body }) =>
    reply(202, await deploy(env, params.actionId, (d) => find(d, params.id), body?.update_draft === true))),
];
