import type { Env } from './env.ts';

// Every Auth0 tenant has one "All Applications" client (`global: true`): it
// holds tenant-wide login settings, above all the Classic custom login page
// (`custom_login_page_on`, `custom_login_page`). It is listed by the
// Management API but cannot log anyone in.

export const GLOBAL_CLIENT_NAME = 'All Applications';

export async function globalClient(env: Env) {
  // By flag, not name: an administrator may rename it.
  return (await env.store.clients.list()).items.find((d: any) => d.data.global === true);
}
