import { badRequest, notFound } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';
import { loadOrg } from './organizations.ts';
import { patchDoc } from './patch-doc.ts';
import { route, type Route } from './router.ts';

// Which organization template (early access) an organization is assigned. The
// templates themselves are managed elsewhere in Auth0 and not in Postern, so the
// assignment keeps the template's id, on the organization's document.

const noTemplate = () => notFound('No organization template is assigned to this organization.', 'inexistent_organization_template');
// An identifier, as Auth0's ids are; anything else cannot name a template.
const TEMPLATE_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Sets (or, with undefined, removes) the assignment; `check` sees the current one first. */
async function assign(env: Env, orgId: string, template: { id: string } | undefined, check: (cur?: { id: string }) => void = () => {}) {
  const org = await loadOrg(env, orgId);
  await patchDoc(env.store.organizations, org.id, () => loadOrg(env, org.id), (cur) => {
    const { organization_template: held, ...data } = cur.data;
    check(held);
    return { data: template ? { ...data, organization_template: template } : data };
  });
}

export const organizationTemplateRoutes: Route[] = [
  route('GET', '/organizations/{id}/organization-templates', async ({ env, params }) => {
    const template = (await loadOrg(env, params.id)).data.organization_template;
    if (!template) throw noTemplate();
    return { id: template.id };
  }),
  route('PUT', '/organizations/{id}/organization-templates/{template_id}', async ({ env, params }) => {
    if (!TEMPLATE_ID.test(params.template_id)) throw badRequest('Path validation error: \'template_id\' is not a valid organization template id.', 'invalid_uri');
    await assign(env, params.id, { id: params.template_id });
  }),
  route('DELETE', '/organizations/{id}/organization-templates/{template_id}', async ({ env, params }) => {
    await assign(env, params.id, undefined, (held) => { if (held?.id !== params.template_id) throw noTemplate(); });
  }),
];
