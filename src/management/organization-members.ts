import { addMembers, linkedUsersAfter, memberRoleIds, pageLinkedUsers, removeMembers, type UserSummary } from '../store/rbac-store.ts';
import type { Env } from '../tenant/env.ts';
import { bodyList } from './body-list.ts';
import { projector } from './fields.ts';
import { memberJson } from './members.ts';
import { loadOrg } from './organizations.ts';
import { decodeKeyCursor, encodeKeyCursor, listResponse } from './pagination.ts';
import { requireUsers } from './role-users.ts';
import { rolesByIds } from './roles.ts';
import { route, type Route } from './router.ts';

/** `roles` is only shown when `fields` asks for it; user_id always stays. */
function wantsRoles(query: Record<string, any>) {
  const fields = String(query.fields ?? '').split(',').map((f) => f.trim());
  const include = query.include_fields === undefined || String(query.include_fields) === 'true';
  return include && fields.includes('roles');
}

async function renderMembers(env: Env, orgId: string, users: UserSummary[], query: Record<string, any>) {
  const project = projector(query);
  const roleIds = wantsRoles(query) ? await memberRoleIds(env.store, orgId, users.map((u) => u.user_id)) : undefined;
  const roleDocs = roleIds ? new Map((await rolesByIds(env, [...new Set([...roleIds.values()].flat())])).map((r) => [r.id, r])) : undefined;
  return Promise.all(users.map(async (u) => {
    const m: Record<string, unknown> = memberJson(u);
    if (roleIds) m.roles = (roleIds.get(u.user_id) ?? []).map((r) => ({ id: r, name: roleDocs!.get(r)?.name }));
    return { user_id: u.user_id, ...project(m) };
  }));
}

export const organizationMemberRoutes: Route[] = [
  route('GET', '/organizations/{id}/members', async ({ env, params, query }) => {
    const org = await loadOrg(env, params.id);
    return listResponse(query, {
      async page(page, withTotal) {
        const r = await pageLinkedUsers(env.store, 'organization_members', 'org_id', org.id, page, withTotal);
        return { items: await renderMembers(env, org.id, r.items, query), total: r.total };
      },
      async after(cursor, limit) {
        const r = await linkedUsersAfter(env.store, 'organization_members', 'org_id', org.id, decodeKeyCursor(cursor), limit);
        return { items: await renderMembers(env, org.id, r.items, query), next: r.more ? encodeKeyCursor(r.items[r.items.length - 1].user_id) : undefined };
      },
    }, { key: 'members' });
  }),
  // Adding a member twice or removing a non-member is not an error (204).
  route('POST', '/organizations/{id}/members', async ({ env, params, body }) => {
    const org = await loadOrg(env, params.id);
    await requireUsers(env, body.members);
    await addMembers(env.store, org.id, [...new Set<string>(body.members)]);
  }),
  route('DELETE', '/organizations/{id}/members', async ({ env, params, body }) => {
    const org = await loadOrg(env, params.id);
    await removeMembers(env.store, org.id, bodyList(body, 'members'));
  }),
];
