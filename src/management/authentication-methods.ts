import { createHash } from 'node:crypto';
import { ApiError, badRequest } from '../lib/errors.ts';
import type { UserRow } from '../store/schema.ts';
import { changeMfa, mfaOf, missingAuthenticator, removeAuthenticators, type Authenticator } from '../tenant/authenticators.ts';
import { loadUser } from '../tenant/users.ts';
import type { Env } from '../tenant/env.ts';
import { checkShapes, newAuthenticator, withAuthenticator } from './authentication-method-input.ts';
import { inMemory } from './doc-helpers.ts';
import { listResponse } from './pagination.ts';
import { reply, route, type Route } from './router.ts';

// A user's authentication methods as Auth0 lists them: the password of a
// database-connection user, and the MFA authenticators enrolled through this
// API (src/tenant/authenticators.ts). The password's id is derived from the
// user id, so it is the same on every read and every node; it changes through
// the user, never here. Secrets (TOTP secret, recovery code) are never answered.

function passwordOf(row: UserRow) {
  if (row.provider !== 'auth0' || !row.password_hash) return undefined;
  const id = `password|dev_${createHash('sha256').update(row.user_id).digest('base64url').slice(0, 22)}`;
  return { id, type: 'password', created_at: row.created_at };
}

/** What a read shows: every field but the secrets, confirmed since this API only adds verified methods. */
function methodJson(a: Authenticator) {
  const { id, type, created_at, totp_secret: _s, recovery_code_hash: _h, counter: _c, ...rest } = a;
  return { id, type, confirmed: true, ...rest, created_at };
}
/** What a create or a replace answers (Auth0's schema for them has no `confirmed`). */
function writtenJson(a: Authenticator) {
  const { confirmed: _, ...rest } = methodJson(a);
  return rest;
}

const methodsOf = (row: UserRow) => [...[passwordOf(row)].filter((p) => !!p), ...mfaOf(row).authenticators.map(methodJson)];
const notHere = () => new ApiError(400, 'This authentication method cannot be changed through this endpoint.', 'operation_not_supported');

/**
 * Replaces one of the user's authenticators with what `change` makes of it,
 * or removes it when there is no `change`, in one conditional write. The
 * password and recovery codes have nothing to edit; an unknown id is a 404.
 */
async function changeOne(env: Env, userId: string, methodId: string, change?: (a: Authenticator) => Authenticator) {
  let result: Authenticator | undefined;
  await changeMfa(env, userId, (mfa, row) => {
    const cur = mfa.authenticators.find((a) => a.id === methodId);
    if (!cur) throw passwordOf(row)?.id === methodId ? notHere() : missingAuthenticator();
    if (change && cur.type === 'recovery-code') throw notHere();
    result = change?.(cur);
    return { ...mfa, authenticators: mfa.authenticators.flatMap((a) => (a !== cur ? [a] : result ? [result] : [])) };
  });
  return result;
}

export const authenticationMethodRoutes: Route[] = [
  route('GET', '/users/{id}/authentication-methods', async ({ env, params, query }) => {
    const methods = methodsOf(await loadUser(env, params.id));
    return listResponse(query, inMemory(async () => methods), { key: 'authenticators' });
  }),
  route('GET', '/users/{id}/authentication-methods/{authentication_method_id}', async ({ env, params }) => {
    const method = methodsOf(await loadUser(env, params.id)).find((m) => m.id === params.authentication_method_id);
    if (!method) throw missingAuthenticator();
    return method;
  }),
  route('POST', '/users/{id}/authentication-methods', async ({ env, params, body }) => {
    const added = newAuthenticator(env, body);
    await changeMfa(env, params.id, (mfa) => ({ ...mfa, authenticators: withAuthenticator(mfa.authenticators, added) }));
    return reply(201, writtenJson(added));
  }),
  // The body is the user's whole set: whatever was enrolled before is gone.
  route('PUT', '/users/{id}/authentication-methods', async ({ env, params, body }) => {
    const set = (body as Record<string, any>[]).reduce<Authenticator[]>((list, item, i) => withAuthenticator(list, newAuthenticator(env, item, `${i}.`)), []);
    await changeMfa(env, params.id, (mfa) => ({ ...mfa, authenticators: set }));
    return set.map(writtenJson);
  }),
  route('DELETE', '/users/{id}/authentication-methods', async ({ env, params }) => {
    await removeAuthenticators(env, params.id, () => true);
  }),
  route('PATCH', '/users/{id}/authentication-methods/{authentication_method_id}', async ({ env, params, body }) => {
    checkShapes(body);
    const updated = await changeOne(env, params.id, params.authentication_method_id, (cur) => {
      if (body.preferred_authentication_method !== undefined && cur.type !== 'phone') {
        throw badRequest("Payload validation error: 'Applies to phone authentication methods only' on property preferred_authentication_method.");
      }
      return { ...cur, ...body };
    });
    return methodJson(updated!);
  }),
  route('DELETE', '/users/{id}/authentication-methods/{authentication_method_id}', async ({ env, params }) => {
    await changeOne(env, params.id, params.authentication_method_id);
  }),
];
