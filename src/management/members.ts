import type { UserSummary } from '../store/rbac-store.ts';

/** The `{user_id, email, picture, name}` shape role and organization member lists use. */
export function memberJson(u: UserSummary) {
  const out: Record<string, unknown> = { user_id: u.user_id };
  if (u.email) out.email = u.email;
  if (u.picture) out.picture = u.picture;
  if (u.name) out.name = u.name;
  return out;
}
