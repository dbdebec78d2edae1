import type { Adapter, AdapterPayload } from 'oidc-provider';
import { createHash } from 'node:crypto';
import type { Store } from '../store/store.ts';

const POLLED_MODELS = new Set(['DeviceCode', 'BackchannelAuthenticationRequest']);

/** A refresh token's Management API id: its jti IS the token, so only a hash of it is shown. */
export const refreshTokenId = (jti: string) => `rt_${createHash('sha256').update(jti).digest('base64url').slice(0, 27)}`; // 30 characters: Auth0's limit on a refresh token id

// oidc-provider's persistence, over the shared schema. Clients are not stored
// here: they are Auth0 applications and come from the clients table.
export function adapterFactory(store: Store, findClient: (id: string) => Promise<AdapterPayload | undefined>) {
  return class KyselyAdapter implements Adapter {
    constructor(private model: string) {}

    async upsert(id: string, payload: AdapterPayload, expiresIn: number) {
      await store.upsertPayload({
        model: this.model, id, payload: JSON.stringify(payload),
        // An interaction names the grant it may extend, but is not that grant's: when another
        // user logs in mid-interaction the engine revokes the old grant and must find the interaction after.
        grant_id: this.model === 'Interaction' ? null : payload.grantId ?? null, uid: payload.uid ?? (this.model === 'RefreshToken' ? refreshTokenId(id) : null), user_code: payload.userCode ?? null,
        account_id: payload.accountId ?? null,
        expires_at: expiresIn ? Math.floor(Date.now() / 1000) + expiresIn : null,
        consumed_at: payload.consumed ? Number(payload.consumed) : null,
      });
    }
    private async read(column: 'id' | 'uid' | 'user_code', value: string) {
      const row = await store.findPayload(this.model, column, value);
      if (!row) return undefined;
      // The engine tells an expired device code or CIBA request from an unknown one (expired_token), so it gets to see them.
      if (row.expires_at && row.expires_at < Date.now() / 1000 && !POLLED_MODELS.has(this.model)) return undefined;
      const payload = JSON.parse(row.payload);
      if (row.consumed_at) payload.consumed = row.consumed_at;
      return payload as AdapterPayload;
    }
    async find(id: string) {
      if (this.model === 'Client') return findClient(id);
      return this.read('id', id);
    }
    findByUid(uid: string) { return this.read('uid', uid); }
    findByUserCode(userCode: string) { return this.read('user_code', userCode); }
    async consume(id: string) { await store.consumePayload(this.model, id); }
    async destroy(id: string) { await store.destroyPayload(this.model, id); }
    async revokeByGrantId(grantId: string) { await store.revokeGrant(grantId); }
  };
}
