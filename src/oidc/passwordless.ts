import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';
import { requestFacts } from '../tenant/logs.ts';
import { accountFor } from '../tenant/account-linking.ts';
import { CodeRefused, findPasswordlessUser, issuePasswordlessCode, passwordlessUser, spendPasswordlessCode, type ConnectionDoc } from '../tenant/passwordless.ts';
import { PASSWORDLESS_STRATEGIES, deliver, isEmail, isPhoneNumber } from '../connections/passwordless.ts';
import { attackRefusal, recordFailedLogin, recordLogin, type LoginAttempt } from './account.ts';

// A passwordless login, whichever door it comes through (/passwordless/start
// and the passwordless/otp grant, the magic link, the Universal Login pages):
// sending the code, and logging in with it.

/** A refusal in the Authentication API's `{error, error_description}` shape. */
export class PasswordlessRefusal extends Error {
  constructor(readonly status: number, readonly error: string, readonly description: string) { super(description); }
}
const badConnection = (description: string) => new PasswordlessRefusal(400, 'bad.connection', description);

/** The passwordless connection `name`, enabled for the application. */
export async function passwordlessConnection(env: Env, clientId: string, name: unknown): Promise<ConnectionDoc> {
  if (typeof name !== 'string' || !name) throw badConnection('Missing required property: connection');
  const conn = await env.store.connections.findBy('name', name);
  if (!conn) throw badConnection('Connection does not exist');
  if (!PASSWORDLESS_STRATEGIES.has(conn.data.strategy)) {
    throw badConnection('The connection does not support user creation through this API. It must either be a passwordless connection');
  }
  if (!(conn.data.enabled_clients ?? []).includes(clientId)) throw badConnection('Connection is disabled');
  return conn;
}

/** The address in the form Auth0 requires for the connection (email, or E.164 phone number). */
export function addressFor(conn: ConnectionDoc, raw: unknown): string {
  const sms = conn.data.strategy === 'sms';
  const field = sms ? 'phone_number' : 'email';
  if (raw === undefined || raw === null || raw === '') throw new PasswordlessRefusal(400, `bad.${field}`, `Missing required property: ${field}`);
  const address = String(raw).trim();
  if (sms ? !isPhoneNumber(address) : !isEmail(address)) {
    throw new PasswordlessRefusal(400, `bad.${field}`, sms ? 'String does not match pattern: ^\\+[0-9]{1,15}$' : `error in email - email format validation failed: ${address}`);
  }
  return address;
}

export interface CodeRequest {
  conn: ConnectionDoc; client: { id: string; name: string }; address: string; send: 'code' | 'link';
  authParams?: Record<string, string>; language?: string;
}

/** Sends a new code (or magic link) to the address; a stranger only when the connection lets people sign up. */
export async function sendCode(env: Env, ctx: Koa.Context, r: CodeRequest): Promise<void> {
  const known = await findPasswordlessUser(env, r.conn, r.address);
  const facts = { ...requestFacts(ctx), client_id: r.client.id, client_name: r.client.name, connection: r.conn.data.name, connection_id: r.conn.id, user_name: r.address };
  if (!known && r.conn.data.options?.disable_signup) {
    env.events.record({ ...facts, type: 'f', description: 'Public signup is disabled' });
    throw badConnection('Public signup is disabled');
  }
  const code = await issuePasswordlessCode(env, r.conn, r.address, { client_id: r.client.id, send: r.send, ...(r.authParams ? { auth_params: r.authParams } : {}) });
  const link = r.send === 'link' ? magicLink(env, r, code) : undefined;
  await deliver(env, r.conn, { to: r.address, code, send: r.send, link, application: { name: r.client.name, client_id: r.client.id }, language: r.language });
  env.events.record({ ...facts, type: r.send === 'link' ? 'cls' : 'cs', description: r.send === 'link' ? 'Link Sent' : 'Code Sent', user_id: known?.user_id });
}

function magicLink(env: Env, r: CodeRequest, code: string) {
  const q = new URLSearchParams({
    ...(r.authParams ?? {}), verification_code: code, connection: r.conn.data.name, client_id: r.client.id,
    [r.conn.data.strategy === 'sms' ? 'phone_number' : 'email']: r.address,
  });
  return `${env.issuer}passwordless/verify_redirect?${q}`;
}

/**
 * Logs in with a code: the attack-protection checks, the code, then the user
 * (made on a first login) and the primary account it logs in as.
 */
export async function codeLogin(env: Env, attempt: LoginAttempt, conn: ConnectionDoc, address: string, code: string) {
  const known = await findPasswordlessUser(env, conn, address);
  const refusal = await attackRefusal(env, attempt, known);
  if (refusal) throw new PasswordlessRefusal(429, 'too_many_attempts', refusal);
  let pending;
  try {
    pending = await spendPasswordlessCode(env, conn, address, code);
  } catch (e) {
    if (!(e instanceof CodeRefused)) throw e;
    await recordFailedLogin(env, attempt, known);
    throw new PasswordlessRefusal(403, 'invalid_grant', e.message);
  }
  if (!known && conn.data.options?.disable_signup) throw new PasswordlessRefusal(403, 'invalid_grant', 'Public signup is disabled');
  const identity = await passwordlessUser(env, conn, address);
  const account = await accountFor(env, identity);
  if (!account || identity.blocked || account.blocked) {
    await recordFailedLogin(env, attempt, identity, true);
    throw new PasswordlessRefusal(401, 'unauthorized', 'user is blocked');
  }
  await recordLogin(env, account, attempt, identity);
  return { account, identity, pending };
}
