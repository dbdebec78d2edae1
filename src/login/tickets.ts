import { createHash, randomBytes } from 'node:crypto';
import type { Env } from '../tenant/env.ts';

// Single-use, expiring tickets for password reset, email verification and MFA enrollment.
// The ticket in the link is 256 random bits; only its hash is stored (as an
// oidc_payloads row), so the database never holds a usable ticket. Using one
// claims it atomically, which is what makes it single-use under concurrency.

export type TicketKind = 'PasswordTicket' | 'VerifyTicket' | 'GuardianEnrollmentTicket';
export interface TicketData {
  user_id: string; client_id?: string; result_url?: string; organization_id?: string;
  mark_email_as_verified?: boolean; include_email?: boolean;
  /** MFA enrollment tickets: the factor to enroll and whether an enrolled user may add another. */
  factor?: string; allow_multiple_enrollments?: boolean;
}

/** Auth0's default lifetime for every kind of ticket: five days. */
export const DEFAULT_TICKET_TTL = 5 * 24 * 3600;
// No page serves MFA enrollment tickets yet: the ticket is kept (hashed) for when one does.
const PAGES: Record<TicketKind, string> = { PasswordTicket: 'u/reset-password', VerifyTicket: 'u/email-verification', GuardianEnrollmentTicket: 'u/guardian/enrollment' };
const hashOf = (ticket: string) => createHash('sha256').update(ticket).digest('base64url');
const wellFormed = (ticket: unknown): ticket is string => typeof ticket === 'string' && /^[A-Za-z0-9_-]{43}$/.test(ticket);

/** Creates a ticket and returns the link a person opens. */
export async function createTicket(env: Env, kind: TicketKind, data: TicketData, ttlSec = DEFAULT_TICKET_TTL): Promise<string> {
  const ticket = randomBytes(32).toString('base64url');
  await env.store.upsertPayload({
    model: kind, id: hashOf(ticket), payload: JSON.stringify(data),
    grant_id: null, uid: null, user_code: null, account_id: data.user_id,
    expires_at: Math.floor(Date.now() / 1000) + (ttlSec > 0 ? ttlSec : DEFAULT_TICKET_TTL), consumed_at: null,
  });
  return `${env.issuer}${PAGES[kind]}?ticket=${ticket}#`;
}

/** The ticket's data while it is unused and unexpired. */
export async function peekTicket(env: Env, kind: TicketKind, ticket: unknown): Promise<TicketData | undefined> {
  if (!wellFormed(ticket)) return undefined;
  const row = await env.store.findPayload(kind, 'id', hashOf(ticket));
  if (!row || row.consumed_at || (row.expires_at && row.expires_at <= Date.now() / 1000)) return undefined;
  return JSON.parse(row.payload);
}

/** Uses a ticket up; only one caller ever gets its data. */
export async function claimTicket(env: Env, kind: TicketKind, ticket: unknown): Promise<TicketData | undefined> {
  const data = await peekTicket(env, kind, ticket);
  if (!data || !(await env.store.claimPayload(kind, hashOf(ticket as string)))) return undefined;
  return data;
}

/** Gives a claimed ticket back, when the action it was claimed for was refused (e.g. a weak password). */
export async function releaseTicket(env: Env, kind: TicketKind, ticket: string) {
  await env.store.releasePayload(kind, hashOf(ticket));
}

/** Where Auth0 sends the browser after a ticket's action; only http(s) targets are followed. */
export function resultRedirect(data: TicketData, email: string | null, message: string): string | undefined {
  if (!data.result_url) return undefined;
  let u: URL;
  try { u = new URL(data.result_url); } catch { return undefined; }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return undefined;
  u.searchParams.set('success', 'true');
  u.searchParams.set('message', message);
  if (data.include_email && email) u.searchParams.set('email', email);
  return u.toString();
}
