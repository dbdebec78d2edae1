import { alnum } from '../lib/ids.ts';
import { badRequest, conflict, notFound } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';
import { reply, route, type Route } from './router.ts';
import { boolFilter } from './doc-helpers.ts';

// Phone message templates, at most one per notification type, as Auth0 keeps
// them. They are few and have no table of their own, so all of a tenant's
// templates are one tenant document: the one-per-type rule is then checked
// inside the same conditional write that adds a template, and concurrent
// creates cannot both land. Postern sends no SMS yet, so `try` is absent, and
// `reset` is absent because Postern has no copy of Auth0's default texts.

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
  route('DELETE', '/branding/phone/templates/{id}', async ({ env, params }) => { await writeTemplate(env, params.id, () => undefined); }),
];
