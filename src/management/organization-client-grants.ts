import { badRequest, conflict, notFound } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';
import { loadClientGrant } from './client-grants.ts';
import { inMemory } from './doc-helpers.ts';
import { loadOrg, orgJson } from './organizations.ts';
import { listResponse } from './pagination.ts';
import { patchDoc } from './patch-doc.ts';
import { reply, route, type Route } from './router.ts';

// Machine-to-machine access for organizations: a client grant whose
// organization_usage is `allow` or `require` is associated with the
// organizations its client may name in client credentials (see
// oidc/client-credentials-organization.ts). The organization ids live on the
// grant's own document, so deleting the grant (or its client, or its API)
// drops its associations with it, and the token path finds them in the client
// cache it reads anyway. Ids of organizations deleted since are skipped on read.

type GrantDoc = { id: string; data: any };

const grantJson = ({ id, data }: GrantDoc) => ({
  id, client_id: data.client_id, audience: data.audience, scope: data.scope ?? [],
  organization_usage: data.organization_usage, allow_any_organization: data.allow_any_organization ?? false,
  subject_type: data.subject_type ?? 'client',
});

const associated = (grant: GrantDoc, orgId: string) => ((grant.data.organizations ?? []) as string[]).includes(orgId);
const notAssociated = () => notFound('The client grant is not associated with this organization.', 'inexistent_organization_client_grant');

/** Adds or removes the organization on the freshest grant document; `check` sees it first. */
async function setAssociation(env: Env, grantId: string, orgId: string, on: boolean, check: (grant: GrantDoc) => void) {
  const saved = await patchDoc(env.store.clientGrants, grantId, () => loadClientGrant(env, grantId), (cur) => {
    check(cur);
    const others = ((cur.data.organizations ?? []) as string[]).filter((o) => o !== orgId);
    return { data: { ...cur.data, organizations: on ? [...others, orgId] : others } };
  });
  env.invalidate('clients');
  return saved;
}

export const organizationClientGrantRoutes: Route[] = [
  route('GET', '/organizations/{id}/client-grants', async ({ env, params, query }) => {
    const org = await loadOrg(env, params.id);
    const wanted = query.grant_ids === undefined ? undefined : new Set([query.grant_ids].flat().map(String));
    return listResponse(query, inMemory(async () => {
      const grants = (await env.store.clientGrants.list({ audience: query.audience, client_id: query.client_id })).items;
      return grants.filter((g) => associated(g, org.id) && (!wanted || wanted.has(g.id))).map(grantJson);
    }), { key: 'client_grants' });
  }),
  route('POST', '/organizations/{id}/client-grants', async ({ env, params, body }) => {
    const org = await loadOrg(env, params.id);
    const grant = await loadClientGrant(env, body.grant_id);
    const saved = await setAssociation(env, grant.id, org.id, true, (cur) => {
      if (!['allow', 'require'].includes(cur.data.organization_usage)) {
        throw badRequest('The client grant must have organization_usage "allow" or "require" to be associated with an organization.', 'invalid_body');
      }
      if (associated(cur, org.id)) throw conflict('The client grant is already associated with this organization.', 'conflict');
    });
    // Auth0 names the grant `grant_id` in this answer; the spec (and SDKs built from it) read `id`.
    const { subject_type: _, ...out } = grantJson(saved);
    return reply(201, { grant_id: saved.id, ...out });
  }),
  route('DELETE', '/organizations/{id}/client-grants/{grant_id}', async ({ env, params }) => {
    const org = await loadOrg(env, params.id);
    const grant = await loadClientGrant(env, params.grant_id);
    await setAssociation(env, grant.id, org.id, false, (cur) => { if (!associated(cur, org.id)) throw notAssociated(); });
  }),
  route('GET', '/client-grants/{id}/organizations', async ({ env, params, query }) => {
    const grant = await loadClientGrant(env, params.id);
    return listResponse(query, inMemory(async () => {
      const ids: string[] = grant.data.organizations ?? [];
      const byId = new Map((await env.store.organizations.getMany(ids)).map((d) => [d.id, d]));
      return ids.filter((o) => byId.has(o)).map((o) => orgJson(byId.get(o)!));
    }), { key: 'organizations' });
  }),
];
