import { notFound } from '../lib/errors.ts';
import { inMemory } from './doc-helpers.ts';
import { documentResource, loadDocument, type DocumentResource, type StoredDoc } from './document-resource.ts';
import { listResponse } from './pagination.ts';
import { route, type Route } from './router.ts';

// Flows are stored as Auth0 takes them so that audits see them; Postern never
// runs one, so a flow has no executions, and the `hydrate` options (form_count,
// forms) are accepted and ignored. The vault's connections have their own file
// (flows-vault-connections.ts).

const flows: DocumentResource = {
  repo: (env) => env.store.flows,
  path: '/flows',
  idPrefix: 'af_',
  key: 'flows',
  missing: () => notFound('The flow does not exist.', 'inexistent_flow'),
  show: ({ id, data, created_at, updated_at }: StoredDoc) => ({ id, ...data, created_at, updated_at }),
  // Auth0 lists a summary of each flow.
  summary: ({ id, data, created_at, updated_at }) => ({ id, name: data.name, created_at, updated_at }),
};
const noExecution = () => notFound('The flow execution does not exist.', 'inexistent_flow_execution');
const nothing = inMemory<never>(async () => []);

export const flowRoutes: Route[] = [
  ...documentResource(flows),
  route('GET', '/flows/{flow_id}/executions', async ({ env, params, query }) => {
    await loadDocument(flows, env, params.flow_id);
    return listResponse(query, nothing, { key: 'executions' });
  }),
  route('GET', '/flows/{flow_id}/executions/{execution_id}', async ({ env, params }) => {
    await loadDocument(flows, env, params.flow_id);
    throw noExecution();
  }),
  route('DELETE', '/flows/{flow_id}/executions/{execution_id}', async ({ env, params }) => {
    await loadDocument(flows, env, params.flow_id);
    throw noExecution();
  }),
];
