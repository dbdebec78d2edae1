import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Env } from './env.ts';

// A login proved somewhere other than the login page (a magic link opened, or
// credentials posted to /co/authenticate by an embedded login form), carried
// to the login page through /authorize: single-use, short-lived, stored
// hashed, and good only for the application it was made for.

const MODEL = 'LoginTicket';
const digest = (t: string) => createHash('sha256').update(t).digest('base64url');
const TICKET_SHAPE = /^[\w-]{43}$/;

export interface TicketData {
  user_id: string; client_id: string;
  /** Classic login pages: the login transaction (interaction) the ticket finishes, and no other. */
  state?: string;
  /** Cross-origin logins: the id the browser's verifier is stored under, and the verifier's digest. */
  co_id?: string; co_verifier?: string;
}

export interface IssuedTicket { ticket: string; verifier?: string; coId?: string }

/** A new ticket; `crossOrigin` also makes the verifier that binds it to the browser that logged in. */
export async function issueLoginTicket(env: Env, data: Pick<TicketData, 'user_id' | 'client_id' | 'state'>, ttl: number, crossOrigin = false): Promise<IssuedTicket> {
  const ticket = randomBytes(32).toString('base64url');
  const verifier = crossOrigin ? randomBytes(32).toString('base64url') : undefined;
  const coId = crossOrigin ? randomBytes(16).toString('base64url') : undefined;
  const stored: TicketData = { ...data, ...(verifier ? { co_id: coId, co_verifier: digest(verifier) } : {}) };
  await env.store.upsertPayload({
    model: MODEL, id: digest(ticket), payload: JSON.stringify(stored),
    grant_id: null, uid: null, user_code: null, account_id: data.user_id, expires_at: Math.floor(Date.now() / 1000) + ttl, consumed_at: null,
  });
  return { ticket, verifier, coId };
}

/** The unspent, unexpired ticket for the application, without spending it. */
export async function peekLoginTicket(env: Env, ticket: unknown, clientId: string): Promise<(TicketData & { key: string }) | undefined> {
  if (typeof ticket !== 'string' || !TICKET_SHAPE.test(ticket)) return undefined;
  const row = await env.store.findPayload(MODEL, 'id', digest(ticket));
  if (!row || row.consumed_at || (row.expires_at ?? 0) <= Date.now() / 1000) return undefined;
  const data = JSON.parse(row.payload) as TicketData;
  return data.client_id === clientId ? { ...data, key: row.id } : undefined;
}

/** True when `verifier` is the one made with the ticket. */
export function verifierMatches(data: TicketData, verifier: unknown): boolean {
  if (!data.co_verifier || typeof verifier !== 'string' || !TICKET_SHAPE.test(verifier)) return false;
  const a = Buffer.from(digest(verifier)); const b = Buffer.from(data.co_verifier);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Spends a peeked ticket; false when another request spent it first. */
export const spendLoginTicket = (env: Env, peeked: { key: string }) => env.store.claimPayload(MODEL, peeked.key);

/** The user a ticket logs in, once (peek and spend). */
export async function claimLoginTicket(env: Env, ticket: unknown, clientId: string): Promise<string | undefined> {
  const peeked = await peekLoginTicket(env, ticket, clientId);
  return peeked && await spendLoginTicket(env, peeked) ? peeked.user_id : undefined;
}
