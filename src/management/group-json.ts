import { notFound } from '../lib/errors.ts';
import { getGroup } from '../store/group-store.ts';
import type { GroupRow } from '../store/schema.ts';
import type { Env } from '../tenant/env.ts';

// A group as the Management API shows it, and the lookups its routes share.

export const tenantName = async (env: Env) => (await env.store.getTenant())?.name ?? '';

/** Auth0's Group: every group here belongs to an enterprise connection. */
export const groupJson = (tenant: string) => (g: GroupRow) => ({
  id: g.id, name: g.name, ...(g.external_id !== null ? { external_id: g.external_id } : {}),
  connection_id: g.connection, tenant_name: tenant, created_at: g.created_at, updated_at: g.updated_at,
});

export const groupNotFound = () => notFound('The group does not exist.', 'inexistent_group');

export async function loadGroup(env: Env, id: string): Promise<GroupRow> {
  const g = await getGroup(env.store, id);
  if (!g) throw groupNotFound();
  return g;
}
