import { badRequest, conflict, UniqueViolation } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';
import { cimdClientId } from '../tenant/cimd-client-id.ts';
import { credentialsOf, rsaThumbprint, type StoredCredential } from '../tenant/client-credentials.ts';
import { readPem } from '../tenant/public-key-pem.ts';
import { checkDocument, fetchDocument, urlProblem, type CheckedDocument } from './cimd-document.ts';
import { FetchFailure } from './cimd-fetch.ts';
import { createClient, loadClient } from './clients.ts';
import { withCredentials } from './client-credential-input.ts';
import { patchDoc } from './patch-doc.ts';
import { insufficientScope, reply, route, type OpContext, type Route } from './router.ts';

// Applications registered from a Client ID Metadata Document (CIMD), as in
// Auth0: preview fetches and checks the document at external_client_id;
// register creates the application (201) or, when that URL already has one,
// brings it in line with the document (200). Auth0 registers CIMD clients only
// as strict third-party applications without a shared secret.

const invalidMetadata = (message: string) => badRequest(message, 'invalid_client_metadata');

/** The application registered from `url`, if any. */
async function registered(env: Env, url: string) {
  const doc = await env.store.clients.get(cimdClientId(url));
  if (doc && doc.data.external_client_id !== url) throw conflict('Another application holds this client_id.');
  return doc;
}

/** external_client_id, once it passes Auth0's URL rules. */
function documentUrl(env: Env, body: any): string {
  const url: string = body.external_client_id;
  const problem = urlProblem(url, env.config.allowPrivateFetch);
  if (problem) throw badRequest(`Invalid external_client_id: ${problem}.`, 'invalid_uri');
  return url;
}

const validation = (c: CheckedDocument) => ({ valid: c.violations.length === 0, violations: c.violations, warnings: c.warnings });

/** The application fields that the document decides; the rest of the application is left as it is. */
function documentFields(url: string, c: CheckedDocument) {
  const m = c.mapped;
  return {
    name: m.name, app_type: m.app_type, callbacks: m.callbacks ?? [], grant_types: m.grant_types,
    logo_uri: m.logo_uri, description: m.description, jwks_uri: m.jwks_uri,
    is_first_party: false, third_party_security_mode: 'strict',
    external_client_id: url, external_metadata_type: 'cimd', external_metadata_created_by: 'admin',
  };
}
const defined = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

/**
 * Re-registration: the private_key_jwt credentials become the JWKS's keys. A
 * kid already registered keeps its registered key even if the JWKS now holds
 * other material under it (Auth0: rotation needs a new kid); a kid gone from
 * the JWKS is dropped; a new kid is added.
 */
function rotatedKeys(data: any, c: CheckedDocument): { credentials: StoredCredential[]; ids: string[] } {
  const old = credentialsOf(data);
  const inUse = keyIds(data);
  const byKid = new Map(old.filter((k) => inUse.has(k.id)).map((k) => [k.kid, k]));
  const chosen = c.keys.map((k) => {
    const kept = byKid.get(k.kid);
    const changed = `Key material changed for kid '${k.kid}'; the registered key is kept. Rotate keys under a new kid.`;
    if (kept?.pem && rsaThumbprint(readPem(kept.pem).key) !== rsaThumbprint(readPem(k.pem!).key) && !c.warnings.includes(changed)) c.warnings.push(changed);
    return kept ?? k;
  });
  const keptOrOther = old.filter((k) => !inUse.has(k.id) || chosen.includes(k));
  return { credentials: withCredentials({ credentials: keptOrOther }, chosen.filter((k) => !old.includes(k))), ids: chosen.map((k) => k.id) };
}

/** The credentials the application's private_key_jwt method names: the ones a document's JWKS replaces. */
const keyIds = (data: any) => new Set<string>((data.client_authentication_methods?.private_key_jwt?.credentials ?? []).map((k: { id: string }) => k.id));

async function update(env: Env, id: string, url: string, c: CheckedDocument) {
  await patchDoc(env.store.clients, id, () => loadClient(env, id), (cur) => {
    const data: any = { ...cur.data, ...documentFields(url, c) };
    for (const k of ['logo_uri', 'description', 'jwks_uri']) if (data[k] === undefined) delete data[k];
    if (c.mapped.token_endpoint_auth_method === 'private_key_jwt') {
      const { credentials, ids } = rotatedKeys(cur.data, c);
      data.credentials = credentials;
      data.client_authentication_methods = { private_key_jwt: { credentials: ids.map((i) => ({ id: i })) } };
      delete data.token_endpoint_auth_method;
    } else {
      const dropped = keyIds(cur.data);
      data.credentials = credentialsOf(cur.data).filter((k) => !dropped.has(k.id));
      delete data.client_authentication_methods;
      data.token_endpoint_auth_method = 'none';
    }
    return { data, columns: { name: data.name } };
  });
  env.invalidate('clients');
}

async function create(env: Env, id: string, url: string, c: CheckedDocument) {
  const auth = c.mapped.token_endpoint_auth_method === 'private_key_jwt'
    ? { client_authentication_methods: { private_key_jwt: { credentials: c.keys.map((k) => ({ credential_type: 'public_key', pem: k.pem, kid: k.kid, alg: k.alg })) } } }
    : { token_endpoint_auth_method: 'none' };
  await createClient(env, { ...defined(documentFields(url, c)), ...auth }, { clientId: id, secret: null });
}

/** Register needs create:clients to create and update:clients to update; the route lets either in. */
function requireScope(token: OpContext['token'], scope: string) {
  if (!String(token.scope ?? '').split(' ').includes(scope)) throw insufficientScope([scope]);
}

export const clientCimdRoutes: Route[] = [
  route('POST', '/clients/cimd/preview', async ({ env, body }) => {
    const url = documentUrl(env, body);
    const existing = await registered(env, url);
    const clientId = existing ? { client_id: existing.id } : {};
    let doc: Record<string, unknown>;
    try {
      doc = await fetchDocument(url, env.config.allowPrivateFetch);
    } catch (e) {
      if (e instanceof FetchFailure) return { ...clientId, errors: [e.message] };
      throw e;
    }
    const checked = await checkDocument(url, doc, env.config.allowPrivateFetch);
    return { ...clientId, validation: validation(checked), mapped_fields: checked.mapped };
  }),
  route('POST', '/clients/cimd/register', async ({ env, body, token, koa }) => {
    const url = documentUrl(env, body);
    const id = cimdClientId(url);
    const existing = await registered(env, url);
    requireScope(token, existing ? 'update:clients' : 'create:clients');
    let doc: Record<string, unknown>;
    try {
      doc = await fetchDocument(url, env.config.allowPrivateFetch);
    } catch (e) {
      if (e instanceof FetchFailure) throw invalidMetadata(e.message);
      throw e;
    }
    const checked = await checkDocument(url, doc, env.config.allowPrivateFetch);
    if (checked.violations.length) throw invalidMetadata(`Invalid Client ID Metadata Document: ${checked.violations.join('; ')}`);
    if (!existing) {
      try {
        await create(env, id, url, checked);
        koa.set('Location', `/api/v2/clients/${id}`);
        return reply(201, { client_id: id, mapped_fields: checked.mapped, validation: validation(checked) });
      } catch (e) {
        // A concurrent registration of the same URL created it first: this one updates it.
        if (!(e instanceof UniqueViolation)) throw e;
        requireScope(token, 'update:clients');
      }
    }
    await update(env, id, url, checked);
    return { client_id: id, mapped_fields: checked.mapped, validation: validation(checked) };
  }),
];
