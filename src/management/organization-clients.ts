import { badRequest, conflict, notFound } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';
import { loadOrg } from './organizations.ts';
import { reply, route, type Route } from './router.ts';
import { bodyCheck, closedObject } from './sdk-body-schema.ts';
import { changeItem, changeItems, checkpointList, findItem, listItems, type Collection } from './tenant-collection.ts';

// The applications associated with an organization (Auth0's per-application
// access, early access), with each association's `use_for_member_access`.
// Stored and answered as Auth0 does; login does not consult them yet (the
// organization's switch that turns them on, is_app_entitlement_active, is not
// in the shared spec). All associations are one tenant document, so the limit
// per organization and the duplicate check land in the same conditional write.
// Deleting the organization or the application removes its associations;
// reads also skip any whose application is gone.

interface Association { id: string; organization_id: string; client_id: string; use_for_member_access: boolean; created_at: string }

const MAX_PER_ORGANIZATION = 100; // Auth0's early-access limit of associated applications
const notAssociated = () => notFound('The client is not associated with this organization.', 'inexistent_organization_client');
const associations: Collection<Association> = { doc: 'organization-clients', missing: notAssociated };
const key = (orgId: string, clientId: string) => `${orgId} ${clientId}`;

const CLIENT_ID = { type: 'string', minLength: 1 };
const checkCreate = bodyCheck(closedObject({
  clients: {
    type: 'array', minItems: 1, maxItems: MAX_PER_ORGANIZATION,
    items: closedObject({ client_id: CLIENT_ID, use_for_member_access: { type: 'boolean' } }, ['client_id', 'use_for_member_access']),
  },
}, ['clients']));
const checkDelete = bodyCheck(closedObject({ clients: { type: 'array', minItems: 1, maxItems: MAX_PER_ORGANIZATION, items: CLIENT_ID } }, ['clients']));
const checkPatch = bodyCheck(closedObject({ use_for_member_access: { type: 'boolean' } }));

type ClientDoc = { id: string; data: any };
/** What Auth0 shows of the application (OrganizationClientMetadata). */
function clientMetadata({ data }: ClientDoc) {
  const out: Record<string, unknown> = {};
  for (const k of ['name', 'app_type', 'logo_uri', 'is_first_party', 'grant_types', 'organization_usage']) if (data[k] !== undefined) out[k] = data[k];
  return out;
}
const associationJson = (a: Association, client: ClientDoc) =>
  ({ client_id: a.client_id, use_for_member_access: a.use_for_member_access, client: clientMetadata(client) });

/** The organization's associations whose application still exists, each with it. */
async function withClients(env: Env, items: Association[]) {
  const clients = new Map((await env.store.clients.getMany(items.map((a) => a.client_id))).map((c) => [c.id, c]));
  return items.filter((a) => clients.has(a.client_id)).map((a) => associationJson(a, clients.get(a.client_id)!));
}
async function loadAssociation(env: Env, orgId: string, clientId: string) {
  const a = await findItem(env, associations, key(orgId, clientId));
  const [shown] = await withClients(env, [a]);
  if (!shown) throw notAssociated();
  return shown;
}

/** Removes the associations `gone` picks; no write when there are none. */
async function forget(env: Env, gone: (a: Association) => boolean) {
  if (!(await listItems(env, associations)).some(gone)) return;
  await changeItems(env, associations, (all) => all.filter((a) => !gone(a)));
}
export const forgetOrganizationClients = (env: Env, orgId: string) => forget(env, (a) => a.organization_id === orgId);
export const forgetClientOrganizations = (env: Env, clientId: string) => forget(env, (a) => a.client_id === clientId);

export const organizationClientRoutes: Route[] = [
  route('GET', '/organizations/{id}/clients', async ({ env, params, query }) => {
    const org = await loadOrg(env, params.id);
    // Auth0 caps `take` at 100 rather than refusing more.
    const take = query.take !== undefined && Number(query.take) > 100 ? 100 : query.take;
    return checkpointList({ from: query.from, take }, async () =>
      withClients(env, (await listItems(env, associations)).filter((a) => a.organization_id === org.id)), 'clients');
  }),
  route('POST', '/organizations/{id}/clients', async ({ env, params, body }) => {
    const org = await loadOrg(env, params.id);
    const wanted: { client_id: string; use_for_member_access: boolean }[] = checkCreate(body).clients;
    const ids = wanted.map((c) => c.client_id);
    const dup = ids.find((c, i) => ids.indexOf(c) !== i);
    if (dup) throw badRequest(`Payload validation error: 'The client ${dup} is listed more than once' on property clients.`);
    const found = new Map((await env.store.clients.getMany(ids)).map((c) => [c.id, c]));
    const missing = ids.filter((c) => !found.has(c));
    if (missing.length) throw notFound(`The client does not exist: ${missing.join(', ')}`, 'inexistent_client');
    const now = new Date().toISOString();
    const made = wanted.map((c): Association => ({ id: key(org.id, c.client_id), organization_id: org.id, client_id: c.client_id, use_for_member_access: c.use_for_member_access, created_at: now }));
    await changeItems(env, associations, (all) => {
      const held = all.filter((a) => a.organization_id === org.id);
      const taken = made.find((m) => held.some((a) => a.id === m.id));
      if (taken) throw conflict(`The client ${taken.client_id} is already associated with this organization.`);
      if (held.length + made.length > MAX_PER_ORGANIZATION) {
        throw badRequest(`An organization can have at most ${MAX_PER_ORGANIZATION} associated clients.`, 'too_many_entities');
      }
      return [...all, ...made];
    });
    return reply(201, made.map((a) => associationJson(a, found.get(a.client_id)!)));
  }),
  // Naming an application that is not associated is not an error, as removing a non-member is not.
  route('DELETE', '/organizations/{id}/clients', async ({ env, params, body }) => {
    const org = await loadOrg(env, params.id);
    const gone = new Set(checkDelete(body).clients.map((c: string) => key(org.id, c)));
    await forget(env, (a) => gone.has(a.id));
  }),
  route('GET', '/organizations/{id}/clients/{client_id}', async ({ env, params }) =>
    loadAssociation(env, (await loadOrg(env, params.id)).id, params.client_id)),
  route('PATCH', '/organizations/{id}/clients/{client_id}', async ({ env, params, body }) => {
    const org = await loadOrg(env, params.id);
    await loadAssociation(env, org.id, params.client_id); // 404 before the body is judged, as elsewhere
    const b = checkPatch(body);
    await changeItem(env, associations, key(org.id, params.client_id), (cur) => ({ ...cur, ...b }));
    return loadAssociation(env, org.id, params.client_id);
  }),
];
