import type { UserRow } from '../store/schema.ts';
import type { Env } from '../tenant/env.ts';
import { tenantSettings } from '../management/tenant-settings.ts';
import { esc } from './html.ts';
import { sendMail, type Mail } from './mail.ts';
import { createTicket, type TicketData } from './tickets.ts';

// The account emails: reset your password, verify your email, and enroll in
// MFA. Each carries a ticket link to a /u/ page.

type Extra = Omit<TicketData, 'user_id'> & { ttl_sec?: number };

function compose(brand: string, to: string, subject: string, intro: string, action: string, link: string): Mail {
  return {
    to, subject, link,
    text: `${intro}\n\n${action}: ${link}\n\nIf you did not ask for this, you can ignore this email.\n\n${brand}\n`,
    html: `<!doctype html><html><body><p>${esc(intro)}</p><p><a href="${esc(link)}">${esc(action)}</a></p><p>If you did not ask for this, you can ignore this email.</p><p>${esc(brand)}</p></body></html>`,
  };
}

export async function passwordResetMail(env: Env, user: UserRow, extra: Extra = {}): Promise<Mail> {
  const { ttl_sec, ...data } = extra;
  const link = await createTicket(env, 'PasswordTicket', { ...data, user_id: user.user_id }, ttl_sec);
  const brand = (await tenantSettings(env)).friendly_name;
  return compose(brand, user.email!, `Reset your ${brand} password`, `We received a request to reset the password of your ${brand} account.`, 'Reset your password', link);
}

export async function verificationMail(env: Env, user: UserRow, extra: Extra = {}): Promise<Mail> {
  const { ttl_sec, ...data } = extra;
  const link = await createTicket(env, 'VerifyTicket', { ...data, user_id: user.user_id }, ttl_sec);
  const brand = (await tenantSettings(env)).friendly_name;
  return compose(brand, user.email!, `Verify your email for ${brand}`, `Please confirm that ${user.email} is your email address.`, 'Verify your email', link);
}

/** The MFA enrollment invitation; the ticket is made by the caller, which also answers its link. */
export async function enrollmentMail(env: Env, to: string, link: string): Promise<Mail> {
  const brand = (await tenantSettings(env)).friendly_name;
  return compose(brand, to, `Secure your ${brand} account`, `You are invited to enroll in multi-factor authentication for your ${brand} account.`, 'Enroll now', link);
}

export async function sendVerificationEmail(env: Env, user: UserRow, extra: Extra = {}) {
  return sendMail(env, await verificationMail(env, user, extra));
}

/**
 * Forgot-password: mails a reset link to each database user with this email
 * (in one connection when named). All of it runs in the background, so the
 * caller answers at once and the same whether or not the account exists.
 */
export function requestPasswordReset(env: Env, input: { email: string; connection?: string; client_id?: string }): void {
  const run = async () => {
    const users = input.connection
      ? [await env.store.userByConnectionEmail(input.connection, input.email)].filter((u): u is UserRow => !!u)
      : await env.store.usersByEmail(input.email);
    for (const user of users) {
      if (user.provider !== 'auth0' || !user.email) continue;
      await sendMail(env, await passwordResetMail(env, user, input.client_id ? { client_id: input.client_id } : {}));
    }
  };
  run().catch((e) => env.log.error({ err: { message: (e as Error).message } }, 'password reset mail failed'));
}
