import type { UserRow } from '../store/schema.ts';
import { badRequest } from '../lib/errors.ts';
import { renderTemplate } from '../lib/templates.ts';
import { sendTemplateMail } from '../login/template-mail.ts';
import { tenantSettings } from '../management/tenant-settings.ts';
import { clientPart, tenantPart } from '../actions/event-parts.ts';
import { failureOf } from '../actions/runtime.ts';
import type { Env } from './env.ts';
import { sendPhoneMessage, sendThrough, type PhoneMessage } from './phone-delivery.ts';
import { userJson } from './users.ts';

// The message that carries an MFA code out of band. By phone, Guardian's
// templates and its selected provider decide: `twilio` sends with Guardian's
// own Twilio account, `phone-message-hook` runs the `send-phone-message`
// actions, and `auth0` (Auth0's own service, which Postern cannot reach) means
// the tenant's phone provider, or the phone outbox. By email, the tenant's
// `mfa_oob_code` template when it is enabled, else Postern's text.

export type OobChannel = 'sms' | 'voice' | 'email';

/** Auth0's default Guardian phone templates. */
export const GUARDIAN_PHONE_TEMPLATES = {
  enrollment_message: '{{code}} is your verification code for {{tenant.friendly_name}}. Please enter this code to verify your enrollment.',
  verification_message: '{{code}} is your verification code for {{tenant.friendly_name}}',
};

export interface OobMessage {
  channel: OobChannel; to: string; code: string; enrolling: boolean; user: UserRow;
  client?: { id: string; data: any };
}

export async function sendOobMessage(env: Env, m: OobMessage): Promise<void> {
  const friendly_name = (await tenantSettings(env)).friendly_name;
  if (m.channel === 'email') return sendMailCode(env, m, friendly_name);
  const templates = { ...GUARDIAN_PHONE_TEMPLATES, ...(await env.store.getTenantDoc<Record<string, string>>('guardian.phone_templates')) };
  const template = m.enrolling ? templates.enrollment_message : templates.verification_message;
  const body = await renderTemplate(template, { code: m.code, tenant: { friendly_name } }, 'Guardian phone message template');
  const msg: PhoneMessage = {
    to: m.to, delivery_method: m.channel === 'voice' ? 'voice' : 'text', body, code: m.code,
    message_type: m.enrolling ? 'otp_enroll' : 'otp_verify',
  };
  const selected = (await env.store.getTenantDoc<{ provider?: string }>('guardian.phone_provider'))?.provider ?? 'auth0';
  if (selected === 'twilio') {
    const t = (await env.store.getTenantDoc<Record<string, string | null>>('guardian.twilio')) ?? {};
    await sendThrough(env, {
      id: 'guardian', data: {
        name: 'twilio',
        configuration: { sid: t.sid, mssid: t.messaging_service_sid, default_from: t.from },
        credentials: t.auth_token ? { auth_token: t.auth_token } : {},
      },
    }, msg);
    return;
  }
  if (selected === 'phone-message-hook') return runSendPhoneMessage(env, m, msg);
  await sendPhoneMessage(env, msg);
}

const TRIGGER = 'send-phone-message';

/** The tenant's `send-phone-message` actions deliver the message themselves. */
async function runSendPhoneMessage(env: Env, m: OobMessage, msg: PhoneMessage) {
  const actions = await env.actions.forTrigger(TRIGGER);
  if (!actions.length) throw badRequest(`Guardian's phone provider is phone-message-hook, but no action is bound to the ${TRIGGER} trigger.`, 'phone_provider_error');
  const event = {
    message_options: {
      action: m.enrolling ? 'enrollment' : 'second-factor-authentication', code: m.code,
      message_type: m.channel === 'voice' ? 'voice' : 'sms', recipient: m.to, text: msg.body,
    },
    user: userJson(m.user),
    ...(m.client ? { client: clientPart(m.client.id, m.client.data) } : {}),
    tenant: tenantPart(env),
  };
  const out = await env.actions.execute(TRIGGER, actions, event);
  const why = failureOf(out);
  if (why !== undefined) throw badRequest(`The ${TRIGGER} action failed: ${why}`, 'phone_provider_error');
}

const MAIL_SUBJECT = '{{ friendly_name }} verification code';
const MAIL_TEXT = 'Your verification code for {{ friendly_name }} is {{ code }}';
const MAIL_BODY = `<!doctype html><html><body>
<p>Your verification code for {{ friendly_name }} is <b>{{ code }}</b>.</p>
<p>If you did not try to sign in, you can ignore this email, and you may want to change your password.</p>
</body></html>`;

async function sendMailCode(env: Env, m: OobMessage, friendly_name: string) {
  const vars = {
    code: m.code, friendly_name, user: userJson(m.user),
    application: { name: m.client?.data?.name ?? '', clientID: m.client?.id ?? '' }, tenant: { friendly_name },
  };
  await sendTemplateMail(env, 'mfa_oob_code', m.to, vars, { subject: MAIL_SUBJECT, html: MAIL_BODY, text: MAIL_TEXT });
}
