import { errors } from 'oidc-provider';
import type { Env } from '../tenant/env.ts';
import type { ClientCache } from './clients.ts';
import type { ResourceServerCache } from './resource-servers.ts';

// Refresh tokens with Auth0's per-application settings: issued only for
// offline_access (and an API that allows offline access), rotating or not,
// absolute and idle lifetimes, a reuse leeway after rotation. Consuming a code
// (authorization or device) or a refresh token is atomic, so of two concurrent uses exactly one wins.

const FOREVER = 100 * 365 * 24 * 3600;
const now = () => Math.floor(Date.now() / 1000);

export function refreshSettings(client: any) {
  return (client?.refresh_token ?? {}) as {
    rotation_type?: string; leeway?: number; token_lifetime?: number; idle_token_lifetime?: number;
    infinite_token_lifetime?: boolean; infinite_idle_token_lifetime?: boolean;
  };
}

export function issueRefreshTokenFor(apis: ResourceServerCache) {
  return async (_ctx: unknown, client: any, source: any) => {
    if (!client.grantTypeAllowed('refresh_token') || !source.scopes.has('offline_access')) return false;
    const resources = [source.resource].flat().filter(Boolean) as string[];
    for (const r of resources) {
      const api = await apis.get(r);
      if (!api?.data.allow_offline_access) return false;
    }
    return true;
  };
}

export function rotateRefreshToken(ctx: any) {
  return refreshSettings(ctx.oidc.entities.Client).rotation_type === 'rotating';
}

/** Remaining life of a refresh token: the family's absolute lifetime, capped by the idle lifetime. */
export function refreshTokenTTL(_ctx: unknown, token: any, client: any) {
  const s = refreshSettings(client);
  let ttl = FOREVER;
  if (!s.infinite_token_lifetime && s.token_lifetime) ttl = Math.min(ttl, (token.iiat ?? now()) + s.token_lifetime - now());
  if (!s.infinite_idle_token_lifetime && s.idle_token_lifetime) ttl = Math.min(ttl, s.idle_token_lifetime);
  return Math.max(1, ttl);
}

/** One-time credentials whose use is a compare-and-set, and the answer to a second use. */
const ONE_TIME = new Map([
  ['RefreshToken', 'refresh token already used'], ['AuthorizationCode', 'authorization code already consumed'],
  ['DeviceCode', 'device code already consumed'], ['BackchannelAuthenticationRequest', 'backchannel authentication request already consumed'],
]);

/**
 * Wraps the storage adapter: rotated refresh tokens stay usable for the
 * client's leeway, and consume() is a compare-and-set.
 */
export function withAuth0Consumption(Base: any, env: Env, clients: ClientCache) {
  const leewayOf = async (payload: any) => {
    const c = payload?.clientId ? await clients.get(payload.clientId) : undefined;
    return Number(c?.data.refresh_token?.leeway ?? 0);
  };
  return class Auth0Adapter extends Base {
    declare model: string;
    constructor(model: string) { super(model); (this as any).modelName = model; }

    async find(id: string) {
      const payload = await super.find(id);
      if ((this as any).modelName === 'RefreshToken' && payload?.consumed) {
        const leeway = await leewayOf(payload);
        if (leeway > 0 && now() - Number(payload.consumed) <= leeway) delete payload.consumed;
      }
      return payload;
    }

    async consume(id: string) {
      const model = (this as any).modelName;
      if (!ONE_TIME.has(model)) return super.consume(id);
      if (await env.store.claimPayload(model, id)) return;
      const row = await env.store.findPayload(model, 'id', id);
      const payload = row ? JSON.parse(row.payload) : undefined;
      if (model === 'RefreshToken' && row?.consumed_at) {
        const leeway = await leewayOf(payload);
        if (leeway > 0 && now() - row.consumed_at <= leeway) return;
      }
      // Lost a race for a one-time credential: a replayed code revokes what it produced.
      if (model !== 'RefreshToken' && payload?.grantId) await env.store.revokeGrant(payload.grantId);
      throw new errors.InvalidGrant(ONE_TIME.get(model)!);
    }
  };
}
