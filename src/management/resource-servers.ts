import { ids } from '../lib/ids.ts';
import { ApiError, badRequest, conflict, notFound, UniqueViolation } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';
import { listResponse } from './pagination.ts';
import { projector } from './fields.ts';
import { reply, route, type Route } from './router.ts';
import { patchDoc } from './patch-doc.ts';

const json = (doc: { id: string; data: any }) => ({ id: doc.id, ...doc.data });

export async function createResourceServer(env: Env, body: any, opts: { isSystem?: boolean } = {}) {
  const data = {
    name: body.name ?? body.identifier,
    identifier: body.identifier,
    allow_offline_access: false,
    skip_consent_for_verifiable_first_party_clients: true,
    token_lifetime: 86400,
    token_lifetime_for_web: 7200,
    signing_alg: 'RS256',
    scopes: [],
    enforce_policies: false,
    token_dialect: 'access_token',
    ...body,
    ...(opts.isSystem ? { is_system: true } : {}),
  };
  if (data.signing_alg === 'HS256' && !data.signing_secret) data.signing_secret = ids.clientSecret();
  const id = ids.resourceServer();
  try {
    await env.store.resourceServers.insert(id, data, { identifier: data.identifier });
  } catch (e) {
    if (e instanceof UniqueViolation) throw conflict('A resource server with the same identifier already exists', 'operation_not_supported');
    throw e;
  }
  env.invalidate('resource_servers');
  return json({ id, data });
}

/** Auth0 lets the id path segment be either the id or the identifier. */
export async function findResourceServer(env: Env, idOrIdentifier: string) {
  return (await env.store.resourceServers.get(idOrIdentifier)) ?? (await env.store.resourceServers.findBy('identifier', idOrIdentifier));
}
async function load(env: Env, id: string) {
  const doc = await findResourceServer(env, id);
  if (!doc) throw notFound('Resource server not found');
  return doc;
}

export const resourceServerRoutes: Route[] = [
  route('GET', '/resource-servers', async ({ env, query }) => {
    const wanted = query.identifiers === undefined ? undefined : new Set([query.identifiers].flat().map(String));
    return listResponse(query, {
      async page(page, withTotal) {
        const all = (await env.store.resourceServers.list()).items.filter((d) => !wanted || wanted.has(d.data.identifier));
        return { items: all.slice(page.offset, page.offset + page.limit).map(json), total: withTotal ? all.length : undefined };
      },
    }, { key: 'resource_servers', project: projector(query) });
  }),
  route('POST', '/resource-servers', async ({ env, body }) => {
    if (!body.identifier) throw badRequest("Payload validation error: 'Missing required property: identifier'.");
    return reply(201, await createResourceServer(env, body));
  }),
  route('GET', '/resource-servers/{id}', async ({ env, params, query }) => projector(query)(json(await load(env, params.id)))),
  route('PATCH', '/resource-servers/{id}', async ({ env, params, body }) => {
    const doc = await load(env, params.id);
    if (doc.data.is_system) throw new ApiError(403, 'You cannot update a system resource server', 'operation_not_supported');
    if ('identifier' in body && body.identifier !== doc.data.identifier) throw badRequest("Payload validation error: 'Additional properties not allowed: identifier'.");
    const saved = await patchDoc(env.store.resourceServers, doc.id, () => load(env, doc.id), (cur) => ({ data: { ...cur.data, ...body } }));
    env.invalidate('resource_servers');
    return json(saved);
  }),
  route('DELETE', '/resource-servers/{id}', async ({ env, params }) => {
    const doc = await load(env, params.id);
    if (doc.data.is_system) throw new ApiError(400, 'You cannot delete a system resource server', 'operation_not_supported');
    await env.store.deleteResourceServer(doc.id, doc.data.identifier);
    env.invalidate('resource_servers');
    env.invalidate('clients'); // their cached grants named this API
  }),
];
