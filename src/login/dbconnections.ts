import type Router from '@koa/router';
import { requestFacts } from '../tenant/logs.ts';
import type Koa from 'koa';
import { ApiError } from '../lib/errors.ts';
import { readParams } from '../lib/body.ts';
import type { Env } from '../tenant/env.ts';
import { RegistrationDenied, registerUser } from '../actions/registration.ts';
import { executionDetails } from '../actions/executions.ts';
import { requestPasswordReset, sendVerificationEmail } from './account-mail.ts';
import { allowOrigin, preflight } from '../oidc/cors.ts';
import { LegacyError, badRequest as bad, sendLegacy } from './legacy-errors.ts';

// The Authentication API's database-connection endpoints as the SDKs call
// them (JSON or form bodies), with Auth0's legacy error shape.

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PROFILE = ['username', 'given_name', 'family_name', 'name', 'nickname', 'picture', 'phone_number'] as const;

/** What createUser's errors look like on this API. */
function legacyFromApi(e: ApiError): LegacyError {
  if (e instanceof RegistrationDenied) return bad(e.errorCode!, e.message);
  const x = (e.extra ?? {}) as { rules?: unknown; policy?: string };
  switch (e.errorCode) {
    case 'invalid_password':
      return new LegacyError({ name: 'PasswordStrengthError', message: 'Password is too weak', code: 'invalid_password', description: { rules: x.rules, verified: false }, policy: x.policy, statusCode: 400 });
    case 'password_dictionary_error':
      return new LegacyError({ name: 'PasswordDictionaryError', message: 'Password is too common', code: e.errorCode, description: 'Password is too common', statusCode: 400 });
    case 'password_no_user_info_error':
      return new LegacyError({ name: 'PasswordNoUserInfoError', message: 'Password contains user information', code: e.errorCode, description: 'Password contains user information', statusCode: 400 });
  }
  if (e.statusCode === 409) return /username/i.test(e.message) ? bad('username_exists', 'The username provided is in use already.') : bad('user_exists', 'The user already exists.');
  if (e.statusCode === 400) return bad('invalid_signup', e.message.replace(/^Payload validation error: /, ''));
  throw e;
}

async function guarded(ctx: Koa.Context, env: Env, fn: (body: Record<string, any>) => Promise<void>) {
  try {
    let body: Record<string, any>;
    try { body = await readParams(ctx); } catch (e) { throw e instanceof ApiError ? bad('invalid_request', e.message) : e; }
    if (!(await allowOrigin(ctx, env, body.client_id))) {
      throw new LegacyError({ name: 'ForbiddenError', code: 'access_denied', description: `Origin ${ctx.get('Origin')} is not allowed for this client.`, statusCode: 403 });
    }
    await fn(body);
  } catch (e) {
    sendLegacy(ctx, e instanceof ApiError ? legacyFromApi(e) : e);
  }
}

const optionalString = (body: Record<string, any>, key: string) => {
  const v = body[key];
  if (v !== undefined && typeof v !== 'string') throw bad('invalid_signup', `${key} must be a string`);
  return v as string | undefined;
};

/** user_metadata: an object of strings, sent as JSON or (in a form) as a JSON string. */
function userMetadata(raw: unknown): Record<string, string> | undefined {
  if (raw === undefined || raw === '') return undefined;
  let v = raw;
  if (typeof v === 'string') { try { v = JSON.parse(v); } catch { throw bad('invalid_signup', 'user_metadata must be an object'); } }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw bad('invalid_signup', 'user_metadata must be an object');
  if (!Object.values(v).every((x) => typeof x === 'string')) throw bad('invalid_signup', 'user_metadata values must be strings');
  return v as Record<string, string>;
}

/** The client and the database connection it may sign users up to. */
async function signupTarget(env: Env, clientId: string | undefined, connection: string | undefined) {
  if (!clientId) throw bad('invalid_signup', 'Missing client_id');
  if (!connection) throw bad('invalid_signup', 'Missing connection');
  const client = await env.store.clients.get(clientId);
  if (!client) throw new LegacyError({ name: 'BadRequestError', code: 'invalid_client', description: 'Unknown client', statusCode: 400 });
  const conn = await env.store.connections.findBy('name', connection);
  if (!conn || conn.data.strategy !== 'auth0') throw bad('invalid_connection', 'connection not found');
  if (!(conn.data.enabled_clients ?? []).includes(clientId)) throw bad('invalid_connection', 'the connection is not enabled for this client');
  if (conn.data.options?.disable_signup) throw new LegacyError({ name: 'BadRequestError', code: 'operation_not_allowed', description: 'public signup is disabled', statusCode: 400 });
  return { conn, client };
}

export function dbConnectionRoutes(router: Router, env: Env) {
  router.options('/dbconnections/:operation', preflight('POST'));
  router.post('/dbconnections/signup', (ctx) => guarded(ctx, env, async (body) => {
    const { conn, client } = await signupTarget(env, optionalString(body, 'client_id'), optionalString(body, 'connection'));
    const email = optionalString(body, 'email')?.trim();
    const password = optionalString(body, 'password');
    if (!email) throw bad('invalid_signup', 'Missing email');
    if (!EMAIL.test(email) || email.length > 320) throw bad('invalid_signup', 'Invalid email');
    if (!password) throw bad('invalid_signup', 'Missing password');
    const profile: Record<string, string> = {};
    for (const k of PROFILE) { const v = optionalString(body, k); if (v) profile[k] = v; }
    const user_metadata = userMetadata(body.user_metadata);
    const row = await registerUser(env, { ctx, params: body, client }, { connection: conn.data.name, email, password, ...profile, ...(user_metadata ? { user_metadata } : {}) });
    env.events.record({
      ...requestFacts(ctx), ...executionDetails(ctx), type: 'ss', description: 'Successful signup', user_id: row.user_id, user_name: email,
      client_id: optionalString(body, 'client_id'), connection: conn.data.name, connection_id: conn.id, strategy: 'auth0', strategy_type: 'database',
    });
    sendVerificationEmail(env, row, { client_id: body.client_id })
      .catch((e) => env.log.error({ err: { message: (e as Error).message } }, 'verification mail failed'));
    ctx.status = 200;
    ctx.body = { _id: row.user_id.replace(/^auth0\|/, ''), email: row.email, email_verified: false, ...profile, ...(user_metadata ? { user_metadata } : {}) };
  }));

  router.post('/dbconnections/change_password', (ctx) => guarded(ctx, env, async (body) => {
    const email = optionalString(body, 'email')?.trim();
    const connection = optionalString(body, 'connection');
    const clientId = optionalString(body, 'client_id');
    if (!email) throw bad('invalid_request', 'Missing email');
    if (connection) {
      const conn = await env.store.connections.findBy('name', connection);
      if (!conn || conn.data.strategy !== 'auth0') throw bad('invalid_connection', 'connection not found');
    }
    const client = clientId ? await env.store.clients.get(clientId) : undefined;
    requestPasswordReset(env, { email, connection, client_id: client ? clientId : undefined });
    env.events.record({ ...requestFacts(ctx), type: 'scpr', description: 'Change password request', user_name: email, client_id: client ? clientId : undefined, connection });
    ctx.status = 200;
    ctx.type = 'text/plain';
    ctx.body = "We've just sent you an email to reset your password.";
  }));
}
