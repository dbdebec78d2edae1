import { alnum } from '../lib/ids.ts';
import type { UserRow } from '../store/schema.ts';
import { RETRY, untilLanded } from '../store/store.ts';
import type { Env } from './env.ts';
import { loadUser } from './users.ts';

// The public keys a user registers for a device (Auth0's `public_key` device
// credentials). They live in the user's row (`data.device_public_keys`), so
// they go when the user goes, and every change is a compare-and-swap on that
// row (Store.updateUser), so concurrent changes never drop each other. A public
// key is no secret and is kept as given; the Management API never answers it.

export interface DevicePublicKey { id: string; device_name: string; device_id: string; client_id: string; value: string; created_at: string }

/** Auth0's shape: `dcr_` and 16 characters. */
export const newDevicePublicKeyId = () => `dcr_${alnum(16)}`;
const ID = /^dcr_[A-Za-z0-9]{16}$/;

export const devicePublicKeysOf = (row: UserRow): DevicePublicKey[] => JSON.parse(row.data).device_public_keys ?? [];

/** Read-modify-write of a user's keys; `change` may run again on a fresher row, and throws to refuse. */
export async function changeDevicePublicKeys(env: Env, userId: string, change: (keys: DevicePublicKey[]) => DevicePublicKey[]) {
  return untilLanded(async () => {
    const row = await loadUser(env, userId);
    const next = change(devicePublicKeysOf(row));
    const data = JSON.stringify({ ...JSON.parse(row.data), device_public_keys: next });
    return (await env.store.updateUser(userId, { data }, row)) ? next : RETRY;
  });
}

/**
 * The users holding device public keys, or with `id` the one holding that key.
 * Key ids name no user, so LIKE narrows the rows and the check below is exact;
 * this is an administrator's lookup, not one on a login's path.
 */
export async function usersWithDevicePublicKeys(env: Env, id?: string): Promise<UserRow[]> {
  if (id !== undefined && !ID.test(id)) return [];
  const rows = await env.store.usersQuery().selectAll().where('data', 'like', id ? `%"${id}"%` : '%"device_public_keys":[{%').execute();
  return rows.filter((row) => devicePublicKeysOf(row).some((k) => id === undefined || k.id === id));
}
