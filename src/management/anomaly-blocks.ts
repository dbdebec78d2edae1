import { isIP } from 'node:net';
import { badRequest, notFound } from '../lib/errors.ts';
import { route, type Route } from './router.ts';

// IP addresses blocked by suspicious-IP throttling. The throttling blocks
// nothing yet, so no address is blocked: a check is always "not blocked" (for
// any id, as every other GET of an unknown resource), and an unblock has nothing
// to remove.

export const anomalyBlockRoutes: Route[] = [
  route('GET', '/anomaly/blocks/ips/{id}', async () => {
    throw notFound('IP address specified is not currently blocked.');
  }),
  route('DELETE', '/anomaly/blocks/ips/{id}', async ({ params }) => {
    if (!isIP(params.id)) throw badRequest('Invalid IP address specified.', 'invalid_uri');
  }),
];
