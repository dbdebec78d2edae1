import type { Env } from '../tenant/env.ts';
import type { Engine } from './provider.ts';

// OIDC Back-Channel Logout as Auth0 configures it: an application's
// `oidc_logout.backchannel_logout_urls` receive a logout token when a session
// it took part in ends, for the initiators the application selected. The
// engine signs and sends the token; this decides when and to whom.

export type LogoutInitiator = 'rp-logout' | 'idp-logout' | 'session-revoked';

/** What Auth0 applications without a selection get. */
const DEFAULT_INITIATORS: LogoutInitiator[] = ['rp-logout', 'idp-logout'];

/**
 * The engine's outgoing requests (only back-channel logout tokens here). Its
 * default refuses loopback and private addresses; a self-hosted tenant's
 * applications live on exactly those, and only tenant administrators set
 * these URLs.
 */
export const engineFetch = (url: string | URL, options: RequestInit & { dispatcher?: unknown }) => {
  const { dispatcher: _ssrfGuard, ...rest } = options;
  return globalThis.fetch(url, rest);
};

/** The application's back-channel logout URL (Auth0 takes the first), from either of Auth0's two field names. */
export function backchannelLogoutUri(data: any): string | undefined {
  const urls = data?.oidc_logout?.backchannel_logout_urls ?? data?.oidc_backchannel_logout?.backchannel_logout_urls ?? [];
  return urls.find((u: unknown) => typeof u === 'string' && URL.canParse(u) && /^https?:$/.test(new URL(u).protocol));
}

function initiatorSelected(data: any, initiator: LogoutInitiator): boolean {
  const set = data?.oidc_logout?.backchannel_logout_initiators;
  if (set?.mode === 'all') return true;
  return (set?.selected_initiators ?? DEFAULT_INITIATORS).includes(initiator);
}

/**
 * Sends a logout token to every application of the session (the engine's
 * Session payload) that asked for this initiator. Failures are logged: an
 * unreachable application must not keep the user signed in elsewhere.
 */
export async function sendBackchannelLogouts(env: Env, engine: Engine, session: { accountId?: string; authorizations?: Record<string, { sid?: string }> }, initiator: LogoutInitiator) {
  if (!session.accountId) return;
  await Promise.all(Object.entries(session.authorizations ?? {}).map(async ([clientId, { sid }]) => {
    const app = await engine.clients.get(clientId);
    if (!app || !backchannelLogoutUri(app.data) || !initiatorSelected(app.data, initiator)) return;
    const client = await (engine.provider as any).Client.find(clientId);
    if (!client?.backchannelLogoutUri) return;
    await client.backchannelLogout(session.accountId, sid).catch((e: Error) => {
      env.log.warn({ client_id: clientId, initiator, reason: e.message }, 'back-channel logout failed');
    });
  }));
}
