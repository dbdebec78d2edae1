import type { Env } from '../tenant/env.ts';
import type { UserRow } from '../store/schema.ts';
import { RETRY, untilLanded } from '../store/store.ts';

// Auth0 answers /userinfo with the custom claims the last login's actions put
// into the application's ID token. They are kept with the user (in its private
// data, which the Management API never shows), one set per application, so
// they go when the user does.

const FIELD = 'userinfo_claims';

/** Records the ID token claims of a login for /userinfo; writes only when they changed. */
export async function rememberUserinfoClaims(env: Env, userId: string, clientId: string, claims: Record<string, unknown>) {
  await untilLanded(async () => {
    const row = await env.store.getUser(userId);
    if (!row) return undefined;
    const extra = JSON.parse(row.data);
    const kept: Record<string, unknown> = extra[FIELD] ?? {};
    if (JSON.stringify(kept[clientId] ?? {}) === JSON.stringify(claims)) return undefined;
    const next = { ...kept, [clientId]: claims };
    if (!Object.keys(claims).length) delete next[clientId];
    return (await env.store.updateUser(userId, { data: JSON.stringify({ ...extra, [FIELD]: next }) }, row)) ? undefined : RETRY;
  });
}

/** The custom claims /userinfo adds for this user and application. */
export function userinfoClaims(row: UserRow, clientId: string | undefined): Record<string, unknown> {
  if (!clientId) return {};
  return JSON.parse(row.data)[FIELD]?.[clientId] ?? {};
}
