import { sql } from 'kysely';
import { invalidQuery, requireQuery } from '../lib/errors.ts';
import { compileUserSearch, compileUserSort } from '../store/user-search.ts';
import { loadUser, updateUser, userJson } from '../tenant/users.ts';
import { passwordChanged, registerUser } from '../actions/registration.ts';
import { removeUser } from '../tenant/user-events.ts';
import { listResponse } from './pagination.ts';
import { projector } from './fields.ts';
import { reply, route, type Route } from './router.ts';

// Auth0 search v3 pages only through the first 1000 results.
const SEARCH_WINDOW = 1000;

export const userRoutes: Route[] = [
  route('GET', '/users', async ({ env, query }) => {
    if (query.search_engine && query.search_engine !== 'v3') throw invalidQuery(`Query validation error: search_engine ${query.search_engine} is not supported; use v3.`);
    const where = query.q ? compileUserSearch(String(query.q), env.store.backend) : undefined;
    const sort = compileUserSort(query.sort) ?? { column: 'created_at', direction: 'asc' as const };
    const base = () => {
      let q = env.store.usersQuery();
      if (where) q = q.where(where as any);
      if (query.connection) q = q.where('connection', '=', String(query.connection));
      return q;
    };
    return listResponse(query, {
      async page(page, withTotal) {
        const rows = await base().selectAll().orderBy(sort.column as any, sort.direction).orderBy('user_id')
          .limit(page.limit).offset(page.offset).execute();
        // The reported total is capped at the window, so counting stops one row past it.
        const total = withTotal
          ? Number((await env.store.db.selectFrom(base().select(sql<number>`1`.as('one')).limit(SEARCH_WINDOW + 1).as('matches'))
            .select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)
          : undefined;
        return { items: rows.map(userJson), total };
      },
    }, { key: 'users', window: SEARCH_WINDOW, project: projector(query) });
  }),
  route('POST', '/users', async ({ env, body, koa }) => reply(201, userJson(await registerUser(env, { ctx: koa, params: body }, body)))),
  route('GET', '/users/{id}', async ({ env, params, query }) => projector(query)(userJson(await loadUser(env, params.id)))),
  route('PATCH', '/users/{id}', async ({ env, params, body, koa }) => {
    const saved = await updateUser(env, params.id, body);
    if (body.password !== undefined) passwordChanged(env, { ctx: koa, params: {} }, saved);
    return userJson(saved);
  }),
  route('DELETE', '/users/{id}', async ({ env, params }) => {
    await removeUser(env, params.id);
  }),
  route('GET', '/users-by-email', async ({ env, query }) => {
    requireQuery(query, 'email');
    const project = projector(query);
    return (await env.store.usersByEmail(String(query.email))).map((r) => project(userJson(r)));
  }),
];
