import type Koa from 'koa';
import { parse, type Filter } from 'scim2-parse-filter';
import { UniqueViolation } from '../lib/errors.ts';
import { ids } from '../lib/ids.ts';
import * as groups from '../store/group-store.ts';
import type { GroupRow } from '../store/schema.ts';
import type { Env } from '../tenant/env.ts';
import { invalidFilter, invalidValue, ScimError, send } from './errors.ts';
import { readGroup, readGroupPatch, toGroupResource, type GroupChange } from './group-resource.ts';
import { paging, readScimBody } from './request.ts';
import type { Applied } from './resource.ts';

// The /Groups endpoints of one connection (RFC 7644 §3.3–3.6), as Okta's
// group push calls them. Only the connection's own groups are visible, and
// only its own users can be members: another connection's group is a 404 like
// a missing one, another connection's user a 400 like an unknown one.

const LIST_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const MAX_FILTER = 2048;

const applied = (ctx: Koa.Context): Applied => ctx.state.scim;
const baseUrl = (env: Env, a: Applied) => `${env.issuer}scim/v2/connections/${encodeURIComponent(a.conn.id)}`;
const groupNotFound = () => new ScimError(404, 'Group not found');
const nameTaken = (name: string) => new ScimError(409, `A group with displayName ${JSON.stringify(name)} already exists`, 'uniqueness');

async function render(env: Env, ctx: Koa.Context, g: GroupRow, withMembers = true) {
  const members = withMembers ? (await groups.groupMembers(env.store, g.id)).map((m) => m.user_id) : undefined;
  return toGroupResource(g, members, baseUrl(env, applied(ctx)));
}

async function load(env: Env, ctx: Koa.Context): Promise<GroupRow> {
  const g = await groups.getGroup(env.store, String(ctx.params.groupId));
  if (!g || g.connection !== applied(ctx).conn.id) throw groupNotFound();
  return g;
}

/** Members must be users (or linked identities) of this connection. */
async function requireMembers(env: Env, a: Applied, userIds: string[]) {
  const unique = [...new Set(userIds)];
  const found = new Set<string>();
  for (let i = 0; i < unique.length; i += 1000) {
    const rows = await env.store.usersQuery({ linked: true }).select('user_id')
      .where('connection', '=', a.conn.data.name).where('user_id', 'in', unique.slice(i, i + 1000)).execute();
    for (const r of rows) found.add(r.user_id);
  }
  const missing = unique.filter((u) => !found.has(u));
  if (missing.length) throw invalidValue(`Not users of this connection: ${missing.slice(0, 10).join(', ')}`);
}

/** `displayName eq "…"`, `externalId eq "…"`, `id eq "…"`, joined by `and`: what IdPs look groups up by. */
function groupFilter(text: string): groups.GroupFilter {
  if (text.length > MAX_FILTER) throw invalidFilter(`The filter is longer than ${MAX_FILTER} characters`);
  let ast: Filter;
  try { ast = parse(text); } catch { throw invalidFilter(`The filter ${JSON.stringify(text)} could not be parsed`); }
  const out: groups.GroupFilter = {};
  const columns: Record<string, 'name' | 'external_id' | 'id'> = { displayname: 'name', externalid: 'external_id', id: 'id' };
  const walk = (f: Filter) => {
    if (f.op === 'and') { f.filters.forEach(walk); return; }
    if (f.op !== 'eq') throw invalidFilter(`The operator ${JSON.stringify(f.op)} is not supported on groups; use eq, and`);
    const column = columns[f.attrPath.replace(/^urn:ietf:params:scim:schemas:core:2\.0:Group:/i, '').toLowerCase()];
    if (!column) throw invalidFilter(`Groups cannot be filtered by ${JSON.stringify(f.attrPath)}`);
    if (typeof f.compValue !== 'string') throw invalidFilter(`${f.attrPath} must be compared with a string`);
    // Two different values for one attribute match nothing; the impossible id stands for that.
    out[column] = out[column] === undefined || out[column] === f.compValue ? f.compValue : '\u0001';
  };
  walk(ast);
  return out;
}

/** `excludedAttributes=members`: Okta's group import reads the list without the members. */
const withoutMembers = (query: Koa.Context['query']) =>
  String(query.excludedAttributes ?? '').split(',').some((a) => a.trim().toLowerCase() === 'members');

export async function listGroups(env: Env, ctx: Koa.Context) {
  const a = applied(ctx);
  const { startIndex, count } = paging(ctx.query);
  const filter = ctx.query.filter;
  if (filter !== undefined && typeof filter !== 'string') throw invalidFilter('Give one filter');
  const where = { ...(filter ? groupFilter(filter) : {}), connection: a.conn.id };
  const r = await groups.listGroups(env.store, where, { offset: startIndex - 1, limit: count }, true);
  const members = !withoutMembers(ctx.query);
  send(ctx, 200, {
    schemas: [LIST_RESPONSE], totalResults: r.total, startIndex, itemsPerPage: r.items.length,
    Resources: await Promise.all(r.items.map((g) => render(env, ctx, g, members))),
  });
}

export async function createGroup(env: Env, ctx: Koa.Context) {
  const a = applied(ctx);
  const fields = readGroup(await readScimBody(ctx));
  await requireMembers(env, a, fields.members);
  let row: GroupRow;
  try {
    row = await groups.insertGroup(env.store, { id: ids.group(), connection: a.conn.id, name: fields.name, external_id: fields.external_id }, fields.members);
  } catch (e) { if (e instanceof UniqueViolation) throw nameTaken(fields.name); throw e; }
  const resource = await render(env, ctx, row);
  ctx.set('Location', resource.meta.location);
  send(ctx, 201, resource);
}

export async function getGroup(env: Env, ctx: Koa.Context) {
  send(ctx, 200, await render(env, ctx, await load(env, ctx), !withoutMembers(ctx.query)));
}

async function update(env: Env, ctx: Koa.Context, g: GroupRow, change: GroupChange) {
  const m = change.members;
  await requireMembers(env, applied(ctx), [...(m.replace ?? []), ...m.add]);
  try {
    if (!(await groups.updateGroup(env.store, g.id, change))) throw groupNotFound();
  } catch (e) { if (e instanceof UniqueViolation) throw nameTaken(change.name!); throw e; }
  send(ctx, 200, await render(env, ctx, (await groups.getGroup(env.store, g.id)) ?? g));
}

export async function replaceGroup(env: Env, ctx: Koa.Context) {
  const g = await load(env, ctx);
  const f = readGroup(await readScimBody(ctx));
  await update(env, ctx, g, { name: f.name, external_id: f.external_id, members: { replace: f.members, add: [], remove: [] } });
}

export async function patchGroup(env: Env, ctx: Koa.Context) {
  const g = await load(env, ctx);
  await update(env, ctx, g, readGroupPatch(await readScimBody(ctx)));
}

export async function deleteGroup(env: Env, ctx: Koa.Context) {
  const g = await load(env, ctx);
  await groups.deleteGroup(env.store, g.id);
  send(ctx, 204);
}
