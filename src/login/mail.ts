import nodemailer from 'nodemailer';
import type { Env } from '../tenant/env.ts';
import { loadEmailProvider } from './email-provider.ts';
import { writeOutbox } from './outbox.ts';

/** `from` overrides the provider's default sender (a passwordless connection's own). */
export interface Mail { to: string; subject: string; text: string; html: string; link?: string; from?: string }
export interface Sent { via: 'smtp' | 'outbox'; file?: string }

const defaultFrom = (env: Env) => `no-reply@${env.config.domain.replace(/:\d+$/, '')}`;

/**
 * Sends one message through the tenant's SMTP provider, or into the outbox
 * when none is configured (or it is disabled, or of a kind Postern cannot
 * deliver through).
 */
export async function sendMail(env: Env, mail: Mail): Promise<Sent> {
  const provider = await loadEmailProvider(env);
  const from = mail.from || provider?.default_from_address || defaultFrom(env);
  if (provider?.enabled && provider.name === 'smtp') {
    const c = provider.credentials;
    const port = Number(c.smtp_port);
    const transport = nodemailer.createTransport({
      host: c.smtp_host, port, secure: port === 465,
      ...(c.smtp_user ? { auth: { user: c.smtp_user, pass: c.smtp_pass ?? '' } } : {}),
      connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000,
    });
    try {
      await transport.sendMail({ from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html });
    } finally {
      transport.close();
    }
    return { via: 'smtp' };
  }
  if (provider?.enabled) env.log.warn({ provider: provider.name }, 'email provider is not deliverable by Postern (only smtp is); using the outbox');
  return { via: 'outbox', file: await writeOutbox(env, { ...mail, from }) };
}

/** For flows whose response must not depend on delivery (and must not reveal accounts by timing). */
export function sendMailInBackground(env: Env, mail: Mail, what: string): void {
  sendMail(env, mail).catch((e) => env.log.error({ err: { message: (e as Error).message }, what }, 'sending mail failed'));
}
