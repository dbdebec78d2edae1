import type { Env } from '../tenant/env.ts';
import type { Engine } from '../oidc/provider.ts';
import { samlpAddon, samlpSettings, type SamlpSettings } from './settings.ts';

// The session's SAML participants: every application with the addon that got
// an assertion from a Postern session, with the NameID it was given, so that
// single logout can send each a LogoutRequest naming the same subject.

const MODEL = 'SamlpParticipant';
// No session outlives Auth0's longest absolute lifetime; the row goes before it matters.
const TTL_SECONDS = 30 * 86400;

export interface Participant { clientId: string; nameId: string; nameIdFormat: string; sessionIndex: string }
export interface ReachableParticipant extends Participant { callback: string; settings: SamlpSettings }

const rowId = (sessionUid: string, clientId: string) => `${sessionUid}:${clientId}`;

export async function rememberParticipant(env: Env, p: Participant) {
  await env.store.upsertPayload({
    model: MODEL, id: rowId(p.sessionIndex, p.clientId), payload: JSON.stringify(p), grant_id: null, uid: p.sessionIndex, user_code: null, account_id: null,
    expires_at: Math.floor(Date.now() / 1000) + TTL_SECONDS, consumed_at: null,
  });
}

/**
 * The applications of this session (but `except`, the SP that asked) that
 * single logout reaches: those with the addon, a logout.callback, and
 * slo_enabled (on by default).
 */
export async function participantsOf(env: Env, engine: Engine, session: { uid?: string; authorizations?: Record<string, unknown> }, except?: string): Promise<ReachableParticipant[]> {
  if (!session.uid) return [];
  const out: ReachableParticipant[] = [];
  for (const clientId of Object.keys(session.authorizations ?? {})) {
    if (clientId === except) continue;
    const addon = samlpAddon(await engine.clients.get(clientId));
    if (!addon) continue;
    const settings = samlpSettings(env, addon);
    if (!settings.sloEnabled || !settings.logoutCallback) continue;
    const row = await env.store.findPayload(MODEL, 'id', rowId(session.uid, clientId));
    if (!row || (row.expires_at ?? 0) < Date.now() / 1000) continue;
    out.push({ ...(JSON.parse(row.payload) as Participant), callback: settings.logoutCallback, settings });
  }
  return out;
}

export const forgetParticipant = (env: Env, sessionUid: string, clientId: string) => env.store.destroyPayload(MODEL, rowId(sessionUid, clientId));
