import { ids } from '../lib/ids.ts';
import { badRequest, notFound } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';
import { listResponse } from './pagination.ts';
import { projector } from './fields.ts';
import { reply, route, type Route } from './router.ts';
import { patchDoc } from './patch-doc.ts';
import { checkAuthMethods, credentialsOnCreate, shownClientData } from './client-auth-methods.ts';
import { forgetClientOrganizations } from './organization-clients.ts';
import { unlinkClientAgents } from './agents.ts';

const GRANTS_BY_APP_TYPE: Record<string, string[]> = {
  non_interactive: ['client_credentials'],
  spa: ['authorization_code', 'implicit', 'refresh_token'],
  native: ['authorization_code', 'implicit', 'refresh_token'],
  regular_web: ['authorization_code', 'implicit', 'refresh_token', 'client_credentials'],
};
const DEFAULT_GRANTS = ['authorization_code', 'implicit', 'refresh_token', 'client_credentials'];

/** Auth0's defaults for a new application. */
function withDefaults(body: any, tenantName: string) {
  const appType = body.app_type;
  return {
    tenant: tenantName,
    global: false,
    is_token_endpoint_ip_header_trusted: false,
    is_first_party: true,
    oidc_conformant: true,
    sso_disabled: false,
    cross_origin_auth: false,
    custom_login_page_on: true,
    callbacks: [], allowed_logout_urls: [], web_origins: [], allowed_origins: [], allowed_clients: [],
    callback_url_template: false,
    organization_usage: 'deny',
    organization_require_behavior: 'no_prompt',
    ...body,
    grant_types: body.grant_types ?? (appType ? GRANTS_BY_APP_TYPE[appType] ?? DEFAULT_GRANTS : DEFAULT_GRANTS),
    token_endpoint_auth_method: body.token_endpoint_auth_method ?? (appType === 'spa' || appType === 'native' ? 'none' : 'client_secret_post'),
    jwt_configuration: { alg: 'RS256', lifetime_in_seconds: 36000, secret_encoded: false, ...body.jwt_configuration },
    refresh_token: {
      expiration_type: 'non-expiring', leeway: 0, infinite_token_lifetime: true, infinite_idle_token_lifetime: true,
      token_lifetime: 31557600, idle_token_lifetime: 2592000, rotation_type: 'non-rotating', ...body.refresh_token,
    },
  };
}

export async function clientJson(env: Env, doc: { id: string; data: any; secret?: string | null }) {
  const { shown, secretShown } = shownClientData(doc.data);
  return {
    ...shown,
    client_id: doc.id,
    ...(doc.secret && secretShown ? { client_secret: env.box.open(doc.secret) } : {}),
    signing_keys: [{ cert: env.keys.current().row.cert, pkcs7: '', subject: `/CN=${env.config.domain.replace(/:\d+$/, '')}` }],
  };
}

/** `secret: null` makes an application without a secret (a CIMD application: Auth0 gives those no shared secret). */
export async function createClient(env: Env, body: any, opts: { clientId?: string; secret?: string | null } = {}) {
  const tenant = await env.store.getTenant();
  const data = withDefaults(body, tenant?.name ?? 'default');
  delete data.client_id; delete data.client_secret;
  // private_key_jwt with inline credentials: they become the client's own, and no secret method is defaulted.
  const auth = credentialsOnCreate(body);
  if (auth) { Object.assign(data, auth); delete data.token_endpoint_auth_method; }
  const id = opts.clientId ?? ids.client();
  const secret = opts.secret === null ? null : body.client_secret ?? opts.secret ?? ids.clientSecret();
  const sealed = secret === null ? null : env.box.seal(secret);
  await env.store.clients.insert(id, data, { name: data.name, secret: sealed });
  env.invalidate('clients');
  return clientJson(env, { id, data, secret: sealed });
}

export async function loadClient(env: Env, id: string) {
  const doc = await env.store.clients.get(id);
  if (!doc) throw notFound('The client does not exist');
  return doc;
}

const READ_ONLY = ['client_id', 'tenant', 'signing_keys', 'global'];

export const clientRoutes: Route[] = [
  route('GET', '/clients', async ({ env, query }) => {
    const filter: Record<string, unknown> = {};
    const project = projector(query);
    const apply = (items: any[]) => items.filter((d) => {
      if (query.app_type && !String(query.app_type).split(',').includes(d.data.app_type)) return false;
      if (query.is_global !== undefined && String(d.data.global) !== String(query.is_global)) return false;
      if (query.is_first_party !== undefined && String(d.data.is_first_party) !== String(query.is_first_party)) return false;
      if (query.q && !String(d.data.name).toLowerCase().includes(String(query.q).toLowerCase())) return false;
      if (query.external_client_id !== undefined && d.data.external_client_id !== String(query.external_client_id)) return false;
      return true;
    });
    return listResponse(query, {
      async page(page, withTotal) {
        // Client lists are small; filter in memory so every Auth0 filter composes.
        const all = apply((await env.store.clients.list(filter)).items);
        const items = await Promise.all(all.slice(page.offset, page.offset + page.limit).map((d) => clientJson(env, d)));
        return { items, total: withTotal ? all.length : undefined };
      },
    }, { key: 'clients', project });
  }),
  route('POST', '/clients', async ({ env, body }) => reply(201, await createClient(env, body))),
  route('GET', '/clients/{id}', async ({ env, params, query }) => projector(query)(await clientJson(env, await loadClient(env, params.id)))),
  route('PATCH', '/clients/{id}', async ({ env, params, body }) => {
    const doc = await loadClient(env, params.id);
    for (const k of READ_ONLY) if (k in body) throw badRequest(`Payload validation error: 'Additional properties not allowed: ${k}'.`);
    // The secret column is written only when the body sets it, so a concurrent rotate-secret is kept.
    const secret = typeof body.client_secret === 'string' ? { secret: env.box.seal(body.client_secret) } : {};
    const saved = await patchDoc(env.store.clients, doc.id, () => loadClient(env, doc.id), (cur) => {
      const data = { ...cur.data };
      for (const [k, v] of Object.entries(body)) {
        if (k === 'client_secret') continue;
        if ((k === 'jwt_configuration' || k === 'refresh_token') && v && typeof v === 'object') data[k] = { ...data[k], ...v };
        else data[k] = v;
      }
      checkAuthMethods(data, body);
      return { data, columns: { name: data.name, ...secret } };
    });
    env.invalidate('clients');
    return clientJson(env, saved);
  }),
  route('DELETE', '/clients/{id}', async ({ env, params }) => {
    if ((await loadClient(env, params.id)).data.global === true) throw badRequest('The global client cannot be deleted.', 'operation_not_supported');
    await env.store.deleteClient(params.id);
    env.invalidate('clients');
    await Promise.all([forgetClientOrganizations(env, params.id), unlinkClientAgents(env, params.id)]);
  }),
  route('POST', '/clients/{id}/rotate-secret', async ({ env, params }) => {
    const doc = await loadClient(env, params.id);
    const secret = env.box.seal(ids.clientSecret());
    const saved = await patchDoc(env.store.clients, doc.id, () => loadClient(env, doc.id), (cur) => ({ data: cur.data, columns: { secret } }));
    env.invalidate('clients');
    return clientJson(env, saved);
  }),
];
