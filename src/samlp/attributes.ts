import type { UserRow } from '../store/schema.ts';
import { userJson } from '../tenant/users.ts';
import { UPN_ATTRIBUTE, type SamlpSettings } from './settings.ts';

// What the assertion says about the user, as Auth0 builds it: the mapped
// profile properties, the UPN, the first identity, and (unless turned off)
// every other plain property under http://schemas.auth0.com/ or as is.

export type AttributeValue = string | number | boolean;
export type Attributes = Map<string, AttributeValue[]>;

const AUTH0_NS = 'http://schemas.auth0.com/';
/** Profile properties that are never passed through: internal bookkeeping, or objects handled on their own. */
const NOT_PASSED = new Set(['identities', 'app_metadata', 'user_metadata', 'blocked', 'last_ip', 'last_login', 'logins_count', 'last_password_reset']);

const isPlain = (v: unknown): v is AttributeValue => typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

function values(v: unknown): AttributeValue[] {
  if (isPlain(v)) return [v];
  if (Array.isArray(v)) return v.filter(isPlain);
  return [];
}

/** An attribute set to a value (or list of values) directly, as an action's setAttribute does; null removes it. */
export function setAttribute(attrs: Attributes, name: string, v: unknown) {
  if (!name) return;
  const vals = values(v);
  if (v === null || !vals.length) attrs.delete(name);
  else attrs.set(name, vals);
}

/** A profile property by its dotted path (`user_metadata.color`). */
function lookup(profile: Record<string, any>, path: string): unknown {
  let v: any = profile;
  for (const part of path.split('.')) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, part)) return undefined;
    v = v[part];
  }
  return v;
}

/** The profile the addon maps: the user as the Management API shows it, and the application. */
export function samlProfile(row: UserRow, clientId: string): Record<string, any> {
  return { ...userJson(row), clientID: clientId };
}

export function samlAttributes(profile: Record<string, any>, s: SamlpSettings): Attributes {
  const out: Attributes = new Map();
  const put = (name: string, v: unknown) => {
    const vals = values(v);
    if (vals.length && typeof name === 'string' && name) out.set(name, vals);
  };
  for (const [prop, names] of Object.entries(s.mappings)) {
    const v = lookup(profile, prop);
    for (const name of Array.isArray(names) ? names : [names]) put(name, v);
  }
  if (s.createUpnClaim && !out.has(UPN_ATTRIBUTE)) put(UPN_ATTRIBUTE, profile.email);
  if (s.mapIdentities) {
    const first = Array.isArray(profile.identities) ? profile.identities[0] : undefined;
    if (first) for (const k of ['user_id', 'provider', 'connection', 'isSocial']) put(`${AUTH0_NS}identities/default/${k}`, first[k]);
  }
  if (s.passthroughClaimsWithNoMapping) {
    for (const [prop, v] of Object.entries(profile)) {
      if (NOT_PASSED.has(prop) || Object.hasOwn(s.mappings, prop)) continue;
      const name = s.mapUnknownClaimsAsIs ? prop : `${AUTH0_NS}${prop}`;
      if (!out.has(name)) put(name, v);
    }
  }
  return out;
}

/** NameID: the first probed attribute that has a value, else the user id. */
export function nameIdentifier(attrs: Attributes, s: SamlpSettings, userId: string): string {
  for (const probe of s.nameIdentifierProbes) {
    const v = attrs.get(probe)?.[0];
    if (v !== undefined && v !== '') return String(v);
  }
  return userId;
}
