import { invalidQuery } from '../lib/errors.ts';
import type { UserSummary } from '../store/rbac-store.ts';

// Checkpoint cursors for user lists are the last user_id returned, made opaque.
export const encodeCursor = (userId: string) => Buffer.from(`u:${userId}`).toString('base64url');
export function decodeCursor(from: string | undefined): string | undefined {
  if (from === undefined) return undefined;
  const s = Buffer.from(from, 'base64url').toString();
  if (!s.startsWith('u:')) throw invalidQuery("Query validation error: 'from' is not a valid checkpoint.");
  return s.slice(2);
}
/** The `{user_id, email, picture, name}` shape role and organization member lists use. */
export function memberJson(u: UserSummary) {
  const out: Record<string, unknown> = { user_id: u.user_id };
  if (u.email) out.email = u.email;
  if (u.picture) out.picture = u.picture;
  if (u.name) out.name = u.name;
  return out;
}
