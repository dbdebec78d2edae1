import { badRequest } from '../lib/errors.ts';

// Directory Sync's default attribute mapping, from Google Workspace Directory
// user fields (`idp`, dotted paths into the Directory API's user resource) to
// Auth0 user attributes, in the order Auth0's documentation lists it. Several
// Google fields feed two Auth0 attributes (`suspended` also makes `blocked`).

export interface MappingItem { auth0: string; idp: string }

const PAIRS: Array<[idp: string, auth0: string]> = [
  ['id', 'id'],
  ['primaryEmail', 'email'],
  ['primaryEmail', 'primaryEmail'],
  ['name.fullName', 'name'],
  ['name.givenName', 'given_name'],
  ['name.familyName', 'family_name'],
  ['isAdmin', 'isAdmin'],
  ['isAdmin', 'is_admin'],
  ['isDelegatedAdmin', 'isDelegatedAdmin'],
  ['agreedToTerms', 'agreedToTerms'],
  ['agreedToTerms', 'tou_accepted'],
  ['suspended', 'suspended'],
  ['suspended', 'is_suspended'],
  ['suspended', 'blocked'],
  ['suspensionReason', 'suspensionReason'],
  ['archived', 'archived'],
  ['ipWhitelisted', 'ipWhitelisted'],
  ['ipWhitelisted', 'is_ipWhitelisted'],
  ['kind', 'kind'],
  ['etag', 'etag'],
  ['customerId', 'customerId'],
  ['orgUnitPath', 'orgUnitPath'],
  ['emails', 'emails'],
  ['phones', 'phones'],
  ['externalIds', 'externalIds'],
  ['aliases', 'aliases'],
  ['addresses', 'addresses'],
  ['organizations', 'organizations'],
  ['nonEditableAliases', 'nonEditableAliases'],
  ['relations', 'relations'],
  ['languages', 'languages'],
];

export const DEFAULT_DIRECTORY_MAPPING: MappingItem[] = PAIRS.map(([idp, auth0]) => ({ auth0, idp }));

/**
 * What the schema cannot say: both sides named, and each Auth0 attribute fed
 * by one Google field only, since two would overwrite each other on every sync.
 */
export function checkMapping(mapping: MappingItem[]): MappingItem[] {
  const seen = new Set<string>();
  for (const [i, { auth0, idp }] of mapping.entries()) {
    if (!auth0.trim() || !idp.trim()) throw badRequest(`Payload validation error: 'auth0 and idp must not be empty' on property mapping[${i}].`);
    if (seen.has(auth0)) throw badRequest(`Payload validation error: 'the Auth0 attribute ${auth0} is mapped more than once' on property mapping[${i}].auth0.`);
    seen.add(auth0);
  }
  return mapping.map(({ auth0, idp }) => ({ auth0, idp }));
}
