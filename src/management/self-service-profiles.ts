import { notFound } from '../lib/errors.ts';
import { documentResource, loadDocument, type DocumentResource, type StoredDoc } from './document-resource.ts';
import { patchDoc } from './patch-doc.ts';
import { route, type Route } from './router.ts';

// Self-service SSO profiles as Auth0 keeps them (their access tickets are in
// self-service-sso-tickets.ts). A profile's custom text lives inside its
// document, under `custom_text`, and goes when the profile goes.

const profileJson = ({ id, data, created_at, updated_at }: StoredDoc) => {
  const { custom_text: _, ...fields } = data;
  return { id, ...fields, user_attributes: fields.user_attributes ?? [], created_at, updated_at };
};

export const profiles: DocumentResource = {
  repo: (env) => env.store.selfServiceProfiles,
  path: '/self-service-profiles',
  idPrefix: 'ssp_',
  key: 'self_service_profiles',
  missing: () => notFound('The self-service profile does not exist.', 'inexistent_self_service_profile'),
  show: profileJson,
};
const CUSTOM_TEXT = '/self-service-profiles/{id}/custom-text/{language}/{page}';

export const selfServiceProfileRoutes: Route[] = [
  ...documentResource(profiles),
  // The language and page are the spec's enums, checked by the router before this runs.
  route('GET', CUSTOM_TEXT, async ({ env, params }) =>
    (await loadDocument(profiles, env, params.id)).data.custom_text?.[params.language]?.[params.page] ?? {}),
  route('PUT', CUSTOM_TEXT, async ({ env, params, body }) => {
    const doc = await loadDocument(profiles, env, params.id);
    const saved = await patchDoc(profiles.repo(env), doc.id, () => loadDocument(profiles, env, doc.id), (cur) => {
      const texts = cur.data.custom_text ?? {};
      const language = { ...texts[params.language], [params.page]: body };
      return { data: { ...cur.data, custom_text: { ...texts, [params.language]: language } } };
    });
    return saved.data.custom_text[params.language][params.page];
  }),
];
