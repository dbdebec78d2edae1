import type { GroupRow } from '../store/schema.ts';
import { invalidPath, invalidValue, ScimError } from './errors.ts';
import { PATCH_OP } from './patch.ts';
import { keyOf } from './paths.ts';
import { requireSchema } from './request.ts';

// Between a SCIM Group resource (RFC 7643 §4.2) and a group: `displayName` is
// the group's name, `externalId` its external_id, and `members` the SCIM ids
// (user_ids) of users of the connection. Members are users only; a group
// inside a group is refused. PatchOp for groups is read here into a change the
// store applies in one transaction, so concurrent member pushes never drop
// each other's members.

export const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
// Auth0's bounds on a group's name and external id.
const NAME = /^[\x20-\x7E]{1,128}$/;
const MAX_EXTERNAL_ID = 256;
const MAX_MEMBERS = 10_000;
const MAX_OPERATIONS = 100;

export interface GroupFields { name: string; external_id: string | null; members: string[] }
export interface GroupChange {
  name?: string; external_id?: string | null;
  members: { replace?: string[]; add: string[]; remove: string[] };
}

const isObject = (v: unknown): v is Record<string, any> => !!v && typeof v === 'object' && !Array.isArray(v);
const at = (o: Record<string, any>, name: string) => o[keyOf(o, name) ?? name];

export function displayName(v: unknown): string {
  if (typeof v !== 'string' || !NAME.test(v)) throw invalidValue('displayName must be 1 to 128 printable ASCII characters');
  return v;
}
function externalId(v: unknown): string | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string' || v.length > MAX_EXTERNAL_ID) throw invalidValue(`externalId must be a string of at most ${MAX_EXTERNAL_ID} characters`);
  return v;
}
/** `members` as user ids: `[{value}]`, each value a string. */
function memberIds(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  if (list.length > MAX_MEMBERS) throw new ScimError(400, `At most ${MAX_MEMBERS} members per request`, 'tooMany');
  return list.map((m) => {
    const value = isObject(m) ? at(m, 'value') : undefined;
    if (typeof value !== 'string' || !value) throw invalidValue('Each member must be an object with a string value');
    const type = isObject(m) ? at(m, 'type') : undefined;
    if (typeof type === 'string' && type.toLowerCase() === 'group') throw invalidValue('Groups cannot be members of groups');
    return value;
  });
}

/** A POST or PUT body: the whole group. */
export function readGroup(body: Record<string, any>): GroupFields {
  requireSchema(body, CORE_GROUP);
  return { name: displayName(at(body, 'displayName')), external_id: externalId(at(body, 'externalId')), members: [...new Set(memberIds(at(body, 'members')))] };
}

export function toGroupResource(g: GroupRow, members: string[] | undefined, baseUrl: string) {
  return {
    schemas: [CORE_GROUP], id: g.id, displayName: g.name, ...(g.external_id !== null ? { externalId: g.external_id } : {}),
    ...(members ? { members: members.map((value) => ({ value, $ref: `${baseUrl}/Users/${encodeURIComponent(value)}` })) } : {}),
    meta: { resourceType: 'Group', created: g.created_at, lastModified: g.updated_at, location: `${baseUrl}/Groups/${encodeURIComponent(g.id)}` },
  };
}

// `members[value eq "…"]`, the form Okta and Entra ID remove one member with.
const MEMBER_FILTER = /^members\[\s*value\s+eq\s+("(?:[^"\\]|\\.)*")\s*\]$/i;

/**
 * The change a PatchOp makes, in order: Okta's `{op:"replace", value:{id,
 * displayName}}` and `{op:"add"|"remove", path:"members", value:[…]}`,
 * `{op:"remove", path:'members[value eq "…"]'}`, Entra ID's capitalised ops
 * and `{op:"Replace", path:"displayName", value:"…"}`.
 */
export function readGroupPatch(body: Record<string, any>): GroupChange {
  requireSchema(body, PATCH_OP);
  const ops = body.Operations ?? body.operations;
  if (!Array.isArray(ops) || !ops.length || ops.length > MAX_OPERATIONS) {
    throw new ScimError(400, `Operations must be an array of 1 to ${MAX_OPERATIONS} operations`, 'invalidSyntax');
  }
  const change: GroupChange = { members: { add: [], remove: [] } };
  const m = change.members;
  const add = (ids: string[]) => {
    if (m.replace) { m.replace = [...new Set([...m.replace, ...ids])]; return; }
    m.remove = m.remove.filter((u) => !ids.includes(u));
    m.add.push(...ids);
  };
  const remove = (ids: string[]) => {
    if (m.replace) { m.replace = m.replace.filter((u) => !ids.includes(u)); return; }
    m.add = m.add.filter((u) => !ids.includes(u));
    m.remove.push(...ids);
  };
  const replace = (ids: string[]) => { m.replace = [...new Set(ids)]; m.add = []; m.remove = []; };
  const set = (kind: string, attr: string, value: unknown) => {
    switch (attr.replace(/^urn:ietf:params:scim:schemas:core:2\.0:Group:/i, '').toLowerCase()) {
      case 'displayname': change.name = displayName(value); return;
      case 'externalid': change.external_id = externalId(value); return;
      case 'members': (kind === 'add' ? add : replace)(memberIds(value)); return;
      // Server-owned attributes: naming them changes nothing (Okta sends the id back).
      case 'id': case 'meta': case 'schemas': return;
      default: throw invalidPath(`The attribute ${JSON.stringify(attr)} is not supported on groups`);
    }
  };
  for (const op of ops) {
    if (!isObject(op)) throw new ScimError(400, 'Each operation must be an object', 'invalidSyntax');
    const kind = typeof op.op === 'string' ? op.op.toLowerCase() : '';
    const path = op.path;
    if (path !== undefined && typeof path !== 'string') throw invalidPath('path must be a string');
    if (kind === 'remove') {
      if (path === undefined) throw new ScimError(400, 'A remove operation needs a path', 'noTarget');
      const one = MEMBER_FILTER.exec(path.trim());
      if (one) remove([JSON.parse(one[1])]);
      else if (path.trim().toLowerCase() === 'members') {
        if (op.value === undefined) replace([]); else remove(memberIds(op.value));
      } else if (path.trim().toLowerCase() === 'externalid') change.external_id = null;
      else throw invalidPath(`The path ${JSON.stringify(path)} cannot be removed from a group`);
    } else if (kind === 'add' || kind === 'replace') {
      if (path !== undefined) { set(kind, path.trim(), op.value); continue; }
      if (!isObject(op.value)) throw invalidValue('An operation without a path needs an object value');
      for (const [k, v] of Object.entries(op.value)) set(kind, k, v);
    } else {
      throw new ScimError(400, `Unknown operation ${JSON.stringify(op.op)}; use add, replace or remove`, 'invalidSyntax');
    }
  }
  return change;
}
