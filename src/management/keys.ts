import { notFound } from '../lib/errors.ts';
import { reply, route, type Route } from './router.ts';

export const keyRoutes: Route[] = [
  route('GET', '/keys/signing', async ({ env }) => {
    await env.keys.load();
    return env.keys.keys.map((k) => env.keys.describe(k));
  }),
  route('GET', '/keys/signing/{kid}', async ({ env, params }) => {
    await env.keys.load();
    const k = env.keys.keys.find((x) => x.row.kid === params.kid);
    if (!k) throw notFound('Signing key not found');
    return env.keys.describe(k);
  }),
  route('POST', '/keys/signing/rotate', async ({ env }) => {
    const r = await env.keys.rotate();
    env.invalidate('keys');
    return reply(201, r);
  }),
  route('PUT', '/keys/signing/{kid}/revoke', async ({ env, params }) => {
    const r = await env.keys.revoke(params.kid);
    env.invalidate('keys');
    return r;
  }),
];
