import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';
import type { UserRow } from '../store/schema.ts';
import { ApiError, badRequest } from '../lib/errors.ts';
import { PASSWORDLESS_STRATEGIES } from '../connections/passwordless.ts';
import { createPasswordlessUser } from '../tenant/passwordless.ts';
import { mergeMetadata } from '../lib/merge.ts';
import { createUser, userJson, type NewUser } from '../tenant/users.ts';
import { clientPart, requestPart, tenantPart } from './event-parts.ts';
import { failureOf } from './runtime.ts';

// The registration triggers around a new database user. pre-user-registration
// runs before the user is stored and may refuse it or add metadata;
// post-user-registration and post-change-password run after the fact, without
// holding up the answer, and what they do changes nothing (as in Auth0).

/** Where a registration or a password change came from: the request, its parameters (secrets are dropped), and the application. */
export interface Origin { ctx: Koa.Context; params: Record<string, unknown>; client?: { id: string; data: any } }

/** An action refused the signup. `message` is what the person may see; the reason goes to the tenant log. */
export class RegistrationDenied extends ApiError {
  constructor(message: string, readonly reason: string, code = 'extensibility_error') { super(400, message, code); }
}

const connectionPart = (conn: { id: string; data: any }) =>
  ({ id: conn.id, name: conn.data.name, strategy: conn.data.strategy, metadata: conn.data.metadata ?? {} });

/** The parts of every registration and password event: the connection, the request, the application, the tenant. */
const commonParts = (env: Env, origin: Origin, conn: { id: string; data: any }) => ({
  connection: connectionPart(conn),
  request: requestPart(origin.ctx, origin.params, 'body'),
  ...(origin.client ? { client: clientPart(origin.client.id, origin.client.data) } : {}),
  tenant: tenantPart(env),
});

const PROFILE = ['email', 'username', 'phone_number', 'name', 'nickname', 'given_name', 'family_name', 'picture'] as const;

/** Runs the pre-user-registration actions; answers the input with the metadata they set, or throws RegistrationDenied. */
async function preRegistration(env: Env, origin: Origin, conn: { id: string; data: any }, input: NewUser): Promise<NewUser> {
  const actions = await env.actions.forTrigger('pre-user-registration');
  if (!actions.length) return input;
  const user: Record<string, unknown> = { tenant: tenantPart(env).id, app_metadata: input.app_metadata ?? {}, user_metadata: input.user_metadata ?? {} };
  for (const k of PROFILE) if (input[k] !== undefined) user[k] = input[k];
  const out = await env.actions.execute('pre-user-registration', actions, { ...commonParts(env, origin, conn), user }, origin.ctx);
  const failed = failureOf(out);
  if (failed !== undefined) throw new RegistrationDenied(failed, failed);
  const e = out.effects;
  if (e.deny !== undefined) throw new RegistrationDenied(e.denyMessage || 'Sorry, you are not allowed to sign up.', e.deny, e.denyCode);
  return {
    ...input,
    ...(Object.keys(e.appMetadata).length ? { app_metadata: mergeMetadata(input.app_metadata ?? {}, e.appMetadata) } : {}),
    ...(Object.keys(e.userMetadata).length ? { user_metadata: mergeMetadata(input.user_metadata ?? {}, e.userMetadata) } : {}),
  };
}

/** Runs a trigger's actions after the answer; their failures are logged, never the caller's. */
function afterwards(env: Env, trigger: string, event: () => Promise<Record<string, unknown>>) {
  void (async () => {
    const actions = await env.actions.forTrigger(trigger);
    if (!actions.length) return;
    const failed = failureOf(await env.actions.execute(trigger, actions, await event()));
    if (failed !== undefined) env.log.warn({ trigger, error: failed }, 'an action failed');
  })().catch((e) => env.log.warn({ trigger, error: (e as Error).message }, 'actions did not run'));
}

/**
 * A signup or a Management API create in a database connection, with its
 * actions: the pre-user-registration actions once the input passed the
 * connection's checks, then the user, then the post-user-registration actions
 * in the background.
 */
export async function registerUser(env: Env, origin: Origin, input: NewUser, opts: { withoutPassword?: boolean } = {}): Promise<UserRow> {
  const named = input.connection ? await env.store.connections.findBy('name', input.connection) : undefined;
  if (named && PASSWORDLESS_STRATEGIES.has(named.data.strategy)) {
    if (input.password !== undefined) throw badRequest('Passwordless connections do not take a password.', 'invalid_body');
    return createPasswordlessUser(env, named, input);
  }
  let conn!: { id: string; data: any };
  const row = await createUser(env, input, (checked, c) => preRegistration(env, origin, (conn = c), checked), opts);
  afterwards(env, 'post-user-registration', async () => ({ ...commonParts(env, origin, conn), user: userJson(row) }));
  return row;
}

/**
 * password-reset-post-challenge: once the person proved they hold the email
 * (opened the reset link), before the new password is chosen. Answers the
 * reason when an action refuses the reset (or fails), undefined otherwise.
 */
export async function passwordResetChallenge(env: Env, origin: Origin, row: UserRow): Promise<string | undefined> {
  const actions = await env.actions.forTrigger('password-reset-post-challenge');
  if (!actions.length) return undefined;
  const out = await env.actions.execute('password-reset-post-challenge', actions, { ...(await passwordParts(env, origin, row)), user: userJson(row) }, origin.ctx);
  return failureOf(out) ?? out.effects.deny;
}

/** The event parts of a password change: like a registration's, with where the request came from but not what it carried. */
async function passwordParts(env: Env, origin: Origin, row: UserRow) {
  const conn = await env.store.connections.findBy('name', row.connection);
  const parts = commonParts(env, origin, conn ?? { id: '', data: { name: row.connection, strategy: row.provider } });
  return { ...parts, request: { ...parts.request, body: {}, query: {} } };
}

/** After a database user's password was reset, or set through the Management API. */
export function passwordChanged(env: Env, origin: Origin, row: UserRow) {
  afterwards(env, 'post-change-password', async () => ({ ...(await passwordParts(env, origin, row)), user: userJson(row) }));
}
