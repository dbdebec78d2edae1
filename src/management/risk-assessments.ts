import { ApiError, notFound } from '../lib/errors.ts';
import { loadUser } from '../tenant/users.ts';
import { route, type Route } from './router.ts';
import { singleton } from './singleton.ts';

// Risk assessment settings, with the values a new tenant starts with. Stored
// and answered; Postern assesses no login's risk and remembers no device, so
// clearing a user's assessors checks the request as Auth0 does and then has
// nothing to forget.
export const riskAssessmentRoutes: Route[] = [
  ...singleton({ path: '/risk-assessments/settings', doc: 'risk_assessments.settings', defaults: { enabled: false } }),
  ...singleton({ path: '/risk-assessments/settings/new-device', doc: 'risk_assessments.new_device', defaults: { remember_for: 30 } }),
  route('POST', '/users/{id}/risk-assessments/clear', async ({ env, params, body }) => {
    const user = await loadUser(env, params.id);
    if (!(await env.store.connections.findBy('name', body.connection))) {
      throw new ApiError(400, 'The connection does not exist.', 'inexistent_connection');
    }
    // The connection names where the user is known; one the user has no identity in holds no such user.
    if (!JSON.parse(user.identities).some((i: { connection: string }) => i.connection === body.connection)) {
      throw notFound('The user does not exist in this connection.', 'inexistent_user');
    }
  }),
];
