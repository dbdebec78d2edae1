import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { isIPv4, isIPv6 } from 'node:net';
import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { ValidateFunction, ErrorObject } from 'ajv';

// Both packages are CommonJS with a default export.
const Ajv2020 = (Ajv2020Module as any).default ?? Ajv2020Module;
const addFormats = (addFormatsModule as any).default ?? addFormatsModule;

// The Management API contract comes from Auth0's published structure in
// data/auth0 (vendored from ../shared/auth0 by scripts/vendor-auth0-spec.mjs):
// scopes per operation from the TSV, request validation from
// the OpenAPI schemas. Nothing about either is restated in route code.
const sharedDir = process.env.POSTERN_SHARED_DIR ?? join(dirname(fileURLToPath(import.meta.url)), '../../data/auth0');
const spec = distinctOneOf(acceptUrnTokenTypes(restoreWebhookCredentials(restoreThemeFontTitle(restoreDescriptionProperties(JSON.parse(readFileSync(join(sharedDir, 'management-api.json'), 'utf8')))))));

/**
 * The shared spec had its prose "descriptions removed", which also deleted
 * every schema property *named* `description` (role, scope, client, API
 * descriptions...), so closed schemas would reject what Auth0 accepts. Put it
 * back as an optional string on every closed object schema.
 */
function restoreDescriptionProperties(doc: any) {
  const walk = (o: any) => {
    if (Array.isArray(o)) { o.forEach(walk); return; }
    if (!o || typeof o !== 'object') return;
    if (o.type === 'object' && o.properties && !('description' in o.properties) && (o.additionalProperties === false || (o.required ?? []).includes('description'))) {
      o.properties.description = { type: 'string' };
    }
    for (const v of Object.values(o)) walk(v);
  };
  walk(doc.components?.schemas);
  return doc;
}

/**
 * The same removal took the property named `title` out of BrandingThemeFonts,
 * whose `required` still lists it, so no theme could ever validate. Its schema
 * is still among the components (BrandingThemeFontTitle), referenced by nothing.
 */
function restoreThemeFontTitle(doc: any) {
  const schemas = doc.components?.schemas ?? {};
  const fonts = schemas.BrandingThemeFonts;
  if (fonts?.properties && !fonts.properties.title && schemas.BrandingThemeFontTitle) {
    fonts.properties.title = { $ref: '#/components/schemas/BrandingThemeFontTitle' };
  }
  return doc;
}

/**
 * An event stream's webhook authorization is published in its answer's shape
 * only, which has no credential, while requests carry one (the bearer token,
 * the basic password, the custom header's value). Without them no webhook
 * stream could be created as Auth0's clients create it.
 */
function restoreWebhookCredentials(doc: any) {
  const schemas = doc.components?.schemas ?? {};
  const secret = { type: 'string', minLength: 1 };
  for (const [name, key] of [['EventStreamWebhookBearerAuth', 'token'], ['EventStreamWebhookBasicAuth', 'password'], ['EventStreamWebhookCustomHeaderAuth', 'header_value']]) {
    if (schemas[name]?.properties && !schemas[name].properties[key]) schemas[name].properties[key] = secret;
  }
  return doc;
}

/**
 * A `oneOf` that lists one schema twice (a vault connection's update lists the
 * OAuth code setup twice) rejects exactly what that schema accepts, since it
 * matches two branches. Each branch is kept once.
 */
function distinctOneOf(doc: any) {
  for (const schema of Object.values<any>(doc.components?.schemas ?? {})) {
    if (Array.isArray(schema?.oneOf)) schema.oneOf = schema.oneOf.filter((x: unknown, i: number, all: unknown[]) => all.findIndex((y) => JSON.stringify(y) === JSON.stringify(x)) === i);
  }
  return doc;
}

/**
 * A custom token exchange profile's `subject_token_type` is published with
 * format `url`, which ajv reads as an http(s) or ftp URL, while Auth0 takes any
 * URI there, and recommends URNs (`urn:acme:legacy-token`).
 */
function acceptUrnTokenTypes(doc: any) {
  for (const name of ['CreateTokenExchangeProfileRequestContent', 'UpdateTokenExchangeProfileRequestContent']) {
    const prop = doc.components?.schemas?.[name]?.properties?.subject_token_type;
    if (prop?.format === 'url') prop.format = 'uri';
  }
  return doc;
}

export interface OpSpec { method: string; path: string; operationId: string; scopes: string[]; tag: string; lifecycle: string }

export const operations: OpSpec[] = readFileSync(join(sharedDir, 'management-ops.tsv'), 'utf8')
  .trim().split('\n').slice(1).map((line) => {
    const [method, path, operationId, scopes, tag, lifecycle] = line.split('\t');
    return { method, path, operationId, scopes: (scopes ?? '').split(/\s+/).filter((s) => /^[a-z_]+:[a-z_]+$/.test(s)), tag, lifecycle };
  });

export function findOperation(method: string, path: string): OpSpec {
  const op = operations.find((o) => o.method === method && o.path === path);
  if (!op) throw new Error(`no Management API operation ${method} ${path} in the spec`);
  return op;
}

/** Every scope of the spec's catalogue, for the system API and the bootstrap client. */
export function scopeCatalogue(): { value: string; description: string }[] {
  const flows = spec.components.securitySchemes.oAuth2ClientCredentials.flows;
  const scopes: Record<string, string> = {};
  for (const flow of Object.values<any>(flows)) Object.assign(scopes, flow.scopes ?? {});
  // A few EA operations (network ACL keys...) are gated by scopes the catalogue lacks; without them no token could reach those operations.
  for (const op of operations) for (const s of op.scopes) scopes[s] ??= '';
  return Object.entries(scopes).map(([value, description]) => ({ value, description: description || value }));
}

/**
 * Patterns are compiled with the `u` flag, as ajv does by default. A few of the
 * spec's (the theme's URL patterns, with `[\w-\.…]`) are valid only without it,
 * as Auth0 runs them; those alone are compiled without it. Every other pattern is unchanged.
 */
const regExp = Object.assign((pattern: string, flags: string) => {
  try { return new RegExp(pattern, flags); } catch (e) {
    if (!flags.includes('u')) throw e;
    return new RegExp(pattern, flags.replace('u', ''));
  }
}, { code: 'specRegExp' });
const ajv = new Ajv2020({ strict: false, allErrors: false, logger: false, code: { regExp } });
addFormats(ajv);
// Auth0's own formats for IP allowlists and branding. Unknown to ajv they would
// accept anything, and the `oneOf` of an IP and a CIDR block would match twice.
const cidr = (isIp: (s: string) => boolean, maxBits: number) => (s: string) => {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
  return !!m && isIp(m[1]) && Number(m[2]) <= maxBits;
};
const httpsUri = (s: string) => URL.canParse(s) && new URL(s).protocol === 'https:';
const htmlColor = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;
ajv.addFormat('cidr', cidr(isIPv4, 32));
ajv.addFormat('ipv6_cidr', cidr(isIPv6, 128));
for (const f of ['html-color', 'html-color-or-null']) ajv.addFormat(f, htmlColor);
for (const f of ['strict-https-uri', 'strict-https-uri-or-null']) ajv.addFormat(f, httpsUri);
// ajv-formats' `url` wants a public TLD, refusing the http://localhost:3000 pages
// that Auth0 takes (a cross-origin verification page, a ticket's result_url).
const webUrl = (s: string) => !/\s/.test(s) && URL.canParse(s) && ['http:', 'https:', 'ftp:'].includes(new URL(s).protocol) && new URL(s).hostname !== '';
ajv.addFormat('url', webUrl);
ajv.addSchema(spec, 'mgmt');
const queryAjv = new Ajv2020({ strict: false, coerceTypes: 'array', logger: false, code: { regExp } });
addFormats(queryAjv);
queryAjv.addSchema({ components: spec.components }, 'mgmt');

function describe(e: ErrorObject, where: string): string {
  const prop = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  if (e.keyword === 'additionalProperties') return `${where} validation error: 'Additional properties not allowed: ${(e.params as any).additionalProperty}'${prop ? ` on property ${prop}` : ''}.`;
  if (e.keyword === 'required') return `${where} validation error: 'Missing required property: ${(e.params as any).missingProperty}'${prop ? ` on property ${prop}` : ''}.`;
  return `${where} validation error: '${e.message}'${prop ? ` on property ${prop}` : ''}.`;
}

/** `form`: a multipart/form-data body's schema, whose string fields it coerces (booleans, numbers). */
export interface Validators { body?: ValidateFunction; query?: ValidateFunction; form?: ValidateFunction }
const cache = new Map<string, Validators>();

/** Compiled once per operation, on first use. */
export function validatorsFor(op: OpSpec): Validators {
  const key = `${op.method} ${op.path}`;
  let v = cache.get(key);
  if (v) return v;
  const def = spec.paths[op.path]?.[op.method.toLowerCase()];
  v = {};
  const bodySchema = def?.requestBody?.content?.['application/json']?.schema;
  // An inline body schema (a oneOf of components) has its references resolved in the spec, as a query's are.
  if (bodySchema) v.body = ajv.compile(bodySchema.$ref ? { $ref: `mgmt${bodySchema.$ref}` } : rewriteRefs(bodySchema));
  const formSchema = def?.requestBody?.content?.['multipart/form-data']?.schema;
  if (formSchema) v.form = queryAjv.compile(rewriteRefs(formSchema));
  const params = (def?.parameters ?? []).map((p: any) => (p.$ref ? resolveRef(p.$ref) : p)).filter((p: any) => p.in === 'query');
  if (params.length) {
    v.query = queryAjv.compile({
      type: 'object',
      properties: Object.fromEntries(params.map((p: any) => [p.name, rewriteRefs(p.schema ?? {})])),
    });
  }
  cache.set(key, v);
  return v;
}
/** The allowed values of each path parameter that the spec gives an enum. */
export function pathEnums(op: OpSpec): Record<string, string[]> {
  const deref = (x: any) => (x?.$ref ? resolveRef(x.$ref) : x);
  const params = (spec.paths[op.path]?.[op.method.toLowerCase()]?.parameters ?? []).map(deref);
  return Object.fromEntries(params.filter((p: any) => p.in === 'path' && deref(p.schema)?.enum).map((p: any) => [p.name, deref(p.schema).enum]));
}
function resolveRef(ref: string) {
  return ref.replace(/^#\//, '').split('/').reduce((o: any, k) => o?.[k], spec);
}
function rewriteRefs(schema: any): any {
  return JSON.parse(JSON.stringify(schema).replace(/"\$ref":"#\//g, '"$ref":"mgmt#/'));
}

export function validationMessage(fn: ValidateFunction, where: 'Payload' | 'Query'): string {
  return describe(fn.errors![0], where);
}

const components = new Map<string, ValidateFunction>();
/** A validator for one of the spec's component schemas (e.g. a strategy's connection options). */
export function componentValidator(name: string): ValidateFunction {
  let v = components.get(name);
  if (!v) {
    v = ajv.compile({ $ref: `mgmt#/components/schemas/${name}` }) as ValidateFunction;
    components.set(name, v);
  }
  return v;
}
