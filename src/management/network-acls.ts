import { badRequest, conflict, notFound } from '../lib/errors.ts';
import type { OpContext } from './router.ts';
import { collectionId, collectionRoutes, type CollectionResource } from './tenant-collection.ts';

// Tenant access control lists, stored and answered as Auth0 does. Postern
// does not evaluate them: no request is blocked, allowed, logged or redirected
// by a network ACL. Priorities are unique, checked in the same conditional
// write that stores an ACL.

interface NetworkAcl {
  id: string; description: string; active: boolean; priority: number;
  rule: { action: Record<string, unknown>; scope: string; match?: Record<string, unknown[]>; not_match?: Record<string, unknown[]> };
  created_at: string; updated_at: string;
}

const MAX_DESCRIPTION = 255;
const MAX_ENTRIES = 10; // Auth0's limit of values per signal
const ACTIONS = ['block', 'allow', 'log', 'redirect'];

const bad = (why: string) => badRequest(`Payload validation error: ${why}`);

/** What the schema cannot say: one action, a redirect with its URI, a condition, Auth0's list sizes. */
function checkRule(rule: NetworkAcl['rule']) {
  const actions = ACTIONS.filter((a) => rule.action[a] === true);
  if (actions.length !== 1) throw bad(`A rule must have exactly one action type of ${ACTIONS.join(', ')}`);
  if (actions[0] === 'redirect' && !rule.action.redirect_uri) throw bad('Action type of `redirect` requires a `redirect_uri`');
  if (actions[0] !== 'redirect' && rule.action.redirect_uri !== undefined) throw bad('Only an action type of `redirect` takes a `redirect_uri`');
  const conditions = [rule.match, rule.not_match].filter((c) => c && Object.keys(c).length);
  if (!conditions.length) throw bad('A rule must have a `match` or a `not_match` condition');
  for (const [which, c] of [['match', rule.match], ['not_match', rule.not_match]] as const) {
    for (const [signal, values] of Object.entries(c ?? {})) {
      if (values.length > MAX_ENTRIES) throw bad(`At most ${MAX_ENTRIES} values are allowed in rule.${which}.${signal}`);
    }
  }
}

function checked(acl: NetworkAcl, others: NetworkAcl[]): NetworkAcl {
  if (typeof acl.description !== 'string' || acl.description.length > MAX_DESCRIPTION) {
    throw badRequest(`Payload validation error: 'String is too long (${String(acl.description?.length)} chars), maximum ${MAX_DESCRIPTION}' on property description.`);
  }
  checkRule(acl.rule);
  if (others.some((o) => o.priority === acl.priority)) throw conflict(`A network ACL with priority ${acl.priority} already exists.`);
  return acl;
}

/** PUT and POST take the whole ACL; a missing priority is Auth0's default. */
const whole = (body: any) => ({ description: body.description, active: body.active, priority: body.priority ?? 50, rule: body.rule });

const aclJson = (a: NetworkAcl) => ({
  id: a.id, description: a.description, active: a.active, priority: a.priority, rule: a.rule, created_at: a.created_at, updated_at: a.updated_at,
});

const networkAcls: CollectionResource<NetworkAcl> = {
  doc: 'network-acls',
  missing: () => notFound('NetworkACL with this ID was not found', 'inexistent_network_acl'),
  path: '/network-acls',
  list: { kind: 'offset', key: 'network_acls' },
  show: aclJson,
  // A single read also names the tenant, and (as Auth0's soft deletes do) when it was deleted.
  showOne: async (a, env) => ({ tenant_id: (await env.store.getTenant())?.name ?? env.store.tenantId, ...aclJson(a), deleted_at: null }),
  create({ body }: OpContext, others) {
    const now = new Date().toISOString();
    return checked({ id: collectionId('acl_', 22), ...whole(body), created_at: now, updated_at: now }, others);
  },
  update({ body }, cur, others) {
    const next = { ...cur, updated_at: new Date().toISOString() };
    for (const k of ['description', 'active', 'priority', 'rule'] as const) if (body[k] !== undefined) (next as any)[k] = body[k];
    return checked(next, others);
  },
  replace: ({ body }, cur, others) => checked({ ...cur, ...whole(body), updated_at: new Date().toISOString() }, others),
};

export const networkAclRoutes = collectionRoutes(networkAcls);
