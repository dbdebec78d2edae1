import { badRequest } from '../lib/errors.ts';
import { ENTERPRISE_USER, parsePath, pathKey, type AttrPath } from './paths.ts';

// A connection's SCIM mapping: which SCIM attribute fills which Auth0 user
// attribute, `[{scim, auth0}]` as Auth0's Management API holds it. The same
// list reads an incoming SCIM user into a profile, renders a user back as a
// SCIM resource, and tells the filter which column an attribute lives in.

export interface MappingItem { auth0: string; scim: string }
export interface ScimConfig { user_id_attribute: string; mapping: MappingItem[] }

/** The user's root attributes a mapping may fill; anything else goes under app_metadata or user_metadata. */
export const ROOT_TARGETS = ['email', 'username', 'name', 'nickname', 'given_name', 'family_name', 'picture', 'phone_number', 'blocked'] as const;
export type RootTarget = typeof ROOT_TARGETS[number];

const ent = (attr: string) => `${ENTERPRISE_USER}:${attr}`;
/**
 * Auth0's default mapping, with the attributes Auth0 keeps at the root of an
 * enterprise profile (preferred_username, external_id) placed where a Postern
 * user can hold them: `username` and `app_metadata.external_id`.
 */
export const DEFAULT_MAPPING: MappingItem[] = [
  { scim: 'userName', auth0: 'username' },
  { scim: 'emails[primary eq true].value', auth0: 'email' },
  { scim: 'externalId', auth0: 'app_metadata.external_id' },
  { scim: 'active', auth0: 'blocked' },
  { scim: 'displayName', auth0: 'name' },
  { scim: 'name.givenName', auth0: 'given_name' },
  { scim: 'name.familyName', auth0: 'family_name' },
  { scim: 'name.middleName', auth0: 'app_metadata.middle_name' },
  { scim: 'name.honorificPrefix', auth0: 'app_metadata.honorific_prefix' },
  { scim: 'name.honorificSuffix', auth0: 'app_metadata.honorific_suffix' },
  { scim: 'nickName', auth0: 'nickname' },
  { scim: 'photos[type eq "photo"].value', auth0: 'picture' },
  { scim: 'phoneNumbers[primary eq true].value', auth0: 'app_metadata.primary_phone_number' },
  { scim: 'phoneNumbers[type eq "mobile"].value', auth0: 'app_metadata.mobile_phone_number' },
  { scim: 'addresses[type eq "work"].streetAddress', auth0: 'app_metadata.street_address' },
  { scim: 'addresses[type eq "work"].locality', auth0: 'app_metadata.city' },
  { scim: 'addresses[type eq "work"].region', auth0: 'app_metadata.state' },
  { scim: 'addresses[type eq "work"].postalCode', auth0: 'app_metadata.postal_code' },
  { scim: 'addresses[type eq "work"].country', auth0: 'app_metadata.country' },
  { scim: 'profileUrl', auth0: 'app_metadata.profile_url' },
  { scim: 'userType', auth0: 'app_metadata.user_type' },
  { scim: 'title', auth0: 'app_metadata.title' },
  { scim: 'preferredLanguage', auth0: 'app_metadata.language' },
  { scim: 'locale', auth0: 'app_metadata.locale' },
  { scim: 'timezone', auth0: 'app_metadata.timezone' },
  { scim: ent('employeeNumber'), auth0: 'app_metadata.employee_id' },
  { scim: ent('costCenter'), auth0: 'app_metadata.cost_center' },
  { scim: ent('organization'), auth0: 'app_metadata.organization' },
  { scim: ent('division'), auth0: 'app_metadata.division' },
  { scim: ent('department'), auth0: 'app_metadata.department' },
  { scim: ent('manager.value'), auth0: 'app_metadata.manager_id' },
];

/** SAML users are named by their NameID, which identity providers send as userName; OIDC users by the IdP's id. */
export const defaultUserIdAttribute = (strategy: string) => (strategy === 'okta' || strategy === 'oidc' ? 'externalId' : 'userName');

/** Where an Auth0 attribute lives: a root column, or a key path inside a metadata document. */
export type Target = { root: RootTarget } | { doc: 'app_metadata' | 'user_metadata'; keys: string[] };
export interface Mapped { item: MappingItem; path: AttrPath; target: Target }

const KEY = /^[A-Za-z0-9_-]{1,64}$/;
function target(auth0: string): Target | undefined {
  if ((ROOT_TARGETS as readonly string[]).includes(auth0)) return { root: auth0 as RootTarget };
  const [doc, ...keys] = auth0.split('.');
  if ((doc === 'app_metadata' || doc === 'user_metadata') && keys.length && keys.length <= 5 && keys.every((k) => KEY.test(k))) return { doc, keys };
  return undefined;
}
const targetKey = (t: Target) => ('root' in t ? t.root : `${t.doc}.${t.keys.join('.')}`);

/** SCIM attributes that only the server sets, or that an enterprise user cannot have. */
const UNMAPPABLE = new Set(['id', 'meta', 'schemas', 'password', 'groups']);
const unmappable = (p: AttrPath) => !p.schema && UNMAPPABLE.has(p.attr.toLowerCase());
const MAX_ITEMS = 100;

/**
 * The mapping, checked and resolved; a bad item is a 400 in Auth0's shape,
 * so a configuration that is saved can always be applied.
 */
export function resolveMapping(mapping: unknown): Mapped[] {
  if (!Array.isArray(mapping)) throw badRequest("Payload validation error: 'mapping must be an array' on property mapping.");
  if (mapping.length > MAX_ITEMS) throw badRequest(`Payload validation error: 'mapping can have at most ${MAX_ITEMS} items' on property mapping.`);
  const out: Mapped[] = [];
  const seenScim = new Set<string>();
  const seenAuth0: string[] = [];
  for (const item of mapping) {
    const { auth0, scim } = item ?? {};
    if (typeof auth0 !== 'string' || typeof scim !== 'string') throw badRequest("Payload validation error: 'each mapping item needs the strings auth0 and scim' on property mapping.");
    const path = parsePath(scim);
    if (!path || unmappable(path)) {
      throw badRequest(`Payload validation error: '${JSON.stringify(scim)} is not a SCIM attribute that can be mapped' on property mapping.`);
    }
    const t = target(auth0);
    if (!t) throw badRequest(`Payload validation error: '${JSON.stringify(auth0)} is not an Auth0 user attribute that can be mapped (one of ${ROOT_TARGETS.join(', ')}, app_metadata.* or user_metadata.*)' on property mapping.`);
    const isActive = !path.schema && !path.sub && path.attr.toLowerCase() === 'active';
    if (isActive !== ('root' in t && t.root === 'blocked')) throw badRequest("Payload validation error: 'the SCIM attribute active maps only to blocked, and blocked only from active' on property mapping.");
    // One-to-one, as in Auth0: a SCIM attribute fills one Auth0 attribute, and
    // no Auth0 attribute (nor a metadata path inside another) is filled twice.
    const key = pathKey(path);
    if (seenScim.has(key)) throw badRequest(`Payload validation error: 'the SCIM attribute ${scim} is mapped more than once' on property mapping.`);
    const tk = targetKey(t);
    if (seenAuth0.some((o) => o === tk || o.startsWith(`${tk}.`) || tk.startsWith(`${o}.`))) {
      throw badRequest(`Payload validation error: 'the Auth0 attribute ${auth0} is mapped more than once' on property mapping.`);
    }
    seenScim.add(key);
    seenAuth0.push(tk);
    out.push({ item: { auth0, scim }, path, target: t });
  }
  return out;
}

export function checkUserIdAttribute(attr: unknown): string {
  const path = typeof attr === 'string' && attr.length <= 128 ? parsePath(attr) : undefined;
  if (!path || unmappable(path)) {
    throw badRequest("Payload validation error: 'user_id_attribute must be a SCIM attribute path' on property user_id_attribute.");
  }
  return attr as string;
}
