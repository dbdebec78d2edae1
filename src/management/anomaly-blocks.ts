import { isIP } from 'node:net';
import { badRequest, notFound } from '../lib/errors.ts';
import { ipBlocked, unblockIp } from '../store/login-failures.ts';
import { route, reply, type Route } from './router.ts';

// Addresses that suspicious-IP throttling blocked (tenant/ip-throttle.ts):
// 200 while one is, 404 otherwise; DELETE lifts the block and empties its count.

const checked = (ip: string) => {
  if (!isIP(ip)) throw badRequest('Invalid IP address specified.', 'invalid_uri');
  return ip;
};

export const anomalyBlockRoutes: Route[] = [
  route('GET', '/anomaly/blocks/ips/{id}', async ({ env, params }) => {
    // Any other id names no blocked address: the same 404 as every unknown resource.
    if (!isIP(params.id) || !(await ipBlocked(env.store, params.id))) throw notFound('IP address specified is not currently blocked.');
    return reply(200);
  }),
  route('DELETE', '/anomaly/blocks/ips/{id}', async ({ env, params }) => {
    await unblockIp(env.store, checked(params.id));
    return reply(204);
  }),
];
