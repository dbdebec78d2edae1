import { badRequest, conflict, notFound } from '../lib/errors.ts';
import { collectionId, collectionRoutes, type CollectionResource } from './tenant-collection.ts';

// Rate limit policies (early access) for the Authentication API, stored and
// answered as Auth0 does. Postern does not apply them: its token endpoint is
// not limited per client by these policies. One policy per resource, consumer
// and consumer selector, checked in the write that stores it.

interface RateLimitPolicy {
  id: string; resource: string; consumer: string; consumer_selector: string;
  configuration: Record<string, unknown>; created_at: string; updated_at: string;
}

const sameTarget = (a: RateLimitPolicy, b: Pick<RateLimitPolicy, 'resource' | 'consumer' | 'consumer_selector'>) =>
  a.resource === b.resource && a.consumer === b.consumer && a.consumer_selector === b.consumer_selector;

const rateLimitPolicies: CollectionResource<RateLimitPolicy> = {
  doc: 'rate-limit-policies',
  missing: () => notFound('The rate limit policy does not exist.', 'inexistent_rate_limit_policy'),
  path: '/rate-limit-policies',
  list: { kind: 'checkpoint', key: 'rate_limit_policies' },
  filter: (p, q) => ['resource', 'consumer', 'consumer_selector'].every((k) => q[k] === undefined || (p as any)[k] === q[k]),
  show: (p) => p,
  // A selector other than `default` names one of the tenant's applications.
  async prepare({ env, body }) {
    if (body.consumer_selector === undefined || body.consumer_selector === 'default') return;
    if (!(await env.store.clients.get(body.consumer_selector))) {
      throw badRequest(`Payload validation error: 'The client ${body.consumer_selector} does not exist' on property consumer_selector.`);
    }
  },
  create({ body }, others) {
    if (others.some((o) => sameTarget(o, body))) {
      throw conflict('A rate limit policy already exists for this resource, consumer and consumer_selector.');
    }
    const now = new Date().toISOString();
    return {
      id: collectionId('rlp_', 21), resource: body.resource, consumer: body.consumer, consumer_selector: body.consumer_selector,
      configuration: body.configuration, created_at: now, updated_at: now,
    };
  },
  update: ({ body }, cur) => ({ ...cur, configuration: body.configuration, updated_at: new Date().toISOString() }),
};

export const rateLimitPolicyRoutes = collectionRoutes(rateLimitPolicies);
