import { createHash, randomBytes } from 'node:crypto';
import type { Env } from './env.ts';

// The auth_session of Auth0's passkey API: what /passkey/register or
// /passkey/challenge promised (the challenge, the application, the
// connection, a signup's profile) until the passkey grant spends it. Kept in
// oidc_payloads under the hash of the opaque value, so any node can spend it,
// and only once: a failed attempt spends it too, so a challenge is never
// guessed at twice.

const MODEL = 'PasskeySession';
/** How long a session lasts, which the WebAuthn options' `timeout` tells the authenticator too (milliseconds). */
export const PASSKEY_TIMEOUT_MS = 300_000;

export const sessionId = (authSession: string) => createHash('sha256').update(authSession).digest('base64url');

export interface SignupProfile {
  email?: string; username?: string; phone_number?: string; name?: string;
  given_name?: string; family_name?: string; nickname?: string; picture?: string;
}

interface SessionBase { client_id: string; connection: string; challenge: string }
export type PasskeySession =
  | SessionBase & { kind: 'signup'; user_id: string; profile: SignupProfile; user_metadata?: Record<string, string> }
  | SessionBase & { kind: 'login' };

/** Stores a new session; answers its opaque value. */
export async function openPasskeySession(env: Env, session: PasskeySession): Promise<string> {
  const authSession = randomBytes(32).toString('base64url');
  await env.store.upsertPayload({
    model: MODEL, id: sessionId(authSession), payload: JSON.stringify(session), grant_id: null, uid: null, user_code: null,
    account_id: session.kind === 'signup' ? session.user_id : null,
    expires_at: Math.floor((Date.now() + PASSKEY_TIMEOUT_MS) / 1000), consumed_at: null,
  });
  return authSession;
}

/** The session, spent by this call; undefined when it is unknown, expired or already spent. */
export async function spendPasskeySession(env: Env, authSession: string): Promise<PasskeySession | undefined> {
  if (!/^[\w-]{43}$/.test(authSession)) return undefined;
  const row = await env.store.findPayload(MODEL, 'id', sessionId(authSession));
  if (!row || row.consumed_at || (row.expires_at ?? 0) <= Date.now() / 1000) return undefined;
  if (!(await env.store.claimPayload(MODEL, row.id))) return undefined;
  return JSON.parse(row.payload) as PasskeySession;
}
