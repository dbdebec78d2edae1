import { badRequest } from '../lib/errors.ts';
import { blocksOf, clearFailures } from '../store/login-failures.ts';
import type { UserRow } from '../store/schema.ts';
import type { Env } from '../tenant/env.ts';
import { loadUser } from '../tenant/users.ts';
import { route, type Route } from './router.ts';

// The blocks brute-force protection set (tenant/brute-force.ts), by user id or
// by what a person types to log in: an email, a username or a phone number.

async function byIdentifier(env: Env, identifier: unknown): Promise<UserRow[]> {
  if (typeof identifier !== 'string' || !identifier) throw badRequest("Query validation error: 'Missing required property: identifier'.", 'invalid_query_string');
  const byEmail = await env.store.usersByEmail(identifier);
  const others = await env.store.usersQuery().selectAll()
    .where((eb) => eb.or([eb('username', '=', identifier), eb('phone_number', '=', identifier)])).execute();
  return [...new Map([...byEmail, ...others].map((u) => [u.user_id, u])).values()];
}

async function blockedFor(env: Env, users: UserRow[]) {
  const byId = new Map(users.map((u) => [u.user_id, u]));
  const rows = await blocksOf(env.store, [...byId.keys()]);
  return {
    blocked_for: rows.map((r) => {
      const u = byId.get(r.user_id)!;
      return { identifier: u.email ?? u.username ?? u.phone_number ?? u.user_id, ...(r.ip ? { ip: r.ip } : {}), connection: u.connection };
    }),
  };
}

export const userBlockRoutes: Route[] = [
  route('GET', '/user-blocks', async ({ env, query }) => blockedFor(env, await byIdentifier(env, query.identifier))),
  route('DELETE', '/user-blocks', async ({ env, query }) => {
    await clearFailures(env.store, (await byIdentifier(env, query.identifier)).map((u) => u.user_id));
  }),
  route('GET', '/user-blocks/{id}', async ({ env, params }) => blockedFor(env, [await loadUser(env, params.id)])),
  route('DELETE', '/user-blocks/{id}', async ({ env, params }) => {
    await clearFailures(env.store, [(await loadUser(env, params.id)).user_id]);
  }),
];
