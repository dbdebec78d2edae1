// Auth0 lets a user's own token reach the Management API only through the
// `*:current_user*` scopes, and those act on that user alone; every other
// Management API scope is for machine-to-machine clients.

export const isCurrentUserScope = (scope: string) => scope.includes(':current_user');

/** What a login (code, implicit, password, refresh) may be granted on an API. */
export function userGrantableScopes(api: { is_system?: boolean; scopes?: { value: string }[] }): string[] {
  const all = (api.scopes ?? []).map((s) => s.value);
  return api.is_system ? all.filter(isCurrentUserScope) : all;
}

/** Keys a `*:current_user_metadata` scope may change on the user. */
export const SELF_WRITABLE = new Set(['user_metadata']);
