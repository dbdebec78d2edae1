import { badRequest, conflict, notFound } from '../lib/errors.ts';
import { alnum, hex } from '../lib/ids.ts';
import type { Env } from '../tenant/env.ts';
import { inMemory } from './doc-helpers.ts';
import { loadOrg } from './organizations.ts';
import { checkpointOnly, listResponse } from './pagination.ts';
import { reply, route, type Route } from './router.ts';
import { componentValidator, validationMessage } from './spec.ts';

// An organization's discovery domains: the email domains that send a user to
// the organization at login (home realm discovery by organization). A domain
// belongs to one organization of the tenant at most, so every organization's
// domains share one tenant document and a create checks and writes it in one
// conditional write. Postern cannot look up the DNS TXT record offline: the
// status is what the API was last told (`pending` unless asked otherwise).

const DOC = 'organization-discovery-domains';
interface DomainRec {
  id: string; org_id: string; domain: string; status: 'pending' | 'verified';
  use_for_organization_discovery: boolean; verification_txt: string;
}
type Stored = { domains: DomainRec[] };

const domainJson = (d: DomainRec) => ({
  id: d.id, domain: d.domain, status: d.status,
  verification_host: `_ss-verification.${d.org_id}.${d.domain}`, verification_txt: d.verification_txt,
  use_for_organization_discovery: d.use_for_organization_discovery,
});

const missing = () => notFound('The discovery domain does not exist.', 'inexistent_discovery_domain');
const taken = () => conflict('The discovery domain is already in use by an organization.', 'conflict');

const domainsOf = async (env: Env, orgId: string) =>
  ((await env.store.getTenantDoc<Stored>(DOC))?.domains ?? []).filter((d) => d.org_id === orgId);

async function loadDomain(env: Env, orgId: string, match: (d: DomainRec) => boolean) {
  const org = await loadOrg(env, orgId);
  const found = (await domainsOf(env, org.id)).find(match);
  if (!found) throw missing();
  return found;
}

/** Rewrites the one record of this organization with this id (`change` undefined deletes it); the record as saved. */
async function rewrite(env: Env, orgId: string, id: string, change?: (d: DomainRec) => DomainRec) {
  const org = await loadOrg(env, orgId);
  let saved: DomainRec | undefined;
  await env.store.modifyTenantDoc<Stored>(DOC, (stored) => {
    const domains = stored?.domains ?? [];
    const at = domains.findIndex((d) => d.id === id && d.org_id === org.id);
    if (at < 0) throw missing();
    saved = change?.(domains[at]);
    return { domains: saved ? domains.map((d, i) => (i === at ? saved! : d)) : domains.filter((_, i) => i !== at) };
  });
  return saved;
}

const validShape = () => componentValidator('OrganizationDiscoveryDomain');

export const organizationDiscoveryDomainRoutes: Route[] = [
  route('GET', '/organizations/{id}/discovery-domains', async ({ env, params, query }) => {
    const org = await loadOrg(env, params.id);
    return listResponse(checkpointOnly(query), inMemory(async () => (await domainsOf(env, org.id)).map(domainJson)), { key: 'domains' });
  }),
  route('POST', '/organizations/{id}/discovery-domains', async ({ env, params, body }) => {
    const org = await loadOrg(env, params.id);
    const rec: DomainRec = {
      id: `ord_${alnum(22)}`, org_id: org.id, domain: String(body.domain).toLowerCase(), status: body.status ?? 'pending',
      use_for_organization_discovery: body.use_for_organization_discovery ?? false, verification_txt: hex(16),
    };
    // The request schema only bounds the length; the domain must also be a host name, as the answer's schema says.
    const valid = validShape();
    if (!valid(domainJson(rec))) throw badRequest(validationMessage(valid, 'Payload'));
    await env.store.modifyTenantDoc<Stored>(DOC, async (stored) => {
      let domains = stored?.domains ?? [];
      const holder = domains.find((d) => d.domain === rec.domain);
      // An organization deleted since took its domains with it; its records are dropped here, where they would be in the way.
      if (holder && holder.org_id !== org.id && !(await env.store.organizations.get(holder.org_id))) {
        domains = domains.filter((d) => d.org_id !== holder.org_id);
      } else if (holder) throw taken();
      return { domains: [...domains, rec] };
    });
    return reply(201, domainJson(rec));
  }),
  route('GET', '/organizations/{id}/discovery-domains/name/{discovery_domain}', async ({ env, params }) => {
    const name = params.discovery_domain.toLowerCase();
    return domainJson(await loadDomain(env, params.id, (d) => d.domain === name));
  }),
  route('GET', '/organizations/{id}/discovery-domains/{discovery_domain_id}', async ({ env, params }) =>
    domainJson(await loadDomain(env, params.id, (d) => d.id === params.discovery_domain_id))),
  route('PATCH', '/organizations/{id}/discovery-domains/{discovery_domain_id}', async ({ env, params, body }) =>
    domainJson((await rewrite(env, params.id, params.discovery_domain_id, (d) => ({ ...d, ...body })))!)),
  route('DELETE', '/organizations/{id}/discovery-domains/{discovery_domain_id}', async ({ env, params }) => {
    await rewrite(env, params.id, params.discovery_domain_id);
  }),
];
