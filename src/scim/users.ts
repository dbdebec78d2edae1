import type Koa from 'koa';
import type { UserRow } from '../store/schema.ts';
import type { Env } from '../tenant/env.ts';
import { createFederatedUser, federatedUserId, findFederatedUser, syncFederatedUser } from '../tenant/federated-users.ts';
import { unlinkAccount } from '../tenant/account-linking.ts';
import { ScimError, send, userNotFound } from './errors.ts';
import { attributeEquals, compileFilter } from './filter.ts';
import { applyPatch } from './patch.ts';
import { CORE_USER, getPath } from './paths.ts';
import { paging, readScimBody, requireSchema } from './request.ts';
import { subOf, toProfile, toResource, type Applied } from './resource.ts';
import { removeUser } from '../tenant/user-events.ts';

// The /Users endpoints of one connection (RFC 7644 §3.3–3.6), as Okta's and
// Entra ID's provisioning clients call them. Only the connection's own users
// are visible: every lookup is scoped to it, and another connection's user is
// a 404 like a missing one.

const LIST_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const MAX_ID = 1024;

const applied = (ctx: Koa.Context): Applied => ctx.state.scim;
/** Where the connection's SCIM endpoint is, as Auth0 hands it to the IdP. */
const baseUrl = (env: Env, a: Applied) => `${env.issuer}scim/v2/connections/${encodeURIComponent(a.conn.id)}`;
const render = (env: Env, a: Applied, row: UserRow) => toResource(a, row, baseUrl(env, a));
const subOfRow = (a: Applied, row: UserRow) => row.user_id.slice(federatedUserId(a.conn, '').length);

async function load(env: Env, ctx: Koa.Context): Promise<UserRow> {
  const id = String(ctx.params.userId);
  // SCIM speaks of the connection's identities, linked into other users or not.
  const row = id.length <= MAX_ID ? await env.store.getUser(id, { linked: true }) : undefined;
  if (!row || row.connection !== applied(ctx).conn.data.name) throw userNotFound();
  return row;
}

/** SCIM's userName is unique within the connection (RFC 7643 §4.1.1). */
async function checkUserName(env: Env, a: Applied, resource: Record<string, any>, self?: string) {
  const userName = getPath(resource, { attr: 'userName' });
  if (typeof userName !== 'string' || !userName) throw new ScimError(400, 'userName is required', 'invalidValue');
  const same = attributeEquals(a, env.store.backend, 'userName', userName);
  if (!same) return;
  let q = env.store.usersQuery({ linked: true }).select('user_id').where('connection', '=', a.conn.data.name).where(same);
  if (self) q = q.where('user_id', '!=', self);
  if (await q.executeTakeFirst()) throw new ScimError(409, `A user with userName ${JSON.stringify(userName)} already exists`, 'uniqueness');
}

export async function listUsers(env: Env, ctx: Koa.Context) {
  const a = applied(ctx);
  const { startIndex, count } = paging(ctx.query);
  const filter = ctx.query.filter;
  if (filter !== undefined && typeof filter !== 'string') throw new ScimError(400, 'Give one filter', 'invalidFilter');
  const where = filter ? compileFilter(a, env.store.backend, filter) : undefined;
  const base = () => {
    const q = env.store.usersQuery({ linked: true }).where('connection', '=', a.conn.data.name);
    return where ? q.where(where) : q;
  };
  const total = Number((await base().select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  // Creation order, with the id to break ties: the order Okta's paged import needs to stay stable.
  const rows = count && startIndex <= total
    ? await base().selectAll().orderBy('created_at').orderBy('user_id').limit(count).offset(startIndex - 1).execute()
    : [];
  send(ctx, 200, {
    schemas: [LIST_RESPONSE], totalResults: total, startIndex, itemsPerPage: rows.length,
    Resources: rows.map((r) => render(env, a, r)),
  });
}

export async function createUser(env: Env, ctx: Koa.Context) {
  const a = applied(ctx);
  const body = await readScimBody(ctx);
  requireSchema(body, CORE_USER);
  await checkUserName(env, a, body);
  const sub = subOf(a, body);
  const profile = toProfile(a, body, 'create', sub);
  if (await findFederatedUser(env, a.conn, sub)) throw new ScimError(409, `A user with ${a.userIdAttribute} ${JSON.stringify(sub)} already exists`, 'uniqueness');
  const row = await createFederatedUser(env, a.conn, sub, profile);
  const resource = render(env, a, row);
  ctx.set('Location', resource.meta.location);
  send(ctx, 201, resource);
}

export async function getUser(env: Env, ctx: Koa.Context) {
  send(ctx, 200, render(env, applied(ctx), await load(env, ctx)));
}

/** PUT, and PATCH once applied: the resource replaces the user's mapped attributes. */
async function replace(env: Env, ctx: Koa.Context, row: UserRow, resource: Record<string, any>) {
  const a = applied(ctx);
  await checkUserName(env, a, resource, row.user_id);
  const saved = await syncFederatedUser(env, row, toProfile(a, resource, 'replace', subOfRow(a, row)));
  send(ctx, 200, render(env, a, saved));
}

export async function replaceUser(env: Env, ctx: Koa.Context) {
  const row = await load(env, ctx);
  const body = await readScimBody(ctx);
  requireSchema(body, CORE_USER);
  await replace(env, ctx, row, body);
}

export async function patchUser(env: Env, ctx: Koa.Context) {
  const row = await load(env, ctx);
  const body = await readScimBody(ctx);
  await replace(env, ctx, row, applyPatch(render(env, applied(ctx), row), body));
}

export async function deleteUser(env: Env, ctx: Koa.Context) {
  const row = await load(env, ctx);
  // A linked identity leaves its primary first, then goes; deleting it never deletes the primary.
  if (row.linked_to) await unlinkAccount(env, row.linked_to, row.provider, row.user_id.slice(row.provider.length + 1));
  await removeUser(env, row.user_id);
  send(ctx, 204);
}
