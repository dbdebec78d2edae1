import { randomBytes } from 'node:crypto';
import type { Env } from '../tenant/env.ts';
import type { RequestEvidence } from './verify.ts';

// A SAML request waiting for its login: kept server-side (every node sees it)
// under a random id that travels as the authorization request's `state`, and
// taken once when the login comes back.

const MODEL = 'SamlpRequest';
const TTL_SECONDS = 3600; // as long as the engine keeps the login's interaction

export interface PendingSaml {
  clientId: string; acsUrl: string; audience?: string; requestId?: string; relayState?: string;
  /** The AuthnRequest as it came, so that a signingCert an action sets can still be checked against it. */
  evidence?: RequestEvidence;
  /** The signingCert the request was checked against when it arrived. */
  checkedWith?: string;
  /** PKCE verifier of the authorization request, so only this server can redeem its code. */
  verifier: string;
}

export async function savePending(env: Env, p: PendingSaml): Promise<string> {
  const id = randomBytes(24).toString('base64url');
  await env.store.upsertPayload({
    model: MODEL, id, payload: JSON.stringify(p), grant_id: null, uid: null, user_code: null, account_id: null,
    expires_at: Math.floor(Date.now() / 1000) + TTL_SECONDS, consumed_at: null,
  });
  return id;
}

/** The pending request, once: a second taker (a replayed callback) gets nothing. */
export async function takePending(env: Env, id: unknown): Promise<PendingSaml | undefined> {
  if (typeof id !== 'string' || !/^[\w-]{32}$/.test(id)) return undefined;
  const row = await env.store.findPayload(MODEL, 'id', id);
  if (!row || row.consumed_at || (row.expires_at ?? 0) < Date.now() / 1000) return undefined;
  if (!(await env.store.claimPayload(MODEL, id))) return undefined;
  return JSON.parse(row.payload) as PendingSaml;
}
