import { createHash } from 'node:crypto';
import { hashPassword, passwordMatches } from '../lib/passwords.ts';
import { ApiError, badRequest, conflict, notFound, UniqueViolation } from '../lib/errors.ts';
import { RETRY, untilLanded } from '../store/store.ts';
import { ids } from '../lib/ids.ts';
import { mergeMetadata } from '../lib/merge.ts';
import type { UserRow } from '../store/schema.ts';
import { checkPassword, historySize } from '../connections/password-policy.ts';
import type { Env } from './env.ts';
import { customHashMatches, isImportedHash, openImportedHash } from './custom-password-hash.ts';
import { announceUser } from './user-events.ts';

// Users as Auth0 shows them, and the operations the Management API and the
// login flows share: create, update with metadata merge, password checks.


function gravatar(email: string | null, fallback: string) {
  const h = createHash('md5').update((email ?? '').trim().toLowerCase()).digest('hex');
  const initials = encodeURIComponent(`https://cdn.auth0.com/avatars/${fallback.slice(0, 2).toLowerCase()}.png`);
  return `https://s.gravatar.com/avatar/${h}?s=480&r=pg&d=${initials}`;
}

export function userJson(row: UserRow): Record<string, any> {
  const extra = JSON.parse(row.data);
  const app = JSON.parse(row.app_metadata);
  const meta = JSON.parse(row.user_metadata);
  const out: Record<string, any> = {
    created_at: row.created_at,
    email: row.email ?? undefined,
    email_verified: row.email ? Boolean(row.email_verified) : undefined,
    ...(row.family_name ? { family_name: row.family_name } : {}),
    ...(row.given_name ? { given_name: row.given_name } : {}),
    identities: JSON.parse(row.identities),
    name: row.name,
    nickname: row.nickname,
    ...(row.phone_number ? { phone_number: row.phone_number, phone_verified: Boolean(extra.phone_verified) } : {}),
    picture: row.picture,
    updated_at: row.updated_at,
    user_id: row.user_id,
    ...(row.username ? { username: row.username } : {}),
    ...(Object.keys(app).length ? { app_metadata: app } : {}),
    ...(Object.keys(meta).length ? { user_metadata: meta } : {}),
    ...(row.blocked ? { blocked: true } : {}),
    ...(row.last_ip ? { last_ip: row.last_ip } : {}),
    ...(row.last_login ? { last_login: row.last_login } : {}),
    ...(row.logins_count ? { logins_count: row.logins_count } : {}),
    ...(extra.last_password_reset ? { last_password_reset: extra.last_password_reset } : {}),
  };
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
}

export async function findDbConnection(env: Env, name: string) {
  const conn = await env.store.connections.findBy('name', name);
  if (!conn) throw new ApiError(400, 'The connection does not exist.', 'inexistent_connection');
  return conn;
}

export function passwordError(result: ReturnType<typeof checkPassword>) {
  const messages: Record<string, string> = {
    invalid_password: 'PasswordStrengthError: Password is too weak',
    password_dictionary_error: 'PasswordDictionaryError: Password is too common',
    password_no_user_info_error: 'PasswordNoUserInfoError: Password contains user information',
  };
  return new ApiError(400, messages[result.code!] ?? 'Password is too weak', result.code, { rules: result.rules, policy: result.policy } as any);
}

export interface NewUser {
  connection: string; email?: string; password?: string; username?: string; phone_number?: string;
  name?: string; nickname?: string; given_name?: string; family_name?: string; picture?: string;
  email_verified?: boolean; blocked?: boolean; user_id?: string; app_metadata?: any; user_metadata?: any;
  verify_email?: boolean; phone_verified?: boolean;
}

/**
 * A new database user. `before` sees the input once it passed the
 * connection's checks and answers what to store (the pre-user-registration
 * actions, which may refuse it). A user who signs up with a passkey
 * (`withoutPassword`) has no password.
 */
export async function createUser(
  env: Env, input: NewUser, before?: (checked: NewUser, conn: { id: string; data: any }) => Promise<NewUser>,
  { withoutPassword = false } = {},
): Promise<UserRow> {
  const conn = await findDbConnection(env, input.connection);
  if (conn.data.strategy !== 'auth0') throw badRequest('Only database connections can create users.', 'operation_not_supported');
  const opts = conn.data.options ?? {};
  if (!input.email && !(opts.requires_username && input.username)) throw badRequest("Payload validation error: 'Missing required property: email'.");
  if (opts.requires_username && !input.username) throw badRequest("Payload validation error: 'Missing required property: username'.");
  const password = withoutPassword ? undefined : input.password;
  if (!withoutPassword) {
    if (!password) throw badRequest("Payload validation error: 'Missing required property: password'.");
    const check = checkPassword(opts, { ...input, password });
    if (!check.ok) throw passwordError(check);
  }
  if (input.username && await env.store.usersQuery({ linked: true }).select('user_id').where('connection', '=', conn.data.name).where('username', '=', input.username).executeTakeFirst()) {
    throw conflict('The username provided is in use already.', 'auth0_idp_error');
  }
  // Actions may add metadata; the password they cannot change.
  if (before) input = { ...await before(input, conn), password };
  const bare = input.user_id ? String(input.user_id).replace(/^auth0\|/, '') : ids.user();
  return insertNewUser(env, { connection: conn.data.name, provider: 'auth0', identityId: bare, handle: input.username }, input, {
    data: { ...(input.phone_verified ? { phone_verified: true } : {}), password_history: [] },
    password_hash: password ? await hashPassword(password) : null,
  });
}

/** The profile fields a new user starts with, from the Management API, a signup, an IdP or SCIM. */
export interface NewUserProfile {
  email?: string | null; email_verified?: boolean; username?: string | null; phone_number?: string | null;
  name?: string | null; nickname?: string | null; given_name?: string | null; family_name?: string | null; picture?: string | null;
  blocked?: boolean; app_metadata?: Record<string, unknown>; user_metadata?: Record<string, unknown>;
}

/**
 * Stores a new user with Auth0's defaults (name and nickname from the email or
 * `handle`, a gravatar picture); user_id is `{provider}|{identityId}`. A taken id
 * or email in the connection is a 409.
 */
export async function insertNewUser(
  env: Env, who: { connection: string; provider: string; identityId: string; handle?: string },
  p: NewUserProfile, secret: { data: object; password_hash: string | null },
): Promise<UserRow> {
  const ts = new Date().toISOString();
  const email = p.email ? String(p.email).trim() : null;
  const handle = who.handle ?? null;
  const row: Omit<UserRow, 'tenant_id'> = {
    user_id: `${who.provider}|${who.identityId}`, connection: who.connection, provider: who.provider,
    email, email_norm: email?.toLowerCase() ?? null, email_verified: p.email_verified ? 1 : 0,
    username: p.username ?? null, phone_number: p.phone_number ?? null,
    name: p.name ?? email ?? handle,
    nickname: p.nickname ?? (email ? email.split('@')[0] : handle),
    given_name: p.given_name ?? null, family_name: p.family_name ?? null,
    picture: p.picture ?? gravatar(email, email ?? handle ?? 'u'),
    blocked: p.blocked ? 1 : 0, created_at: ts, updated_at: ts, last_login: null, last_ip: null, logins_count: 0,
    app_metadata: JSON.stringify(p.app_metadata ?? {}), user_metadata: JSON.stringify(p.user_metadata ?? {}),
    identities: JSON.stringify([{ connection: who.connection, user_id: who.identityId, provider: who.provider, isSocial: false }]),
    data: JSON.stringify(secret.data),
    password_hash: secret.password_hash,
  };
  try {
    await env.store.insertUser(row);
  } catch (e) {
    if (e instanceof UniqueViolation) throw conflict('The user already exists.', 'auth0_idp_error');
    throw e;
  }
  const saved = { ...row, tenant_id: env.store.tenantId };
  await announceUser(env, 'user.created', saved);
  return saved;
}

/**
 * The user a login identifier names in a database connection: the email, or
 * the username when the connection requires usernames (as Auth0 allows).
 */
export async function userByLogin(env: Env, conn: { data: any }, identifier: string): Promise<UserRow | undefined> {
  const byEmail = await env.store.userByConnectionEmail(conn.data.name, identifier);
  if (byEmail || !conn.data.options?.requires_username) return byEmail;
  return env.store.usersQuery({ linked: true }).selectAll().where('connection', '=', conn.data.name).where('username', '=', identifier).executeTakeFirst();
}

/** A user, or with `linked` also an identity linked into another user. */
export async function loadUser(env: Env, userId: string, opts: { linked?: boolean } = {}) {
  const row = await env.store.getUser(userId, opts);
  if (!row) throw notFound('The user does not exist.', 'inexistent_user');
  return row;
}

const PROFILE_FIELDS = ['email', 'username', 'phone_number', 'name', 'nickname', 'given_name', 'family_name', 'picture'] as const;

/**
 * PATCH semantics for a user. The write is conditional on the merged columns
 * being unchanged since the read (see Store.updateUser); a concurrent writer
 * makes it read and merge again.
 */
export async function updateUser(env: Env, userId: string, body: any, opts: { linked?: boolean } = {}): Promise<UserRow> {
  const saved = await untilLanded(async () => {
    const row = await loadUser(env, userId, opts);
    const patch = await userPatch(env, row, body);
    try {
      return (await env.store.updateUser(userId, patch, row)) ? { ...row, ...patch } as UserRow : RETRY;
    } catch (e) {
      if (e instanceof UniqueViolation) throw conflict('The specified new email already exists', 'auth0_idp_error');
      throw e;
    }
  });
  await announceUser(env, 'user.updated', saved);
  return saved;
}

async function userPatch(env: Env, row: UserRow, body: any): Promise<Partial<UserRow>> {
  const patch: Partial<UserRow> = { updated_at: new Date().toISOString() };
  const extra = JSON.parse(row.data);
  for (const f of PROFILE_FIELDS) if (f in body) (patch as any)[f] = body[f];
  if ('email' in body) {
    patch.email_norm = body.email ? String(body.email).toLowerCase() : null;
    if (!('email_verified' in body)) patch.email_verified = 0;
  }
  if ('email_verified' in body) patch.email_verified = body.email_verified ? 1 : 0;
  if ('blocked' in body) patch.blocked = body.blocked ? 1 : 0;
  if ('phone_verified' in body) extra.phone_verified = Boolean(body.phone_verified);
  if ('app_metadata' in body) patch.app_metadata = JSON.stringify(mergeMetadata(JSON.parse(row.app_metadata), body.app_metadata));
  if ('user_metadata' in body) patch.user_metadata = JSON.stringify(mergeMetadata(JSON.parse(row.user_metadata), body.user_metadata));
  if ('password' in body) {
    // The schema allows null here, but a user's password cannot be removed.
    if (typeof body.password !== 'string') throw badRequest("Payload validation error: 'Expected type string but found type null' on property password.");
    const conn = await findDbConnection(env, row.connection);
    const merged = { ...row, ...patch };
    const check = checkPassword(conn.data.options, { ...merged, password: body.password });
    if (!check.ok) throw passwordError(check);
    const keep = historySize(conn.data.options);
    const history: string[] = extra.password_history ?? [];
    for (const old of [row.password_hash, ...history].filter(Boolean).slice(0, keep)) {
      if (await passwordMatches(body.password, old!)) throw badRequest('PasswordHistoryError: Password has previously been used', 'password_history_error');
    }
    extra.password_history = keep ? [row.password_hash, ...history].filter(Boolean).slice(0, keep) : [];
    extra.last_password_reset = patch.updated_at;
    patch.password_hash = await hashPassword(body.password);
  }
  patch.data = JSON.stringify(extra);
  return patch;
}

/** Constant work whether or not the user exists, so timing does not reveal accounts. */
const DUMMY_HASH = '$2b$10$CwTycUXWue0Thq9StjUM0uJ8.ZL9yQ6Ch3HMUo2wqnNq2vXaKJ1Ky';
/** `env` is what a login passes: with it, a hash imported from another system is checked (and upgraded). */
export async function verifyPassword(row: UserRow | undefined, password: string, env?: Env): Promise<boolean> {
  if (row && isImportedHash(row.password_hash)) return env ? verifyImportedPassword(env, row, password) : false;
  const ok = await passwordMatches(password, row?.password_hash ?? DUMMY_HASH);
  return Boolean(row?.password_hash) && ok;
}

/**
 * A hash imported from another system is checked once: the first login that
 * matches stores the password as bcrypt instead, as Auth0 does.
 */
async function verifyImportedPassword(env: Env, row: UserRow, password: string): Promise<boolean> {
  if (!(await customHashMatches(openImportedHash(env.box, row.password_hash!), password))) return false;
  // Conditional on the row as read; if another write landed first, the next login upgrades it.
  await env.store.updateUser(row.user_id, { password_hash: await hashPassword(password) }, row);
  return true;
}
