import { alnum } from '../lib/ids.ts';
import { badRequest, conflict, notFound } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';
import { reply, route, type Route } from './router.ts';
import { boolFilter } from './doc-helpers.ts';
import { tenantSettings } from './tenant-settings.ts';
import { sendPhoneMessage } from '../tenant/phone-delivery.ts';

// Phone message templates, at most one per notification type, as Auth0 keeps
// them. They are few and have no table of their own, so all of a tenant's
// templates are one tenant document: the one-per-type rule is then checked
// inside the same conditional write that adds a template, and concurrent
// creates cannot both land. `try` renders a template with a made-up code and
// sends it through the tenant's phone provider (or the phone outbox); `reset`
// puts back Postern's own default texts, not Auth0's.

interface Template { type: string; disabled: boolean; content: Record<string, any> }
type Templates = Record<string, Template>;
const DOC = 'phone-templates';

const missing = () => notFound('The phone template does not exist.', 'inexistent_phone_template');
const required = (name: string) => badRequest(`Payload validation error: 'Missing required property: ${name}'.`);
// Ids come from the path, so `__proto__` and the like must not reach an inherited property.
const find = (all: Templates | undefined, id: string) => (all && Object.hasOwn(all, id) ? all[id] : undefined);
const tenantName = async (env: Env) => (await env.store.getTenant())?.name ?? env.store.tenantId;

const templateJson = (id: string, t: Template, tenant: string) => ({
  id, channel: 'phone', customizable: true, tenant, content: t.content, type: t.type, disabled: t.disabled,
});

// Postern's texts for each type Auth0 lists; {{code}} is the one-time code,
// {{friendly_name}} the tenant's display name. The last line of the OTP texts
// lets browsers offer the code for this domain (WebOTP).
const DEFAULT_BODIES: Record<string, { text: string; voice: string }> = {
  otp_verify: {
    text: '{{code}} is your {{friendly_name}} login code. Nobody from {{friendly_name}} will ask you for it.\n\n@{{domain}} #{{code}}',
    voice: 'Hello. Your {{friendly_name}} login code is {{code}}. Once more: {{code}}.',
  },
  otp_enroll: {
    text: 'Enter {{code}} to add this phone to your {{friendly_name}} account.\n\n@{{domain}} #{{code}}',
    voice: 'Hello. To add this phone to your {{friendly_name}} account, enter {{code}}. Once more: {{code}}.',
  },
  change_password: {
    text: 'Enter {{code}} to choose a new {{friendly_name}} password. Did not ask for this? Ignore this message.',
    voice: 'Hello. To choose a new {{friendly_name}} password, enter {{code}}. Once more: {{code}}.',
  },
  blocked_account: {
    text: 'Logins to your {{friendly_name}} account are paused after suspicious attempts. Reset your password to resume.',
    voice: 'Hello. Logins to your {{friendly_name}} account are paused after suspicious attempts. Reset your password to resume.',
  },
  password_breach: {
    text: 'The password of your {{friendly_name}} account was found in a leak elsewhere. Change it before your next login.',
    voice: 'Hello. The password of your {{friendly_name}} account was found in a leak elsewhere. Change it before your next login.',
  },
};
const defaultContent = (type: string) => ({ syntax: 'liquid', body: { ...(DEFAULT_BODIES[type] ?? DEFAULT_BODIES.otp_verify) } });

// What a test message carries for the code: obviously not a real one.
const TEST_CODE = '123456';

/** Fills `{{ name }}` placeholders (Liquid's output tag); a name Postern does not know is left as written, so a try shows it. */
const render = (text: string, vars: Record<string, string>) =>
  text.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (all, name: string) => (Object.hasOwn(vars, name) ? vars[name] : all));

/** A conditional write of the one template `id`; `change` gives its new state, or undefined to delete it. */
async function writeTemplate(env: Env, id: string, change: (t: Template) => Template | undefined) {
  let result: Template | undefined;
  await env.store.modifyTenantDoc<Templates>(DOC, (all) => {
    const current = find(all, id);
    if (!current) throw missing();
    const rest = Object.fromEntries(Object.entries(all!).filter(([k]) => k !== id));
    result = change(current);
    return result ? { ...rest, [id]: result } : rest;
  });
  return result;
}

export const phoneTemplateRoutes: Route[] = [
  route('GET', '/branding/phone/templates', async ({ env, query }) => {
    const disabled = boolFilter(query.disabled);
    const tenant = await tenantName(env);
    const all = Object.entries((await env.store.getTenantDoc<Templates>(DOC)) ?? {});
    return { templates: all.filter(([, t]) => disabled === undefined || t.disabled === disabled).map(([id, t]) => templateJson(id, t, tenant)) };
  }),
  route('POST', '/branding/phone/templates', async ({ env, body }) => {
    if (body.type === undefined) throw required('type');
    if (body.content === undefined) throw required('content');
    const id = `tem_${alnum(22)}`;
    const template: Template = { type: body.type, disabled: body.disabled ?? false, content: body.content };
    await env.store.modifyTenantDoc<Templates>(DOC, (all) => {
      if (Object.values(all ?? {}).some((t) => t.type === template.type)) {
        throw conflict(`A phone template of type ${template.type} already exists.`, 'phone_template_conflict');
      }
      return { ...all, [id]: template };
    });
    return reply(201, templateJson(id, template, await tenantName(env)));
  }),
  route('GET', '/branding/phone/templates/{id}', async ({ env, params }) => {
    const t = find(await env.store.getTenantDoc<Templates>(DOC), params.id);
    if (!t) throw missing();
    return templateJson(params.id, t, await tenantName(env));
  }),
  route('PATCH', '/branding/phone/templates/{id}', async ({ env, params, body }) => {
    const saved = await writeTemplate(env, params.id, (t) => ({
      ...t,
      ...(body.disabled !== undefined ? { disabled: body.disabled } : {}),
      // `from` replaces; the text and voice bodies merge, so a PATCH of one keeps the other.
      content: body.content === undefined ? t.content : {
        ...t.content, ...body.content, ...(body.content.body ? { body: { ...t.content.body, ...body.content.body } } : {}),
      },
    }));
    return templateJson(params.id, saved!, await tenantName(env));
  }),
  route('PATCH', '/branding/phone/templates/{id}/reset', async ({ env, params }) => {
    // The sender is a setting rather than text, so it stays; `disabled` stays too.
    const saved = await writeTemplate(env, params.id, (t) => ({
      ...t, content: { ...(t.content.from !== undefined ? { from: t.content.from } : {}), ...defaultContent(t.type) },
    }));
    return templateJson(params.id, saved!, await tenantName(env));
  }),
  route('POST', '/branding/phone/templates/{id}/try', async ({ env, params, body }) => {
    const t = find(await env.store.getTenantDoc<Templates>(DOC), params.id);
    if (!t) throw missing();
    const method: 'text' | 'voice' = body.delivery_method ?? 'text';
    // A template made with only one of the two bodies still tries in the other, with the default text.
    const text = t.content.body?.[method] ?? defaultContent(t.type).body[method];
    const friendly = String((await tenantSettings(env)).friendly_name ?? '');
    const domain = env.config.domain.replace(/:\d+$/, '');
    const vars = { code: TEST_CODE, friendly_name: friendly, 'tenant.friendly_name': friendly, domain, tenant: await tenantName(env) };
    await sendPhoneMessage(env, {
      to: body.to, from: t.content.from, delivery_method: method, body: render(text, vars), message_type: t.type, code: TEST_CODE,
    });
    return reply(202, { message: `A test ${t.type} message was sent to ${body.to}.` });
  }),
  route('DELETE', '/branding/phone/templates/{id}', async ({ env, params }) => { await writeTemplate(env, params.id, () => undefined); }),
];
