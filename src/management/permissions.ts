import { badRequest, notFound } from '../lib/errors.ts';
import type { Permission } from '../store/rbac-store.ts';
import type { Env } from '../tenant/env.ts';

// Permissions are an API identifier plus one of that API's scopes; both the
// role and the user permission endpoints check and render them the same way.

async function apisByIdentifier(env: Env) {
  return new Map((await env.store.resourceServers.list()).items.map((d) => [d.data.identifier as string, d.data]));
}

/** Fails unless every permission names an existing API and a scope it defines. */
export async function checkPermissions(env: Env, perms: Permission[]) {
  const apis = await apisByIdentifier(env);
  for (const p of perms) {
    const api = apis.get(p.resource_server_identifier);
    if (!api) throw notFound(`Resource server ${p.resource_server_identifier} does not exist`, 'inexistent_resource_server');
    if (!(api.scopes ?? []).some((s: any) => s.value === p.permission_name)) {
      throw badRequest(`Permission ${p.permission_name} does not exist on resource server ${p.resource_server_identifier}`, 'invalid_body');
    }
  }
}

/** A renderer adding the API's name and the scope's description, as Auth0 lists permissions. */
export async function permissionRenderer(env: Env) {
  const apis = await apisByIdentifier(env);
  return (p: Permission) => {
    const api = apis.get(p.resource_server_identifier);
    const scope = (api?.scopes ?? []).find((s: any) => s.value === p.permission_name);
    return {
      permission_name: p.permission_name,
      description: scope?.description ?? '',
      resource_server_name: api?.name ?? p.resource_server_identifier,
      resource_server_identifier: p.resource_server_identifier,
    };
  };
}
