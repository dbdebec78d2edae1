import type { UserRow } from '../store/schema.ts';
import { federatedUserId, type ConnectionDoc, type FederatedProfile } from '../tenant/federated-users.ts';
import { invalidValue } from './errors.ts';
import type { Mapped } from './mapping.ts';
import { CORE_USER, ENTERPRISE_USER, getPath, keyOf, parsePath, setPath } from './paths.ts';

// Between a SCIM User resource and an Auth0 user, through the connection's
// mapping. SCIM's `id` is always the Auth0 user_id, and `active` is always the
// inverse of `blocked`, whatever the mapping says, so a deactivation can never
// be mapped away.

export interface Applied { conn: ConnectionDoc; mapped: Mapped[]; userIdAttribute: string }

// Columns that are indexed take short values only (PostgreSQL refuses index
// rows over ~2.7 kB); the others still get a bound, as Auth0's fields have.
const MAX_INDEXED = 255;
const MAX_TEXT = 2048;

function text(v: unknown, what: string, max: number): string | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v === 'number' && Number.isFinite(v)) v = String(v);
  if (typeof v !== 'string') throw invalidValue(`${what} must be a string`);
  if (v.length > max) throw invalidValue(`${what} must be at most ${max} characters long`);
  return v;
}

/** `active` as a boolean; some clients (Entra ID) send "True" / "False". */
export function activeValue(v: unknown): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
  throw invalidValue('active must be a boolean');
}

/** The value that names the user: the configured attribute, else userName (as Auth0 falls back). */
export function subOf(a: Applied, resource: Record<string, any>): string {
  const configured = getPath(resource, parsePath(a.userIdAttribute)!);
  const v = text(configured, a.userIdAttribute, MAX_INDEXED) ?? text(getPath(resource, { attr: 'userName' }), 'userName', MAX_INDEXED);
  if (!v) throw invalidValue(`${a.userIdAttribute} or userName is required`);
  return v;
}

/**
 * The profile a SCIM resource sets. A create takes what is present; a replace
 * (PUT, or a PATCH applied to the current resource) also clears every mapped
 * attribute that is absent, except `active`, whose absence changes nothing.
 */
export function toProfile(a: Applied, resource: Record<string, any>, mode: 'create' | 'replace', sub: string): FederatedProfile {
  const profile: Record<string, any> = {};
  const meta: Record<'app_metadata' | 'user_metadata', Array<[string[], unknown]>> = { app_metadata: [], user_metadata: [] };
  for (const { item, path, target } of a.mapped) {
    if ('root' in target && target.root === 'blocked') continue;
    const raw = getPath(resource, path);
    if ('root' in target) {
      const v = text(raw, item.scim, target.root === 'email' || target.root === 'username' ? MAX_INDEXED : MAX_TEXT);
      if (v !== null || mode === 'replace') profile[target.root] = v;
    } else if (raw !== undefined && raw !== null) {
      meta[target.doc].push([target.keys, raw]);
    } else if (mode === 'replace') {
      meta[target.doc].push([target.keys, null]);
    }
  }
  for (const doc of ['app_metadata', 'user_metadata'] as const) {
    const built = metadataPatch(meta[doc]);
    // Never `{}`: the metadata merge reads an empty patch as "clear everything".
    if (Object.keys(built).length) profile[doc] = built;
  }
  const active = activeValue(getPath(resource, { attr: 'active' }));
  if (active !== undefined || mode === 'create') profile.blocked = active === false;
  // Auth0 users always have a name and a nickname: the same fallbacks as at creation.
  const email = profile.email ?? null;
  if (profile.name === null) profile.name = email ?? sub;
  if (profile.nickname === null) profile.nickname = email ? email.split('@')[0] : sub;
  return profile as FederatedProfile;
}

/**
 * Root-level metadata keys with their values. A key filled through nested
 * paths gets an object of the values present, or null (removed) when none is;
 * below the root, Auth0's merge replaces, so the object is always whole.
 */
function metadataPatch(pairs: Array<[string[], unknown]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [[top, ...rest], value] of pairs) {
    if (!rest.length) { out[top] = value; continue; }
    if (value === null) { if (!Object.hasOwn(out, top)) out[top] = null; continue; }
    let o = (out[top] && typeof out[top] === 'object' ? out[top] : (out[top] = {})) as Record<string, any>;
    for (const k of rest.slice(0, -1)) o = (o[k] && typeof o[k] === 'object' ? o[k] : (o[k] = {}));
    o[rest[rest.length - 1]] = value;
  }
  return out;
}

const dig = (doc: unknown, keys: string[]) => keys.reduce<any>((o, k) => (o && typeof o === 'object' && Object.hasOwn(o, k) ? o[k] : undefined), doc);

/** The user as a SCIM User resource, with the values its mapping reads back. */
export function toResource(a: Applied, row: UserRow, baseUrl: string): Record<string, any> {
  const resource: Record<string, any> = { schemas: [CORE_USER], id: row.user_id };
  const docs = { app_metadata: JSON.parse(row.app_metadata), user_metadata: JSON.parse(row.user_metadata) };
  for (const { path, target } of a.mapped) {
    if ('root' in target && target.root === 'blocked') continue;
    const v = 'root' in target ? row[target.root] : dig(docs[target.doc], target.keys);
    if (v !== undefined && v !== null) setPath(resource, path, v);
  }
  // The naming attribute reads back even when the mapping does not store it: it is in the user_id.
  const idPath = parsePath(a.userIdAttribute)!;
  const prefix = federatedUserId(a.conn, '');
  if (getPath(resource, idPath) === undefined && row.user_id.startsWith(prefix)) setPath(resource, idPath, row.user_id.slice(prefix.length));
  resource.active = !row.blocked;
  if (keyOf(resource, ENTERPRISE_USER)) resource.schemas.push(ENTERPRISE_USER);
  resource.meta = { resourceType: 'User', created: row.created_at, lastModified: row.updated_at, location: `${baseUrl}/Users/${encodeURIComponent(row.user_id)}` };
  return resource;
}
