import { randomBytes } from 'node:crypto';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** Random alphanumeric string (rejection sampling keeps the alphabet uniform). */
export function alnum(n: number): string {
  let out = '';
  while (out.length < n) {
    for (const b of randomBytes(n * 2)) {
      if (b < 248 && out.length < n) out += ALNUM[b % 62];
    }
  }
  return out;
}
const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
/** Random base58 string (the alphabet of Auth0's group ids). */
function base58(n: number): string {
  let out = '';
  while (out.length < n) {
    for (const b of randomBytes(n * 2)) {
      if (b < 232 && out.length < n) out += BASE58[b % 58];
    }
  }
  return out;
}
export const hex = (bytes: number) => randomBytes(bytes).toString('hex');

// Id shapes follow Auth0's so clients that sniff prefixes keep working.
export const ids = {
  client: () => alnum(32),
  clientSecret: () => randomBytes(48).toString('base64url'),
  resourceServer: () => hex(12),
  clientGrant: () => `cgr_${alnum(16)}`,
  connection: () => `con_${alnum(16)}`,
  user: () => hex(12),
  role: () => `rol_${alnum(16)}`,
  organization: () => `org_${alnum(16)}`,
  invitation: () => `uinv_${alnum(16)}`,
  group: () => `grp_${base58(22)}`,
};
