import { notFound } from '../lib/errors.ts';
import { documentResource, type StoredDoc } from './document-resource.ts';
import type { Route } from './router.ts';

// Forms are stored as Auth0 takes them so that audits see them; Postern never
// renders one. The `hydrate` option (flow_count, links) is accepted and ignored:
// nothing here links forms to flows, and no form is ever embedded or submitted.

const formJson = ({ id, data, created_at, updated_at }: StoredDoc) => ({ id, ...data, created_at, updated_at });

export const formRoutes: Route[] = documentResource({
  repo: (env) => env.store.forms,
  path: '/forms',
  idPrefix: 'ap_',
  key: 'forms',
  missing: () => notFound('The form does not exist.', 'inexistent_form'),
  show: formJson,
  // Auth0 lists a summary of each form.
  summary: ({ id, data, created_at, updated_at }) => ({ id, name: data.name, created_at, updated_at }),
});
