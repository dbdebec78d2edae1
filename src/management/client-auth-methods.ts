import { badRequest } from '../lib/errors.ts';
import { credentialsOf, type StoredCredential } from '../tenant/client-credentials.ts';
import { credentialFromBody, withCredentials } from './client-credential-input.ts';

// How an application authenticates at /oauth/token is one of two fields, as in
// Auth0: token_endpoint_auth_method (a secret, or none), or
// client_authentication_methods naming credentials of the application
// (private_key_jwt). Exactly one is set; with the second, the secret is neither
// accepted nor shown. mTLS methods are refused: Postern cannot check client
// certificates, and storing them would leave the secret working instead.

/** Auth0's ceiling on the credentials one method lists. */
const MAX_PER_METHOD = 2;
const PROP = 'client_authentication_methods.private_key_jwt.credentials';

const invalid = (why: string, prop = 'client_authentication_methods') => badRequest(`Payload validation error: '${why}' on property ${prop}.`);

function supportedOnly(methods: Record<string, unknown>) {
  for (const m of Object.keys(methods)) if (m !== 'private_key_jwt') throw invalid(`${m} is not supported; only private_key_jwt is`);
}
function withinLimit(n: number) {
  if (n > MAX_PER_METHOD) throw invalid(`Array is too long (${n}), maximum ${MAX_PER_METHOD}`, PROP);
}
function oneMethod(data: any) {
  const secret = data.token_endpoint_auth_method != null;
  const methods = data.client_authentication_methods != null;
  if (secret && methods) throw invalid('token_endpoint_auth_method must be null when client_authentication_methods is set', 'token_endpoint_auth_method');
  if (!secret && !methods) throw invalid('Either token_endpoint_auth_method or client_authentication_methods must be set', 'token_endpoint_auth_method');
}

/**
 * POST /clients: credentials given inline become the new application's own,
 * and its private_key_jwt method names them by id. Undefined without the field.
 */
export function credentialsOnCreate(body: any): { client_authentication_methods: object; credentials: StoredCredential[] } | undefined {
  const methods = body.client_authentication_methods;
  if (methods === undefined) return undefined;
  oneMethod(body);
  supportedOnly(methods);
  withinLimit(methods.private_key_jwt.credentials.length);
  const created: StoredCredential[] = methods.private_key_jwt.credentials.map(credentialFromBody);
  return {
    client_authentication_methods: { private_key_jwt: { credentials: created.map((c) => ({ id: c.id })) } },
    credentials: withCredentials({}, created),
  };
}

/** PATCH /clients: the merged document, when the body touched either field; the credentials named must be the application's public keys. */
export function checkAuthMethods(data: any, body: any) {
  if (!('client_authentication_methods' in body) && !('token_endpoint_auth_method' in body)) return;
  oneMethod(data);
  const methods = data.client_authentication_methods;
  if (methods == null) return;
  supportedOnly(methods);
  const ids: string[] = methods.private_key_jwt.credentials.map((c: { id: string }) => c.id);
  withinLimit(ids.length);
  if (new Set(ids).size !== ids.length) throw invalid('credentials must be unique', PROP);
  const own = new Map(credentialsOf(data).map((c) => [c.id, c]));
  if (ids.some((id) => !own.has(id))) throw badRequest(`One or more of the credentials in ${PROP} do not exist.`);
  const notKeys = ids.filter((id) => own.get(id)!.credential_type !== 'public_key');
  if (notKeys.length) throw badRequest(`Only public_key credentials can be used for private_key_jwt: ${notKeys.join(', ')}.`);
}

/** The application as reads show it: no credentials, no null method field, and the secret only while it is the way in. */
export function shownClientData(data: any): { shown: Record<string, unknown>; secretShown: boolean } {
  const { credentials: _, ...shown } = data;
  for (const k of ['client_authentication_methods', 'token_endpoint_auth_method']) if (shown[k] === null) delete shown[k];
  return { shown, secretShown: shown.client_authentication_methods === undefined };
}
