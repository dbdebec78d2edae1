import { Resolver } from 'node:dns/promises';
import { alnum } from '../lib/ids.ts';
import { badRequest, conflict, invalidQuery, notFound } from '../lib/errors.ts';
import { mergeMetadata } from '../lib/merge.ts';
import type { Env } from '../tenant/env.ts';
import { listResponse } from './pagination.ts';
import { projector } from './fields.ts';
import { reply, route, type Route } from './router.ts';
import { patchDoc } from './patch-doc.ts';
import { inMemory, loadDoc, unique } from './doc-helpers.ts';

// Custom domains as Auth0 shows them. Postern provisions no edge or
// certificate: a domain becomes `ready` once its TXT record is really found.

const missing = () => notFound('The custom domain does not exist.', 'inexistent_custom_domain');
const taken = () => conflict('The custom domain already exists.', 'custom_domain_conflict');
const load = (env: Env, id: string) => loadDoc(env.store.customDomains, id, missing);
const DEFAULT_DOC = 'custom-domains:default';
const MAX_METADATA = 10;

const defaultId = async (env: Env) => (await env.store.getTenantDoc<{ custom_domain_id?: string }>(DEFAULT_DOC))?.custom_domain_id;

function domainJson(doc: { id: string; data: any }, defaultDomainId: string | undefined) {
  const d = doc.data;
  return {
    custom_domain_id: doc.id, domain: d.domain, primary: false, is_default: doc.id === defaultDomainId,
    status: d.status, type: d.type, verification: d.verification,
    custom_client_ip_header: d.custom_client_ip_header ?? null, tls_policy: d.tls_policy,
    ...(d.domain_metadata && Object.keys(d.domain_metadata).length ? { domain_metadata: d.domain_metadata } : {}),
    ...(d.relying_party_identifier ? { relying_party_identifier: d.relying_party_identifier } : {}),
  };
}

/** The spec's pattern admits single labels and dotted numbers; a custom domain is a DNS name under a real TLD. */
function hostname(domain: string) {
  const labels = domain.toLowerCase().split('.');
  if (labels.length < 2 || /^\d+$/.test(labels[labels.length - 1])) {
    throw badRequest("Payload validation error: 'domain must be a fully qualified host name, without a scheme, port or path' on property domain.");
  }
  return labels.join('.');
}

function checkMetadata(metadata: Record<string, unknown> | undefined) {
  if (metadata && Object.keys(metadata).length > MAX_METADATA) throw badRequest(`Payload validation error: 'domain_metadata can have at most ${MAX_METADATA} properties'.`);
  return metadata;
}

// `q` and `sort` over these fields; Auth0's Lucene subset here is field:value terms joined by AND.
const SEARCHABLE = new Set(['custom_domain_id', 'domain', 'status', 'type', 'is_default', 'tls_policy']);
function matcher(q: unknown): (o: any) => boolean {
  if (q === undefined || q === '') return () => true;
  const terms = String(q).trim().split(/\s+/).filter((t) => t !== 'AND').map((t) => {
    const m = /^(\w+):"?([^"\s]+?)"?$/.exec(t);
    if (!m || !SEARCHABLE.has(m[1])) throw invalidQuery(`Query validation error: 'q' must be field:value terms over ${[...SEARCHABLE].join(', ')}.`);
    const value = m[2].toLowerCase();
    return (o: any) => {
      const v = String(o[m[1]]).toLowerCase();
      return value.endsWith('*') ? v.startsWith(value.slice(0, -1)) : v === value;
    };
  });
  return (o) => terms.every((t) => t(o));
}
function sorter(sort: unknown): ((a: any, b: any) => number) | undefined {
  if (sort === undefined || sort === '') return undefined;
  const m = /^(\w+):(1|-1)$/.exec(String(sort));
  if (!m || !SEARCHABLE.has(m[1])) throw invalidQuery("Query validation error: 'sort' must be field:1 or field:-1.");
  const dir = Number(m[2]);
  return (a, b) => dir * String(a[m[1]]).localeCompare(String(b[m[1]]));
}

/** The verification record as published, or why it could not be read. A real lookup: nothing here is assumed. */
async function lookupTxt(name: string): Promise<{ records: string[] } | { error: string }> {
  const resolver = new Resolver({ timeout: 3000, tries: 1 });
  try {
    return { records: (await resolver.resolveTxt(name)).map((chunks) => chunks.join('')) };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    return { error: code === 'ENOTFOUND' || code === 'ENODATA' ? `No TXT record was found at ${name}.` : `The TXT record at ${name} could not be looked up (${code}).` };
  }
}

export const customDomainRoutes: Route[] = [
  route('GET', '/custom-domains', async ({ env, query }) => {
    const match = matcher(query.q);
    const sort = sorter(query.sort);
    const def = await defaultId(env);
    // Only checkpoint paging exists here; anything else lists everything, as Auth0 does.
    return listResponse({ from: query.from, take: query.take }, inMemory(async () => {
      const all = (await env.store.customDomains.list()).items.map((d) => domainJson(d, def)).filter(match);
      return sort ? all.sort(sort) : all;
    }), { key: 'custom_domains', project: projector(query), defaultPerPage: 100 });
  }),
  route('POST', '/custom-domains', async ({ env, body }) => {
    const id = `cd_${alnum(16)}`;
    const domain = hostname(body.domain);
    const metadata = checkMetadata(body.domain_metadata && mergeMetadata({}, body.domain_metadata));
    const data = {
      domain, type: body.type, status: 'pending_verification',
      tls_policy: body.tls_policy ?? 'recommended', custom_client_ip_header: body.custom_client_ip_header ?? null,
      ...(metadata && Object.keys(metadata).length ? { domain_metadata: metadata } : {}),
      ...(body.relying_party_identifier ? { relying_party_identifier: body.relying_party_identifier } : {}),
      verification: {
        status: 'pending',
        methods: [{ name: body.verification_method ?? 'txt', record: `auth0-domain-verification=${alnum(32)}`, domain: `_cf-custom-hostname.${domain}` }],
      },
    };
    await unique(() => env.store.customDomains.insert(id, data, { name: domain }), [[async () => true, taken]]);
    return reply(201, domainJson({ id, data }, await defaultId(env)));
  }),
  // Registered before /custom-domains/{id}, which would otherwise take "default" for an id.
  route('GET', '/custom-domains/default', async ({ env }) => {
    const id = await defaultId(env);
    const doc = id ? await env.store.customDomains.get(id) : undefined;
    return doc ? domainJson(doc, id) : { domain: env.config.domain };
  }),
  route('PATCH', '/custom-domains/default', async ({ env, body }) => {
    const domain = String(body.domain).toLowerCase();
    if (domain === env.config.domain.toLowerCase()) {
      await env.store.modifyTenantDoc(DEFAULT_DOC, () => ({}));
      return { domain: env.config.domain };
    }
    const doc = await env.store.customDomains.findBy('name', domain);
    if (!doc) throw badRequest('The domain is neither the tenant\'s domain nor one of its custom domains.');
    if (doc.data.status !== 'ready') throw badRequest('The custom domain is not verified yet.');
    await env.store.modifyTenantDoc(DEFAULT_DOC, () => ({ custom_domain_id: doc.id }));
    return domainJson(doc, doc.id);
  }),
  route('GET', '/custom-domains/{id}', async ({ env, params }) => domainJson(await load(env, params.id), await defaultId(env))),
  route('PATCH', '/custom-domains/{id}', async ({ env, params, body }) => {
    const doc = await load(env, params.id);
    const saved = await patchDoc(env.store.customDomains, doc.id, () => load(env, doc.id), (cur) => {
      const data = { ...cur.data };
      if (body.tls_policy !== undefined) data.tls_policy = body.tls_policy;
      if (body.custom_client_ip_header !== undefined) data.custom_client_ip_header = body.custom_client_ip_header;
      if (body.relying_party_identifier === null) delete data.relying_party_identifier;
      else if (body.relying_party_identifier !== undefined) data.relying_party_identifier = body.relying_party_identifier;
      if (body.domain_metadata !== undefined) data.domain_metadata = checkMetadata(mergeMetadata(cur.data.domain_metadata ?? {}, body.domain_metadata));
      return { data };
    });
    return domainJson(saved, await defaultId(env));
  }),
  route('DELETE', '/custom-domains/{id}', async ({ env, params }) => {
    if (!await env.store.customDomains.delete(params.id)) throw missing();
    if (await defaultId(env) === params.id) {
      await env.store.modifyTenantDoc<{ custom_domain_id?: string }>(DEFAULT_DOC, (d) => (d?.custom_domain_id === params.id ? {} : d ?? {}));
    }
  }),
  route('POST', '/custom-domains/{id}/verify', async ({ env, params }) => {
    const doc = await load(env, params.id);
    if (doc.data.status === 'ready') return domainJson(doc, await defaultId(env));
    const method = doc.data.verification.methods[0];
    const found = await lookupTxt(method.domain);
    const verified = 'records' in found && found.records.includes(method.record);
    const error = 'error' in found ? found.error : `The TXT record at ${method.domain} does not hold ${method.record}.`;
    const saved = await patchDoc(env.store.customDomains, doc.id, () => load(env, doc.id), (cur) => {
      const { error_msg: _, ...verification } = cur.data.verification;
      return {
        data: {
          ...cur.data,
          status: verified ? 'ready' : cur.data.status,
          verification: verified
            ? { ...verification, status: 'verified', last_verified_at: new Date().toISOString() }
            : { ...verification, status: 'pending', error_msg: error },
        },
      };
    });
    return domainJson(saved, await defaultId(env));
  }),
  route('POST', '/custom-domains/{id}/test', async ({ env, params }) => {
    const doc = await load(env, params.id);
    if (doc.data.status !== 'ready') throw conflict('The custom domain is not verified yet.', 'custom_domain_not_ready');
    const url = `https://${doc.data.domain}/.well-known/openid-configuration`;
    try {
      const r = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(5000) });
      return r.ok ? { success: true } : { success: false, message: `${url} answered ${r.status}.` };
    } catch (e) {
      return { success: false, message: `${url} could not be reached (${(e as any)?.cause?.code ?? (e as Error).name}).` };
    }
  }),
];
