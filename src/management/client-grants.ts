import { ids } from '../lib/ids.ts';
import { badRequest, conflict, notFound, UniqueViolation } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';
import { listResponse } from './pagination.ts';
import { reply, route, type Route } from './router.ts';
import { patchDoc } from './patch-doc.ts';

// The organizations a grant is associated with are kept on it but served by organization-client-grants.ts.
const json = (doc: { id: string; data: any }) => { const { organizations: _, ...data } = doc.data; return { id: doc.id, ...data }; };

async function checkScopes(env: Env, audience: string, scope: string[]) {
  const rs = await env.store.resourceServers.findBy('identifier', audience);
  if (!rs) throw notFound(`No resource server found for audience ${audience}`);
  const known = new Set((rs.data.scopes ?? []).map((s: any) => s.value));
  const unknown = scope.filter((s) => !known.has(s));
  if (unknown.length) throw badRequest(`Client grant scopes are not defined on the resource server: ${unknown.join(', ')}`, 'invalid_scope');
}

export async function createClientGrant(env: Env, body: { client_id: string; audience: string; scope: string[]; [k: string]: unknown }) {
  if (!(await env.store.clients.get(body.client_id))) throw notFound('Client not found');
  await checkScopes(env, body.audience, body.scope ?? []);
  const data = { subject_type: 'client', ...body, scope: body.scope ?? [] };
  const id = ids.clientGrant();
  try {
    await env.store.clientGrants.insert(id, data, { client_id: data.client_id, audience: data.audience });
  } catch (e) {
    if (e instanceof UniqueViolation) throw conflict('A client grant for this client and audience already exists', 'already_exists');
    throw e;
  }
  env.invalidate('clients');
  return json({ id, data });
}

export async function loadClientGrant(env: Env, id: string) {
  const doc = await env.store.clientGrants.get(id);
  if (!doc) throw notFound('The client grant does not exist');
  return doc;
}

export const clientGrantRoutes: Route[] = [
  route('GET', '/client-grants', async ({ env, query }) => listResponse(query, {
    async page(page, withTotal) {
      const r = await env.store.clientGrants.list({ audience: query.audience, client_id: query.client_id }, page, { total: withTotal });
      return { items: r.items.map(json), total: r.total };
    },
  }, { key: 'client_grants' })),
  route('POST', '/client-grants', async ({ env, body }) => reply(201, await createClientGrant(env, body))),
  route('GET', '/client-grants/{id}', async ({ env, params }) => json(await loadClientGrant(env, params.id))),
  route('PATCH', '/client-grants/{id}', async ({ env, params, body }) => {
    const doc = await loadClientGrant(env, params.id);
    if (body.scope) await checkScopes(env, doc.data.audience, body.scope);
    const saved = await patchDoc(env.store.clientGrants, doc.id, () => loadClientGrant(env, doc.id), (cur) => ({ data: { ...cur.data, ...body } }));
    env.invalidate('clients');
    return json(saved);
  }),
  route('DELETE', '/client-grants/{id}', async ({ env, params }) => {
    await loadClientGrant(env, params.id);
    await env.store.clientGrants.delete(params.id);
    env.invalidate('clients');
  }),
];
