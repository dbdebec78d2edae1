import { sql, type Transaction } from 'kysely';
import { UniqueViolation } from '../lib/errors.ts';
import { orgGroupIds, userOrgGroupRoleLinks } from './rbac-store.ts';
import type { Database, GroupRow } from './schema.ts';
import { isUniqueViolation, type Page, type Store } from './store.ts';

// Groups of enterprise connections, their members and their roles. Every
// function takes the tenant's Store. Membership and role links are
// idempotent (insert-or-ignore, delete-if-present), as the role links are:
// IdPs replay their pushes. A group's `updated_at` moves with its members.

const t = (s: Store) => s.tenantId;
const count = async (q: any) => Number((await q.select((eb: any) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
const now = () => new Date().toISOString();

async function guard<T>(p: Promise<T>): Promise<T> {
  try { return await p; } catch (e) { if (isUniqueViolation(e)) throw new UniqueViolation((e as Error).message); throw e; }
}

export interface GroupFilter { id?: string; connection?: string; name?: string; external_id?: string; search?: string }
export interface NewGroup { id: string; connection: string; name: string; external_id: string | null; data?: Record<string, unknown> }

// --- groups -------------------------------------------------------------------
export function getGroup(s: Store, id: string): Promise<GroupRow | undefined> {
  return s.db.selectFrom('groups').selectAll().where('tenant_id', '=', t(s)).where('id', '=', id).executeTakeFirst();
}
export function groupsByIds(s: Store, ids: string[]): Promise<GroupRow[]> {
  if (!ids.length) return Promise.resolve([]);
  return s.db.selectFrom('groups').selectAll().where('tenant_id', '=', t(s)).where('id', 'in', ids).orderBy('id').execute();
}
function groupsQuery(s: Store, f: GroupFilter) {
  let q = s.db.selectFrom('groups').where('tenant_id', '=', t(s));
  if (f.id !== undefined) q = q.where('id', '=', f.id);
  if (f.connection !== undefined) q = q.where('connection', '=', f.connection);
  if (f.name !== undefined) q = q.where('name', '=', f.name);
  if (f.external_id !== undefined) q = q.where('external_id', '=', f.external_id);
  if (f.search !== undefined) {
    // A substring of the name, any case; LIKE's wildcards in the text match only themselves.
    const pattern = `%${f.search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    q = q.where(sql<boolean>`lower(name) like ${pattern} escape '\\'`);
  }
  return q;
}
/** Groups matching `f`, oldest first (then by id, so pages are stable). */
export async function listGroups(s: Store, f: GroupFilter, page: Page, withTotal: boolean) {
  const items = await groupsQuery(s, f).selectAll().orderBy('created_at').orderBy('id').limit(page.limit).offset(page.offset).execute();
  return { items, total: withTotal ? await count(groupsQuery(s, f)) : undefined };
}
/** Inserts the group with its first members in one transaction; a taken name is a UniqueViolation. */
export async function insertGroup(s: Store, g: NewGroup, memberIds: string[] = []): Promise<GroupRow> {
  const ts = now();
  const row: GroupRow = { tenant_id: t(s), id: g.id, connection: g.connection, name: g.name, external_id: g.external_id, data: JSON.stringify(g.data ?? {}), created_at: ts, updated_at: ts };
  await guard(s.transaction(async (trx) => {
    await trx.insertInto('groups').values(row).execute();
    await insertMembers(trx, s, g.id, memberIds, ts);
  }));
  return row;
}
/**
 * Renames the group and changes its members in one transaction: `members`
 * either replaces the list or adds and removes. A taken name is a UniqueViolation.
 */
export async function updateGroup(s: Store, id: string, change: {
  name?: string; external_id?: string | null; members?: { replace?: string[]; add?: string[]; remove?: string[] };
}): Promise<boolean> {
  const ts = now();
  return guard(s.transaction(async (trx) => {
    const set: Partial<GroupRow> = { updated_at: ts };
    if (change.name !== undefined) set.name = change.name;
    if (change.external_id !== undefined) set.external_id = change.external_id;
    const r = await trx.updateTable('groups').set(set).where('tenant_id', '=', t(s)).where('id', '=', id).executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) return false;
    const m = change.members ?? {};
    if (m.replace) {
      await trx.deleteFrom('group_members').where('tenant_id', '=', t(s)).where('group_id', '=', id)
        .$if(m.replace.length > 0, (q) => q.where('user_id', 'not in', m.replace!)).execute();
      await insertMembers(trx, s, id, m.replace, ts);
    }
    if (m.remove?.length) {
      await trx.deleteFrom('group_members').where('tenant_id', '=', t(s)).where('group_id', '=', id).where('user_id', 'in', m.remove).execute();
    }
    await insertMembers(trx, s, id, m.add ?? [], ts);
    return true;
  }));
}
async function insertMembers(trx: Transaction<Database>, s: Store, groupId: string, userIds: string[], ts: string) {
  const unique = [...new Set(userIds)];
  // In slices: SQLite binds at most 32766 parameters in one statement.
  for (let i = 0; i < unique.length; i += 1000) {
    await trx.insertInto('group_members').values(unique.slice(i, i + 1000).map((u) => ({ tenant_id: t(s), group_id: groupId, user_id: u, created_at: ts })))
      .onConflict((oc) => oc.doNothing()).execute();
  }
}
/** The rows that name a group: its members, its roles, and its roles in organizations. */
const LINKS = ['group_members', 'group_roles', 'organization_group_roles'] as const;
/** The group with its members and role links, in one transaction. */
export async function deleteGroup(s: Store, id: string): Promise<boolean> {
  return s.transaction(async (trx) => {
    for (const table of LINKS) await trx.deleteFrom(table).where('tenant_id', '=', t(s)).where('group_id', '=', id).execute();
    const r = await trx.deleteFrom('groups').where('tenant_id', '=', t(s)).where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  });
}
/** What a connection's delete takes with it: its groups, their members and role links. */
export async function deleteConnectionGroups(trx: Transaction<Database>, tenantId: string, connectionId: string) {
  const ids = trx.selectFrom('groups').select('id').where('tenant_id', '=', tenantId).where('connection', '=', connectionId);
  for (const table of LINKS) await trx.deleteFrom(table).where('tenant_id', '=', tenantId).where('group_id', 'in', ids).execute();
  await trx.deleteFrom('groups').where('tenant_id', '=', tenantId).where('connection', '=', connectionId).execute();
}

// --- members --------------------------------------------------------------------
/** Every member's user id and since when, by user id (SCIM shows the whole list). */
export function groupMembers(s: Store, groupId: string, after?: string, limit?: number) {
  let q = s.db.selectFrom('group_members').select(['user_id', 'created_at']).where('tenant_id', '=', t(s)).where('group_id', '=', groupId);
  if (after !== undefined) q = q.where('user_id', '>', after);
  q = q.orderBy('user_id');
  return (limit !== undefined ? q.limit(limit) : q).execute();
}
function userGroupsQuery(s: Store, userId: string) {
  return s.db.selectFrom('group_members as m')
    .innerJoin('groups as g', (j) => j.onRef('g.tenant_id', '=', 'm.tenant_id').onRef('g.id', '=', 'm.group_id'))
    .where('m.tenant_id', '=', t(s)).where('m.user_id', '=', userId);
}
/** The groups a user is in, by group id, with when they joined. */
export async function listUserGroups(s: Store, userId: string, page: Page, withTotal: boolean) {
  const items = await userGroupsQuery(s, userId).selectAll('g').select('m.created_at as membership_created_at')
    .orderBy('g.id').limit(page.limit).offset(page.offset).execute();
  return { items, total: withTotal ? await count(userGroupsQuery(s, userId)) : undefined };
}

// --- roles ------------------------------------------------------------------------
/** A checkpoint page of a group's role ids (or a role's group ids), after `cursor` in id order. */
export async function linkedIdsAfter(s: Store, by: 'group_id' | 'role_id', value: string, cursor: string | undefined, limit: number) {
  const other = by === 'group_id' ? 'role_id' : 'group_id';
  let q = s.db.selectFrom('group_roles').select(other).where('tenant_id', '=', t(s)).where(by, '=', value);
  if (cursor !== undefined) q = q.where(other, '>', cursor);
  const rows = await q.orderBy(other).limit(limit + 1).execute();
  return { ids: rows.slice(0, limit).map((r) => (r as Record<string, string>)[other]), more: rows.length > limit };
}
export async function assignGroupRoles(s: Store, pairs: { group_id: string; role_id: string }[]) {
  if (!pairs.length) return;
  const ts = now();
  await s.db.insertInto('group_roles').values(pairs.map((p) => ({ tenant_id: t(s), ...p, created_at: ts })))
    .onConflict((oc) => oc.doNothing()).execute();
}
export async function unassignGroupRoles(s: Store, pairs: { group_id: string; role_id: string }[]) {
  for (const p of pairs) {
    await s.db.deleteFrom('group_roles').where('tenant_id', '=', t(s)).where('group_id', '=', p.group_id).where('role_id', '=', p.role_id).execute();
  }
}
/** The roles a user holds through groups, with the group each comes through. */
export function userGroupRoles(s: Store, userId: string) {
  return s.db.selectFrom('group_members as m')
    .innerJoin('group_roles as r', (j) => j.onRef('r.tenant_id', '=', 'm.tenant_id').onRef('r.group_id', '=', 'm.group_id'))
    .select(['r.role_id', 'r.group_id']).where('m.tenant_id', '=', t(s)).where('m.user_id', '=', userId)
    .orderBy('r.role_id').orderBy('r.group_id').execute();
}
/** Permissions a user holds through their groups' roles, with the role they come from. */
export function listUserGroupRolePermissions(s: Store, userId: string, audience: string) {
  return s.db.selectFrom('role_permissions as rp').select(['rp.role_id', 'rp.resource_server_identifier', 'rp.permission_name'])
    .where('rp.tenant_id', '=', t(s)).where('rp.resource_server_identifier', '=', audience)
    .where('rp.role_id', 'in', (eb) => eb.selectFrom('group_roles as r').select('r.role_id').where('r.tenant_id', '=', t(s))
      .where('r.group_id', 'in', (g) => g.selectFrom('group_members').select('group_id').where('tenant_id', '=', t(s)).where('user_id', '=', userId)))
    .execute();
}

// --- organization groups ------------------------------------------------------------
// An organization's groups are those of its enabled connections (orgGroupIds);
// roles given to one of them in the organization are held there by the
// group's members who are members of the organization.

/** A checkpoint page of the organization's groups, after `cursor` in id order. */
export async function orgGroupsAfter(s: Store, orgId: string, cursor: string | undefined, limit: number) {
  let q = s.db.selectFrom('groups').selectAll().where('tenant_id', '=', t(s)).where('id', 'in', orgGroupIds(s, orgId));
  if (cursor !== undefined) q = q.where('id', '>', cursor);
  const rows = await q.orderBy('id').limit(limit + 1).execute();
  return { items: rows.slice(0, limit), more: rows.length > limit };
}
/** The group, if it is one of the organization's. */
export function getOrgGroup(s: Store, orgId: string, groupId: string): Promise<GroupRow | undefined> {
  return s.db.selectFrom('groups').selectAll().where('tenant_id', '=', t(s)).where('id', '=', groupId)
    .where('id', 'in', orgGroupIds(s, orgId)).executeTakeFirst();
}
/**
 * A checkpoint page of the role ids given to a group in the organization (or
 * of the organization's groups given a role), after `cursor` in id order.
 */
export async function orgLinkedIdsAfter(s: Store, orgId: string, by: 'group_id' | 'role_id', value: string, cursor: string | undefined, limit: number) {
  const other = by === 'group_id' ? 'role_id' : 'group_id';
  let q = s.db.selectFrom('organization_group_roles').select(other).where('tenant_id', '=', t(s)).where('org_id', '=', orgId).where(by, '=', value);
  if (by === 'role_id') q = q.where('group_id', 'in', orgGroupIds(s, orgId));
  if (cursor !== undefined) q = q.where(other, '>', cursor);
  const rows = await q.orderBy(other).limit(limit + 1).execute();
  return { ids: rows.slice(0, limit).map((r) => (r as Record<string, string>)[other]), more: rows.length > limit };
}
export async function assignOrgGroupRoles(s: Store, orgId: string, groupId: string, roleIds: string[]) {
  if (!roleIds.length) return;
  const ts = now();
  await s.db.insertInto('organization_group_roles').values([...new Set(roleIds)].map((r) => ({ tenant_id: t(s), org_id: orgId, group_id: groupId, role_id: r, created_at: ts })))
    .onConflict((oc) => oc.doNothing()).execute();
}
export async function unassignOrgGroupRoles(s: Store, orgId: string, groupId: string, roleIds: string[]) {
  if (!roleIds.length) return;
  await s.db.deleteFrom('organization_group_roles').where('tenant_id', '=', t(s)).where('org_id', '=', orgId).where('group_id', '=', groupId)
    .where('role_id', 'in', roleIds).execute();
}
/** The roles a user holds in the organization through its groups, with the group each comes through (membership is the caller's check). */
export function memberOrgGroupRoles(s: Store, orgId: string, userId: string) {
  return userOrgGroupRoleLinks(s, orgId, userId).select(['role_id', 'group_id']).orderBy('role_id').orderBy('group_id').execute();
}
