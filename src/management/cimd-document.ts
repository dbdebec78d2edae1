import { createPublicKey } from 'node:crypto';
import { isIP } from 'node:net';
import { ApiError } from '../lib/errors.ts';
import { credentialFromBody } from './client-credential-input.ts';
import { fetchJsonObject, FetchFailure } from './cimd-fetch.ts';
import type { StoredCredential } from '../tenant/client-credentials.ts';

// Auth0's rules for a Client ID Metadata Document and its URL, and how the
// document maps to an Auth0 application (docs: "Register Applications with
// CIMD", CIMD URL and JSON validation rules). A broken rule is a violation; a
// property or grant type Auth0 ignores is a warning.

const DOCUMENT_MAX_BYTES = 5 * 1024;
const JWKS_MAX_BYTES = 12 * 1024;
const MAX_URL_BYTES = 120;
const MAX_DESCRIPTION = 140;
/** Auth0's ceiling on the credentials one authentication method lists. */
const MAX_KEYS = 2;
const KEY_ALGS = new Set(['RS256', 'RS384', 'PS256']);
const GRANTS = new Set(['authorization_code', 'refresh_token']);
const SUPPORTED = new Set(['client_id', 'client_name', 'redirect_uris', 'grant_types', 'application_type', 'token_endpoint_auth_method',
  'jwks_uri', 'logo_uri', 'description', 'response_types']);
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** The first CIMD URL rule `raw` breaks; loopback hosts pass only when the server allows private fetches. */
export function urlProblem(raw: string, allowPrivate: boolean): string | undefined {
  if (raw.trim() !== raw) return 'it must not have leading or trailing whitespace';
  if (Buffer.byteLength(raw) > MAX_URL_BYTES) return `it must be at most ${MAX_URL_BYTES} bytes`;
  if (!URL.canParse(raw)) return 'it must be an absolute URL';
  const u = new URL(raw);
  if (u.protocol !== 'https:') return 'it must use the https scheme';
  if (/^https:\/\/\//i.test(raw) || !u.hostname) return 'it must have a host name';
  if (u.username || u.password) return 'it must not contain credentials';
  if (raw.includes('#')) return 'it must not contain a fragment';
  if (raw.includes('?')) return 'it must not contain a query';
  if (u.port === '0' || /^https:\/\/[^/]*:0+(\/|$)/i.test(raw)) return 'port 0 is not allowed';
  if (/%(?![0-9a-f]{2})/i.test(raw)) return "'%' must be followed by two hexadecimal digits";
  // The parser removes dot segments, so they are looked for in the text as sent.
  const path = raw.replace(/^https:\/\/[^/]*/i, '');
  if (path.split('/').some((seg) => /^(\.|%2e){1,2}$/i.test(seg))) return "its path must not contain '.' or '..' segments";
  if (u.pathname === '/' || !u.pathname) return 'it must have a path beyond /';
  if (!allowPrivate && (LOOPBACK_HOSTS.has(u.hostname) || (isIP(u.hostname) && u.hostname.startsWith('127.')))) return 'localhost is not allowed';
  return undefined;
}

/** CimdMappedClientFields, as Auth0 answers them. */
export interface MappedFields {
  external_client_id: string;
  name?: string;
  app_type?: 'native' | 'regular_web';
  callbacks?: string[];
  logo_uri?: string;
  description?: string;
  grant_types?: string[];
  token_endpoint_auth_method?: string;
  jwks_uri?: string;
  client_authentication_methods?: { private_key_jwt: { credentials: { credential_type: 'public_key'; kid: string; alg: string }[] } };
}
export interface CheckedDocument {
  violations: string[];
  warnings: string[];
  mapped: MappedFields;
  /** The JWKS's keys as client credentials (not yet saved), for private_key_jwt. */
  keys: StoredCredential[];
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);
const httpUrl = (v: string) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol);

/** The JWKS at `jwks_uri` as public_key credentials; each problem becomes a violation. */
async function jwksKeys(jwksUri: string, allowPrivate: boolean, violations: string[]): Promise<StoredCredential[]> {
  let jwks: Record<string, unknown>;
  try {
    jwks = await fetchJsonObject(jwksUri, { maxBytes: JWKS_MAX_BYTES, allowPrivate, what: 'jwks_uri' });
  } catch (e) {
    if (!(e instanceof FetchFailure)) throw e;
    violations.push(e.message);
    return [];
  }
  const keys = jwks.keys;
  if (!Array.isArray(keys) || !keys.length) { violations.push('jwks_uri must serve a JWKS with at least one key'); return []; }
  if (keys.length > MAX_KEYS) { violations.push(`jwks_uri must serve at most ${MAX_KEYS} keys`); return []; }
  const out: StoredCredential[] = [];
  for (const [i, jwk] of keys.entries()) {
    if (!jwk || typeof jwk !== 'object' || Array.isArray(jwk)) { violations.push(`jwks_uri key ${i} is not an object`); continue; }
    if ('d' in jwk || 'p' in jwk || 'k' in jwk) { violations.push(`jwks_uri key ${i} contains private key material`); continue; }
    if (jwk.kty !== 'RSA') { violations.push(`jwks_uri key ${i} must be an RSA key`); continue; }
    const alg = jwk.alg ?? 'RS256';
    if (!KEY_ALGS.has(alg)) { violations.push(`jwks_uri key ${i} has an unsupported alg: '${String(alg)}'`); continue; }
    if (jwk.kid !== undefined && (!isString(jwk.kid) || !jwk.kid)) { violations.push(`jwks_uri key ${i} has an invalid kid`); continue; }
    try {
      const pem = createPublicKey({ key: { kty: 'RSA', n: jwk.n, e: jwk.e }, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
      out.push(credentialFromBody({ credential_type: 'public_key', pem, alg, ...(jwk.kid ? { kid: jwk.kid } : {}) }));
    } catch (e) {
      // Auth0's own credential rules (RSA of 2048 bits or more, kid length) apply to each key.
      violations.push(e instanceof ApiError ? `jwks_uri key ${i} cannot be registered: ${e.message}` : `jwks_uri key ${i} is not a usable RSA public key`);
    }
  }
  const kids = out.map((k) => k.kid);
  if (new Set(kids).size !== kids.length) violations.push('jwks_uri keys must have unique kid values');
  return out;
}

function redirectUriProblem(uri: string, native: boolean): string | undefined {
  if (!URL.canParse(uri) || uri.includes('#')) return `redirect_uris must be absolute URIs without a fragment: '${uri}'`;
  const u = new URL(uri);
  if (u.protocol === 'https:') return undefined;
  if (native && u.protocol === 'http:' && LOOPBACK_HOSTS.has(u.hostname)) return undefined;
  return `redirect_uris must use https${native ? ' (or http on a loopback address)' : ''}: '${uri}'`;
}

/** Checks a fetched document against Auth0's rules, and maps it; the JWKS is fetched too when the document names one. */
export async function checkDocument(url: string, doc: Record<string, any>, allowPrivate: boolean): Promise<CheckedDocument> {
  const violations: string[] = [];
  const warnings: string[] = [];
  const mapped: MappedFields = { external_client_id: url };
  const violate = (why: string) => { violations.push(why); };

  for (const k of Object.keys(doc)) {
    if (k === 'jwks') violate('Inline jwks is not supported; publish the keys at jwks_uri');
    else if (!SUPPORTED.has(k)) warnings.push(`Property not supported: '${k}'`);
  }

  if (doc.client_id === undefined) violate('client_id is required');
  else if (doc.client_id !== url) violate('client_id must exactly match the URL the document was fetched from');

  if (!isString(doc.client_name) || !doc.client_name.trim()) violate('client_name is required and must be a non-empty string');
  else mapped.name = doc.client_name;

  const appType = doc.application_type ?? 'web';
  if (appType !== 'web' && appType !== 'native') violate(`application_type must be 'native' or 'web'`);
  else mapped.app_type = appType === 'native' ? 'native' : 'regular_web';

  let requested: string[] = [];
  if (!isStringArray(doc.grant_types)) violate('grant_types is required and must be an array of strings');
  else {
    requested = doc.grant_types;
    for (const g of new Set(requested)) if (!GRANTS.has(g)) warnings.push(`Grant type not supported: '${g}'`);
    const kept = [...new Set(requested.filter((g) => GRANTS.has(g)))];
    if (!kept.length) violate('grant_types must include authorization_code or refresh_token');
    else mapped.grant_types = kept;
  }

  const needsRedirects = requested.includes('authorization_code') || requested.includes('implicit');
  if (doc.redirect_uris !== undefined && !isStringArray(doc.redirect_uris)) violate('redirect_uris must be an array of strings');
  else if (needsRedirects && !doc.redirect_uris?.length) violate('redirect_uris is required when grant_types includes authorization_code');
  else if (doc.redirect_uris) {
    const uris: string[] = doc.redirect_uris;
    if (new Set(uris).size !== uris.length) violate('redirect_uris must be unique');
    const problems = uris.map((u) => redirectUriProblem(u, appType === 'native')).filter(isString);
    problems.forEach(violate);
    if (!problems.length) mapped.callbacks = uris;
  }

  const method = doc.token_endpoint_auth_method ?? 'none';
  if (/^client_secret_/.test(String(method))) violate(`token_endpoint_auth_method '${method}' uses a shared secret, which CIMD clients cannot use; use 'none' or 'private_key_jwt'`);
  else if (method !== 'none' && method !== 'private_key_jwt') violate(`token_endpoint_auth_method must be 'none' or 'private_key_jwt'`);
  else mapped.token_endpoint_auth_method = method;

  let keys: StoredCredential[] = [];
  if (doc.jwks_uri !== undefined) {
    if (!isString(doc.jwks_uri) || !URL.canParse(doc.jwks_uri) || new URL(doc.jwks_uri).protocol !== 'https:') violate('jwks_uri must be an https URL');
    else if (new URL(doc.jwks_uri).origin !== new URL(url).origin) violate('jwks_uri must have the same origin (scheme, host and port) as client_id');
    else {
      mapped.jwks_uri = doc.jwks_uri;
      // Fetched only when the keys will be used; a public client's jwks_uri is kept for reference.
      if (method === 'private_key_jwt') keys = await jwksKeys(doc.jwks_uri, allowPrivate, violations);
    }
  } else if (method === 'private_key_jwt') violate("jwks_uri is required when token_endpoint_auth_method is 'private_key_jwt'");
  if (keys.length) {
    mapped.client_authentication_methods = {
      private_key_jwt: { credentials: keys.map((k) => ({ credential_type: 'public_key' as const, kid: k.kid!, alg: k.alg! })) },
    };
  }

  if (doc.logo_uri !== undefined) {
    if (!isString(doc.logo_uri) || !httpUrl(doc.logo_uri)) violate('logo_uri must be an http or https URL');
    else mapped.logo_uri = doc.logo_uri;
  }
  if (doc.description !== undefined) {
    if (!isString(doc.description) || doc.description.length > MAX_DESCRIPTION) violate(`description must be a string of at most ${MAX_DESCRIPTION} characters`);
    else mapped.description = doc.description;
  }
  if (doc.response_types !== undefined) {
    if (!isStringArray(doc.response_types)) violate('response_types must be an array of strings');
    else if (doc.response_types.includes('code') && !requested.includes('authorization_code')) {
      warnings.push("response_types includes 'code' but grant_types does not include 'authorization_code'");
    }
  }
  return { violations, warnings, mapped, keys };
}

/** The document at `url`, or a FetchFailure: within Auth0's size limit, as JSON, without redirects. */
export const fetchDocument = (url: string, allowPrivate: boolean) =>
  fetchJsonObject(url, { maxBytes: DOCUMENT_MAX_BYTES, allowPrivate, what: 'the Client ID Metadata Document' });
