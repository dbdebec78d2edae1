import { ids } from '../lib/ids.ts';
import { badRequest, conflict, notFound, UniqueViolation } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';
import { listResponse } from './pagination.ts';
import { projector } from './fields.ts';
import { reply, route, type Route } from './router.ts';
import { patchDoc } from './patch-doc.ts';
import { enterpriseOptions } from '../connections/enterprise-options.ts';
import { ENTERPRISE_STRATEGIES } from '../tenant/federated-users.ts';
import { PASSWORDLESS_STRATEGIES, passwordlessDefaults } from '../connections/passwordless.ts';

// Connection secrets (client secrets of upstream IdPs, an SMS connection's
// Twilio token and gateway secret) are sealed inside the document.
const SECRET_OPTIONS = ['client_secret', 'signing_secret', 'app_secret', 'twilio_token'];

/** Applies `change` to each secret option that is a string (the gateway's secret sits one level down). */
function eachSecret(options: any = {}, change: (v: string) => string) {
  const out = { ...options };
  for (const k of SECRET_OPTIONS) if (typeof out[k] === 'string') out[k] = change(out[k]);
  const gw = out.gateway_authentication;
  if (gw && typeof gw === 'object' && typeof gw.secret === 'string') out.gateway_authentication = { ...gw, secret: change(gw.secret) };
  return out;
}
const sealOptions = (env: Env, options: any = {}) => eachSecret(options, (v) => (v.startsWith('enc:') ? v : env.box.seal(v)));
export const openOptions = (env: Env, options: any = {}) => eachSecret(options, (v) => (v.startsWith('enc:') ? env.box.open(v) : v));
export const connectionJson = (env: Env, doc: { id: string; data: any }) => ({ id: doc.id, ...doc.data, options: openOptions(env, doc.data.options) });

const DB_DEFAULT_OPTIONS = {
  mfa: { active: true, return_enroll_settings: true },
  passwordPolicy: 'good',
  password_complexity_options: { min_length: 8 },
  strategy_version: 2,
  brute_force_protection: true,
};

/** The options as saved: database defaults, or an enterprise connection's validated and discovered settings. */
async function savedOptions(env: Env, strategy: string, options: any) {
  if (strategy === 'auth0') return sealOptions(env, { ...DB_DEFAULT_OPTIONS, ...options });
  if (ENTERPRISE_STRATEGIES.has(strategy)) return sealOptions(env, await enterpriseOptions(strategy, options));
  if (PASSWORDLESS_STRATEGIES.has(strategy)) return sealOptions(env, passwordlessDefaults(strategy, options));
  return sealOptions(env, options ?? {});
}

export async function createConnection(env: Env, body: any) {
  const data = {
    name: body.name,
    strategy: body.strategy,
    display_name: body.display_name,
    is_domain_connection: false,
    realms: body.realms ?? [body.name],
    enabled_clients: body.enabled_clients ?? [],
    metadata: body.metadata ?? {},
    ...body,
    options: await savedOptions(env, body.strategy, body.options),
  };
  if (data.display_name === undefined) delete data.display_name;
  const id = ids.connection();
  try {
    await env.store.connections.insert(id, data, { name: data.name, strategy: data.strategy });
  } catch (e) {
    if (e instanceof UniqueViolation) throw conflict('A connection with the same name already exists', 'connection_conflict');
    throw e;
  }
  return connectionJson(env, { id, data });
}

export async function loadConnection(env: Env, id: string) {
  const doc = await env.store.connections.get(id);
  if (!doc) throw notFound('The connection does not exist', 'inexistent_connection');
  return doc;
}

export const connectionRoutes: Route[] = [
  route('GET', '/connections', async ({ env, query }) => {
    const strategies = query.strategy === undefined ? undefined : new Set([query.strategy].flat().flatMap((s: string) => String(s).split(',')));
    return listResponse(query, {
      async page(page, withTotal) {
        const all = (await env.store.connections.list({ name: query.name })).items.filter((d) => !strategies || strategies.has(d.data.strategy));
        return { items: all.slice(page.offset, page.offset + page.limit).map((d) => connectionJson(env, d)), total: withTotal ? all.length : undefined };
      },
    }, { key: 'connections', project: projector(query) });
  }),
  route('POST', '/connections', async ({ env, body }) => reply(201, await createConnection(env, body))),
  route('GET', '/connections/{id}', async ({ env, params, query }) => projector(query)(connectionJson(env, await loadConnection(env, params.id)))),
  route('PATCH', '/connections/{id}', async ({ env, params, body }) => {
    const doc = await loadConnection(env, params.id);
    // Options are replaced as a whole, as in Auth0 (SDKs send all of them).
    const options = !body.options ? undefined
      : ENTERPRISE_STRATEGIES.has(doc.data.strategy) ? await savedOptions(env, doc.data.strategy, body.options) : sealOptions(env, body.options);
    const saved = await patchDoc(env.store.connections, doc.id, () => loadConnection(env, doc.id), (cur) => ({ data: { ...cur.data, ...body, ...(options ? { options } : {}) } }));
    env.invalidate('clients');
    return connectionJson(env, saved);
  }),
  route('DELETE', '/connections/{id}', async ({ env, params }) => {
    const doc = await loadConnection(env, params.id);
    await env.store.deleteConnection(doc.id, doc.data.name);
    env.invalidate('clients');
    return reply(202);
  }),
  route('GET', '/connections/{id}/clients', async ({ env, params, query }) => {
    const doc = await loadConnection(env, params.id);
    const all: string[] = doc.data.enabled_clients ?? [];
    return listResponse({ take: 50, ...query }, {
      async page(page) { return { items: all.slice(page.offset, page.offset + page.limit).map((client_id) => ({ client_id })) }; },
    }, { key: 'clients' });
  }),
  route('PATCH', '/connections/{id}/clients', async ({ env, params, body }) => {
    const doc = await loadConnection(env, params.id);
    if (!Array.isArray(body)) throw badRequest('Payload validation error: expected an array of {client_id, status}.');
    for (const { client_id, status } of body) {
      if (status && !(await env.store.clients.get(client_id))) throw notFound(`Client ${client_id} not found`);
    }
    await patchDoc(env.store.connections, doc.id, () => loadConnection(env, doc.id), (cur) => {
      const enabled = new Set<string>(cur.data.enabled_clients ?? []);
      for (const { client_id, status } of body) if (status) enabled.add(client_id); else enabled.delete(client_id);
      return { data: { ...cur.data, enabled_clients: [...enabled] } };
    });
    env.invalidate('clients');
  }),
];
