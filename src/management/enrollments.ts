import { notFound } from '../lib/errors.ts';
import { loadUser } from '../tenant/users.ts';
import { route, type Route } from './router.ts';

// Guardian (MFA) enrollments. Postern has no MFA, so no enrollment exists: a
// user has none, and no enrollment id is known.

export const enrollmentRoutes: Route[] = [
  route('GET', '/users/{id}/enrollments', async ({ env, params }) => {
    await loadUser(env, params.id);
    return [];
  }),
  route('GET', '/guardian/enrollments/{id}', async () => {
    throw notFound('The enrollment does not exist.', 'inexistent_enrollment');
  }),
];
