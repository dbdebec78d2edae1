import { createHash } from 'node:crypto';

// A CIMD application (an application registered from a Client ID Metadata
// Document) has two ids, as in Auth0: its own client_id, which the Management
// API uses, and its document's URL (external_client_id), which it presents at
// /authorize and /oauth/token. The first is derived from the second, so that
// the login path finds the application with one primary-key read, and two
// registrations of one URL, even concurrent ones, meet on one row.

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** The Auth0-shaped client_id (32 alphanumerics) of the application registered from `url`. */
export function cimdClientId(url: string): string {
  const digest = createHash('sha256').update(`cimd:${url}`).digest();
  return Array.from(digest, (b) => ALNUM[b % 62]).join('');
}

/** Whether a client_id given to the protocol endpoints names a metadata document rather than an application. */
export const isCimdUrl = (id: string) => id.startsWith('https://');
