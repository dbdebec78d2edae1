import { ApiError, conflict, notFound } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';
import { changeDevicePublicKeys, devicePublicKeysOf, newDevicePublicKeyId, usersWithDevicePublicKeys } from '../tenant/device-public-keys.ts';
import { inMemory } from './doc-helpers.ts';
import { projector } from './fields.ts';
import { listResponse } from './pagination.ts';
import { live } from './payload-list.ts';
import { destroyWithMetadata } from './payload-metadata.ts';
import { checkTicketClient } from './tickets.ts';
import { insufficientScope, reply, route, type OpContext, type Route } from './router.ts';

// Auth0's device credentials: the public keys users register for their devices
// (tenant/device-public-keys.ts), and the engine's refresh tokens, shown as
// `refresh_token`, or `rotating_refresh_token` when their client rotates them,
// under the id GET /refresh-tokens shows. Deleting a refresh token revokes it.
// A user's own token (a `current_user` scope, `self`) registers keys for that
// user and deletes only that user's credentials.

type CredentialType = 'public_key' | 'refresh_token' | 'rotating_refresh_token';
interface Credential { id: string; device_name?: string; device_id?: string; type: CredentialType; user_id: string; client_id: string }

const REFRESH_TOKEN = 'RefreshToken';
const missing = () => notFound('The device credential does not exist.', 'inexistent_device_credential');

async function publicKeys(env: Env, userId?: string): Promise<Credential[]> {
  const rows = userId ? [await env.store.getUser(userId)].filter((r) => r !== undefined) : await usersWithDevicePublicKeys(env);
  return rows.flatMap((row) => devicePublicKeysOf(row).map((k): Credential => ({
    id: k.id, device_name: k.device_name, device_id: k.device_id, type: 'public_key', user_id: row.user_id, client_id: k.client_id,
  })));
}

async function refreshTokens(env: Env, userId?: string): Promise<Credential[]> {
  const rows = (await env.store.listPayloads(REFRESH_TOKEN, userId ? { account_id: userId } : {})).filter((r) => r.uid && live(r));
  const rotates = new Map<string, boolean>();
  const out: Credential[] = [];
  for (const row of rows) {
    const p = JSON.parse(row.payload);
    if (!rotates.has(p.clientId)) rotates.set(p.clientId, (await env.store.clients.get(p.clientId))?.data.refresh_token?.rotation_type === 'rotating');
    out.push({ id: row.uid!, type: rotates.get(p.clientId) ? 'rotating_refresh_token' : 'refresh_token', user_id: p.accountId ?? row.account_id, client_id: p.clientId });
  }
  return out;
}

/** Without a type Auth0 lists public keys and (non-rotating) refresh tokens together. */
async function listCredentials(env: Env, query: Record<string, any>): Promise<Credential[]> {
  const types: CredentialType[] = query.type ? [query.type] : ['public_key', 'refresh_token'];
  const userId = query.user_id ? String(query.user_id) : undefined;
  const found = [
    ...(types.includes('public_key') ? await publicKeys(env, userId) : []),
    ...(types.some((t) => t !== 'public_key') ? await refreshTokens(env, userId) : []),
  ];
  return found.filter((c) => types.includes(c.type) && (!query.client_id || c.client_id === String(query.client_id)))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The user a `current_user` token speaks for; a client's own token has none, so it cannot register a device. */
function tokenUser({ token, self }: OpContext): string {
  if (!self || token.gty === 'client-credentials' || self.endsWith('@clients')) {
    throw new ApiError(400, 'Device credentials can only be created with an access token issued to a user.', 'operation_not_supported');
  }
  return self;
}

export const deviceCredentialRoutes: Route[] = [
  route('GET', '/device-credentials', async ({ env, query }) =>
    listResponse(query, inMemory(() => listCredentials(env, query)), { key: 'device_credentials', project: projector(query) })),
  route('POST', '/device-credentials', async (c) => {
    const userId = tokenUser(c);
    const { env, body, token } = c;
    const clientId = String(body.client_id ?? token.azp ?? token.client_id ?? '');
    await checkTicketClient(env, clientId);
    const id = newDevicePublicKeyId();
    await changeDevicePublicKeys(env, userId, (keys) => {
      if (keys.some((k) => k.device_id === body.device_id && k.client_id === clientId)) {
        throw conflict('A device credential for this device_id and client already exists for the user.', 'device_credential_conflict');
      }
      return [...keys, { id, device_name: body.device_name, device_id: body.device_id, client_id: clientId, value: body.value, created_at: new Date().toISOString() }];
    });
    return reply(201, { id });
  }),
  route('DELETE', '/device-credentials/{id}', async ({ env, params, self }) => {
    // A user's own token reaches its own credentials only, as with /users/{id}.
    const mine = (owner: string) => { if (self !== undefined && owner !== self) throw insufficientScope(['delete:device_credentials']); };
    const [holder] = await usersWithDevicePublicKeys(env, params.id);
    if (holder) {
      mine(holder.user_id);
      await changeDevicePublicKeys(env, holder.user_id, (keys) => {
        const kept = keys.filter((k) => k.id !== params.id);
        if (kept.length === keys.length) throw missing();
        return kept;
      });
      return;
    }
    const row = await env.store.findPayload(REFRESH_TOKEN, 'uid', params.id);
    if (!row || !live(row)) throw missing();
    mine(String(row.account_id));
    await destroyWithMetadata(env, REFRESH_TOKEN, [row]);
  }),
];
