import AjvModule, { type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { ApiError } from '../lib/errors.ts';
import { ids } from '../lib/ids.ts';
import { hasNul } from '../lib/nul-guard.ts';
import { RETRY, untilLanded } from '../store/store.ts';
import type { UserRow } from '../store/schema.ts';
import { customHashProblem, isImportedHash, sealImportedHash, type CustomPasswordHash } from './custom-password-hash.ts';
import { insertNewUser } from './users.ts';
import type { Env } from './env.ts';

// One user of a bulk import file (Auth0's "Bulk User Imports"): its schema,
// and its insert, or its update when the import upserts. Each user is one
// write, so a bad or conflicting user is refused whole and never stops the rest.

// Both packages are CommonJS with a default export.
const Ajv = (AjvModule as any).default ?? AjvModule;
const addFormats = (addFormatsModule as any).default ?? addFormatsModule;

const ENCODING = { type: 'string', enum: ['base64', 'hex', 'utf8'] };
/** Auth0's documented schema of one user in the file (MFA enrollments are not imported by Postern). */
const USER_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['email'],
  // password_hash and custom_password_hash are mutually exclusive.
  not: { type: 'object', required: ['password_hash', 'custom_password_hash'] },
  properties: {
    email: { type: 'string', format: 'email' },
    email_verified: { type: 'boolean' },
    phone_number: { type: 'string', pattern: '^\\+[0-9]{1,15}$' },
    phone_verified: { type: 'boolean' },
    user_id: { type: 'string', minLength: 1, maxLength: 255 },
    username: { type: 'string', minLength: 1, maxLength: 128 },
    given_name: { type: 'string' }, family_name: { type: 'string' }, name: { type: 'string' }, nickname: { type: 'string' }, picture: { type: 'string' },
    blocked: { type: 'boolean' },
    password_hash: { type: 'string', pattern: '^\\$2[ab]\\$\\d{2}\\$[./A-Za-z0-9]{53}$' },
    custom_password_hash: {
      type: 'object',
      additionalProperties: false,
      required: ['algorithm', 'hash'],
      properties: {
        algorithm: { type: 'string', enum: ['argon2', 'bcrypt', 'hmac', 'ldap', 'md4', 'md5', 'sha1', 'sha256', 'sha512', 'pbkdf2', 'scrypt'] },
        hash: {
          type: 'object', additionalProperties: false, required: ['value'],
          properties: {
            value: { type: 'string', minLength: 1 }, encoding: ENCODING,
            digest: { type: 'string', enum: ['md4', 'md5', 'ripemd160', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512', 'whirlpool'] },
            key: { type: 'object', additionalProperties: false, required: ['value'], properties: { value: { type: 'string' }, encoding: ENCODING } },
          },
        },
        salt: {
          type: 'object', additionalProperties: false, required: ['value'],
          properties: { value: { type: 'string' }, encoding: ENCODING, position: { type: 'string', enum: ['prefix', 'suffix'] } },
        },
        password: {
          type: 'object', additionalProperties: false,
          properties: { encoding: { type: 'string', enum: ['ascii', 'utf8', 'utf16le', 'ucs2', 'latin1', 'binary'] } },
        },
        keylen: { type: 'integer' }, cost: { type: 'integer' }, blockSize: { type: 'integer' }, parallelization: { type: 'integer' },
      },
    },
    app_metadata: { type: 'object' },
    user_metadata: { type: 'object' },
  },
};
const ajv = new Ajv({ allErrors: true, verbose: true, strict: false });
addFormats(ajv);
const validateUser = ajv.compile(USER_SCHEMA);

/** Keys Auth0 keeps for itself, refused in an imported user's app_metadata. */
const RESERVED_APP_METADATA = ['__tenant', '_id', 'blocked', 'clientID', 'created_at', 'email_verified', 'email', 'globalClientID', 'global_client_id',
  'identities', 'lastIP', 'lastLogin', 'loginsCount', 'metadata', 'multifactor_last_modified', 'multifactor', 'updated_at', 'user_id'];

export interface ImportedUser {
  email: string; email_verified?: boolean; phone_number?: string; phone_verified?: boolean; user_id?: string; username?: string;
  given_name?: string; family_name?: string; name?: string; nickname?: string; picture?: string; blocked?: boolean;
  password_hash?: string; custom_password_hash?: CustomPasswordHash;
  app_metadata?: Record<string, unknown>; user_metadata?: Record<string, unknown>;
}
/** One of a user's errors, as GET /jobs/{id}/errors lists them. */
export interface ImportError { code: string; message: string; path?: string }
export class ImportFailure extends Error {
  constructor(readonly errors: ImportError[]) { super(errors[0]?.message ?? 'The user was not imported'); }
}
export const importFailure = (code: string, message: string, path?: string) => new ImportFailure([{ code, message, ...(path ? { path } : {}) }]);

const typeOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v);
/** Schema errors with the codes and messages Auth0's validator gives them (its z-schema codes). Values are never echoed: they may be hashes. */
function describe(e: ErrorObject): ImportError {
  const path = `#/${e.instancePath.split('/').slice(1).join('/')}`;
  const p = e.params as any;
  const known: Record<string, [string, string]> = {
    type: ['INVALID_TYPE', `Expected type ${p.type} but found type ${typeOf(e.data)}`],
    required: ['OBJECT_MISSING_REQUIRED_PROPERTY', `Missing required property: ${p.missingProperty}`],
    additionalProperties: ['OBJECT_ADDITIONAL_PROPERTIES', `Additional properties not allowed: ${p.additionalProperty}`],
    format: ['INVALID_FORMAT', `Object didn't pass validation for format ${p.format}`],
    enum: ['ENUM_MISMATCH', `No enum match for: ${typeof e.data === 'string' ? JSON.stringify(e.data.slice(0, 40)) : typeOf(e.data)}`],
    pattern: ['PATTERN', `String does not match pattern ${p.pattern}`],
    minLength: ['MIN_LENGTH', `String is too short, minimum ${p.limit}`],
    maxLength: ['MAX_LENGTH', `String is too long, maximum ${p.limit}`],
    not: ['NOT_PASSED', 'password_hash and custom_password_hash cannot both be given'],
  };
  const [code, message] = known[e.keyword] ?? [e.keyword.toUpperCase(), e.message ?? 'Invalid value'];
  return { code, message, path };
}

/** What is wrong with one entry of the file, beyond its duplicates and conflicts; empty when it can be imported. */
export function importErrors(u: unknown): ImportError[] {
  if (!validateUser(u)) return validateUser.errors!.map(describe);
  const user = u as ImportedUser;
  if (hasNul(user)) return [{ code: 'INVALID_FORMAT', message: 'The user contains a NUL character', path: '#/' }];
  const reserved = Object.keys(user.app_metadata ?? {}).filter((k) => RESERVED_APP_METADATA.includes(k));
  if (reserved.length) return reserved.map((k) => ({ code: 'NOT_PASSED', message: `app_metadata cannot contain the reserved property ${k}`, path: `#/app_metadata/${k}` }));
  const problem = user.custom_password_hash && customHashProblem(user.custom_password_hash);
  return problem ? [{ code: 'INVALID_FORMAT', ...problem }] : [];
}

/** The user as the errors list shows it: secrets masked, as Auth0 masks them. */
export function redactedUser(u: unknown): unknown {
  if (!u || typeof u !== 'object' || Array.isArray(u)) return u;
  const out: any = structuredClone(u);
  const mask = (o: any, k: string) => { if (o && typeof o === 'object' && k in o) o[k] = '*****'; };
  mask(out, 'password_hash');
  const c = out.custom_password_hash;
  if (c && typeof c === 'object') { mask(c.hash, 'value'); mask(c.hash?.key, 'value'); mask(c.salt, 'value'); }
  return out;
}

const PROFILE = ['given_name', 'family_name', 'name', 'nickname', 'picture'] as const;

/**
 * Inserts the user into the database connection, or (with `upsert`) updates
 * the user with its email there. Without upsert any existing user with its
 * email, id or username is a DUPLICATED_USER, as in Auth0.
 */
export async function importUser(env: Env, connection: string, u: ImportedUser, upsert: boolean): Promise<'inserted' | 'updated'> {
  const userId = u.user_id === undefined ? undefined : `auth0|${u.user_id}`;
  const [byEmail, byId, byUsername] = await Promise.all([
    env.store.userByConnectionEmail(connection, u.email),
    userId ? env.store.getUser(userId, { linked: true }) : undefined,
    u.username ? env.store.usersQuery({ linked: true }).selectAll().where('connection', '=', connection).where('username', '=', u.username).executeTakeFirst() : undefined,
  ]);
  const duplicate = () => importFailure('DUPLICATED_USER', 'The user already exist and upsert parameter is false');
  if (!byEmail && !byId && !byUsername) {
    try {
      await insertNewUser(env, { connection, provider: 'auth0', identityId: u.user_id ?? ids.user(), handle: u.username }, u, {
        data: { ...(u.phone_verified ? { phone_verified: true } : {}), password_history: [] },
        password_hash: u.password_hash ?? (u.custom_password_hash ? sealImportedHash(env.box, u.custom_password_hash) : null),
      });
      return 'inserted';
    } catch (e) {
      if (e instanceof ApiError && e.statusCode === 409) throw duplicate(); // a concurrent write took the email or id
      throw e;
    }
  }
  if (!upsert) throw duplicate();
  // An upsert matches on the email only; the id and username are not upserted, and cannot belong to someone else.
  const target = byEmail?.user_id;
  if (byId && byId.user_id !== target) throw importFailure('CONFLICT', 'The user_id belongs to another user', '#/user_id');
  if (byUsername && byUsername.user_id !== target) throw importFailure('CONFLICT_USERNAME', 'The username belongs to another user', '#/username');
  await untilLanded(async () => {
    const row = await env.store.getUser(target!, { linked: true });
    if (!row) throw importFailure('CONFLICT', 'The user was deleted while it was imported');
    return (await env.store.updateUser(row.user_id, upsertPatch(env, row, u), row)) ? true : RETRY;
  });
  return 'updated';
}

/**
 * What an upsert changes: the profile names and picture, email_verified, the
 * metadata (replaced whole, not merged, as Auth0's upsert does), and a custom
 * password hash while the user has not logged in with an imported one yet.
 */
function upsertPatch(env: Env, row: UserRow, u: ImportedUser): Partial<UserRow> {
  const patch: Partial<UserRow> = { updated_at: new Date().toISOString() };
  for (const f of PROFILE) if (u[f] !== undefined) patch[f] = u[f];
  if (u.email_verified !== undefined) patch.email_verified = u.email_verified ? 1 : 0;
  if (u.app_metadata) patch.app_metadata = JSON.stringify(u.app_metadata);
  if (u.user_metadata) patch.user_metadata = JSON.stringify(u.user_metadata);
  if (u.custom_password_hash && (!row.password_hash || isImportedHash(row.password_hash))) {
    patch.password_hash = sealImportedHash(env.box, u.custom_password_hash);
  }
  return patch;
}
