import { SignJWT } from 'jose';
import type { Env } from '../tenant/env.ts';
import { sendMail } from '../login/mail.ts';
import { sendPhoneMessage, sendThrough } from '../tenant/phone-delivery.ts';
import { postOut } from '../lib/post-out.ts';
import { badRequest } from '../lib/errors.ts';
import { renderTemplate } from '../lib/templates.ts';

// Auth0's passwordless connections: `email` (a code or a magic link by mail)
// and `sms` (a code by text message). What the connection's options say: the
// code's length and lifetime, whether strangers may sign up, and the message,
// a Liquid template (`{{ code }}`, `{{ link }}`, `{{ application.name }}`), or
// for SMS Auth0's older `@@password@@` macro.

export const PASSWORDLESS_STRATEGIES = new Set(['email', 'sms']);

/** Auth0's defaults: a six-digit code that lives three minutes. */
const TOTP_DEFAULTS = { time_step: 180, length: 6 };

const EMAIL_BODY = `<!doctype html><html><body>
<p>{% if send == 'link' or send == 'link_ios' or send == 'link_android' %}Click <a href="{{ link }}">this link</a> to log in to {{ application.name }}.{% else %}Your verification code for {{ application.name }} is <b>{{ code }}</b>.{% endif %}</p>
<p>It expires in {{ expires_in_minutes }} minutes. If you did not ask for it, you can ignore this email.</p>
</body></html>`;

/** The options a new passwordless connection starts with, under what the caller sent. */
export function passwordlessDefaults(strategy: string, options: Record<string, any> = {}) {
  const common = { brute_force_protection: true, disable_signup: false, ...options, totp: { ...TOTP_DEFAULTS, ...(options.totp ?? {}) } };
  if (strategy === 'email') {
    return {
      name: 'email', ...common,
      email: { syntax: 'liquid', subject: 'Welcome to {{ application.name }}', body: EMAIL_BODY, ...(options.email ?? {}) },
    };
  }
  return { name: 'sms', syntax: 'md_with_macros', template: 'Your verification code is: @@password@@', ...common };
}

/** The code's digits and lifetime (seconds), from the connection's `totp`. */
export function totpOf(conn: { data: any }) {
  const t = conn.data.options?.totp ?? {};
  const length = Number.isInteger(t.length) && t.length >= 4 && t.length <= 40 ? t.length : TOTP_DEFAULTS.length;
  const timeStep = Number.isInteger(t.time_step) && t.time_step >= 60 ? t.time_step : TOTP_DEFAULTS.time_step;
  return { length, timeStep };
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const E164 = /^\+[0-9]{1,15}$/;
export const isEmail = (s: string) => EMAIL.test(s) && s.length <= 320;
export const isPhoneNumber = (s: string) => E164.test(s);

const render = (template: string, vars: Record<string, unknown>) => renderTemplate(template, vars, "connection's message template");

/** What a passwordless message says. */
export interface PasswordlessMessage {
  to: string; code: string; send: 'code' | 'link'; link?: string;
  application: { name: string; client_id: string }; language?: string;
}

function variables(env: Env, conn: { data: any }, m: PasswordlessMessage) {
  return {
    code: m.code, link: m.link ?? '', send: m.send, email: m.to, phone_number: m.to,
    application: m.application, connection: { name: conn.data.name }, request_language: m.language ?? '',
    expires_in_minutes: Math.round(totpOf(conn).timeStep / 60), tenant: { domain: env.config.domain },
  };
}

/** Sends the code (or link) by the connection's channel. */
export async function deliver(env: Env, conn: { data: any }, m: PasswordlessMessage): Promise<void> {
  const vars = variables(env, conn, m);
  if (conn.data.strategy === 'email') {
    const opts = conn.data.options?.email ?? {};
    const html = await render(String(opts.body ?? EMAIL_BODY), vars);
    const subject = await render(String(opts.subject ?? 'Welcome to {{ application.name }}'), vars);
    const from = opts.from ? await render(String(opts.from), vars) : undefined;
    const text = m.send === 'link' ? `Open this link to log in to ${m.application.name}: ${m.link}` : `Your verification code is ${m.code}`;
    // `link` is left off the Mail: it is a credential, and the outbox logs a mail's link.
    await sendMail(env, { to: m.to, subject, html, text, ...(from ? { from } : {}) });
    return;
  }
  const opts = conn.data.options ?? {};
  const template = String(opts.template ?? 'Your verification code is: @@password@@');
  const body = opts.syntax === 'liquid' ? await render(template, vars) : template.replaceAll('@@password@@', m.code);
  const msg = { to: m.to, from: opts.from, delivery_method: 'text' as const, body, message_type: 'otp_verify', code: m.code };
  if (opts.provider === 'sms_gateway') return sendToGateway(env, opts, msg);
  if (opts.twilio_sid && opts.twilio_token) {
    await sendThrough(env, {
      id: 'connection', data: {
        name: 'twilio',
        configuration: { sid: opts.twilio_sid, mssid: opts.messaging_service_sid, default_from: opts.from },
        credentials: { auth_token: opts.twilio_token },
      },
    }, msg);
    return;
  }
  await sendPhoneMessage(env, msg);
}

/** Auth0's custom SMS gateway: a JSON POST, optionally with a bearer JWT signed by the shared secret. */
async function sendToGateway(env: Env, opts: Record<string, any>, msg: { to: string; from?: string; body: string }) {
  if (typeof opts.gateway_url !== 'string') throw badRequest('The sms connection has no gateway_url.', 'sms_provider_error');
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const auth = opts.gateway_authentication;
  if (auth?.method === 'bearer' && typeof auth.secret === 'string') {
    const plain = env.box.open(auth.secret);
    const key = auth.secret_base64_encoded ? Buffer.from(plain, 'base64') : Buffer.from(plain);
    const jwt = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(String(auth.subject ?? ''))
      .setAudience(String(auth.audience ?? '')).setIssuedAt().setExpirationTime('5m').sign(key);
    headers.authorization = `Bearer ${jwt}`;
  }
  let answer;
  try {
    answer = await postOut(opts.gateway_url, headers, JSON.stringify({ recipient: msg.to, body: msg.body, sender: msg.from }));
  } catch (e) {
    env.log.warn({ err: { name: (e as Error).name } }, 'sms gateway unreachable');
    throw badRequest('The SMS gateway could not be reached.', 'sms_provider_error');
  }
  if (!answer.ok) throw badRequest(`The SMS gateway refused the message (HTTP ${answer.status}).`, 'sms_provider_error');
}
