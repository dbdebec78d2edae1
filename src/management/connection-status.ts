import { notFound } from '../lib/errors.ts';
import { ENTERPRISE_STRATEGIES } from '../tenant/federated-users.ts';
import { loadConnection } from './connections.ts';
import { reply, route, type Route } from './router.ts';

// Whether a connection is online. Auth0 asks an AD/LDAP connector; Postern has
// none, and serves logins itself for its database and enterprise strategies,
// which are online whenever it answers. Any other strategy (AD/LDAP, social,
// SAML...) can be stored but nothing logs in through it, so it is offline: a
// 404 with a message, as Auth0 answers an offline connection.

const online = (strategy: string) => strategy === 'auth0' || ENTERPRISE_STRATEGIES.has(strategy);

export const connectionStatusRoutes: Route[] = [
  route('GET', '/connections/{id}/status', async ({ env, params }) => {
    const conn = await loadConnection(env, params.id);
    if (!online(conn.data.strategy)) throw notFound(`The connection is offline: Postern serves no logins through the ${conn.data.strategy} strategy.`, 'connection_offline');
    // The spec's 200 has no body.
    return reply(200, '');
  }),
];
