import type { Env } from '../tenant/env.ts';
import { renderTemplate } from '../lib/templates.ts';
import { sendMail } from './mail.ts';

/** Postern's own subject and body for a message, used while the tenant has no enabled template of that name. */
export interface DefaultMail { subject: string; html: string; text: string }

/**
 * Sends the message Auth0 renders from one of the tenant's email templates
 * (`mfa_oob_code`, `async_approval`, …): the tenant's own subject, body and
 * sender when the template is set up and enabled, else Postern's text. Both
 * are Liquid over the same variables.
 */
export async function sendTemplateMail(env: Env, template: string, to: string, vars: Record<string, unknown>, fallback: DefaultMail) {
  const tpl = await env.store.getTenantDoc<Record<string, any>>(`email-templates:${template}`);
  const own = tpl?.enabled !== false && typeof tpl?.body === 'string' ? tpl : undefined;
  const what = `${template} email template`;
  const html = await renderTemplate(own?.body ?? fallback.html, vars, what);
  const subject = await renderTemplate(own?.subject ?? fallback.subject, vars, what);
  const from = own?.from ? await renderTemplate(String(own.from), vars, what) : undefined;
  return sendMail(env, { to, subject, html, text: await renderTemplate(fallback.text, vars, what), ...(from ? { from } : {}) });
}
