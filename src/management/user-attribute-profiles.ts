import { readFileSync } from 'node:fs';
import { conflict, notFound } from '../lib/errors.ts';
import { route } from './router.ts';
import { collectionId, collectionRoutes, type CollectionResource } from './tenant-collection.ts';

// User attribute profiles (early access): how user attributes map to OIDC,
// SAML and SCIM, for self-service enterprise configuration. Stored and answered
// as Auth0 does, with Auth0's defaults for the user id's mappings; Postern's
// own SCIM and enterprise logins keep their own mappings and do not read these.

interface UserAttributeProfile { id: string; name: string; user_id: Record<string, unknown>; user_attributes: Record<string, unknown> }

/** Auth0's built-in templates, as its Management API answers them. */
const TEMPLATES: { id: string; display_name: string; template: Record<string, unknown> }[] =
  JSON.parse(readFileSync(new URL('../../data/user-attribute-profile-templates.json', import.meta.url), 'utf8'));

/** What Auth0 fills in for each user id mapping the body leaves out. */
const USER_ID_DEFAULTS = {
  oidc_mapping: 'sub',
  saml_mapping: [
    'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier',
    'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn',
    'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name',
  ],
  scim_mapping: 'externalId',
};
const userId = (given: Record<string, unknown> | null | undefined) => ({ ...USER_ID_DEFAULTS, ...(given ?? {}) });

function uniqueName(name: string, others: UserAttributeProfile[]) {
  if (others.some((o) => o.name === name)) throw conflict('A user attribute profile with the same name already exists.', 'user_attribute_profile_conflict');
  return name;
}

const userAttributeProfiles: CollectionResource<UserAttributeProfile> = {
  doc: 'user-attribute-profiles',
  missing: () => notFound('The user attribute profile does not exist.', 'inexistent_user_attribute_profile'),
  path: '/user-attribute-profiles',
  list: { kind: 'checkpoint', key: 'user_attribute_profiles' },
  show: (p) => p,
  create: ({ body }, others) => ({
    id: collectionId('uap_', 22), name: uniqueName(body.name, others), user_id: userId(body.user_id), user_attributes: body.user_attributes,
  }),
  // `user_id` and `user_attributes` replace the stored ones whole, as in Auth0.
  update: ({ body }, cur, others) => ({
    ...cur, ...(body.name !== undefined ? { name: uniqueName(body.name, others) } : {}),
    ...(body.user_id !== undefined ? { user_id: userId(body.user_id) } : {}),
    ...(body.user_attributes !== undefined ? { user_attributes: body.user_attributes } : {}),
  }),
};

const missingTemplate = () => notFound('The user attribute profile template does not exist.', 'inexistent_user_attribute_profile_template');

export const userAttributeProfileRoutes = [
  // Before `/{id}`, which would otherwise take `templates` for an id.
  route('GET', '/user-attribute-profiles/templates', async () => ({ user_attribute_profile_templates: TEMPLATES })),
  route('GET', '/user-attribute-profiles/templates/{id}', async ({ params }) => TEMPLATES.find((t) => t.id === params.id) ?? (() => { throw missingTemplate(); })()),
  ...collectionRoutes(userAttributeProfiles),
];
