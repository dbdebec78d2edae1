import { badRequest, conflict, notFound } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';
import { reply, route, type Route } from './router.ts';

// Email templates, one tenant document per template name. Auth0 has no
// defaults to show here: a template is a 404 until it is created. They are
// stored for what the tenant reports; the mail Postern sends does not use them.

type Template = Record<string, unknown>;
const docName = (name: string) => `email-templates:${name}`;
const missing = () => notFound('The template does not exist.', 'inexistent_email_template');

/** A body that names a template names the one in the path. */
function sameName(name: string, body: { template?: string }) {
  if (body.template !== undefined && body.template !== name) {
    throw badRequest(`Payload validation error: 'template must be ${name}' on property template.`);
  }
}

/** The conditional write of an existing template; a missing one is Auth0's 404. */
const change = (env: Env, name: string, next: (stored: Template) => Template) =>
  env.store.modifyTenantDoc<Template>(docName(name), (stored) => {
    if (!stored) throw missing();
    return { ...next(stored), template: name };
  });

export const emailTemplateRoutes: Route[] = [
  route('POST', '/email-templates', async ({ env, body }) => {
    const saved = await env.store.modifyTenantDoc<Template>(docName(body.template), (stored) => {
      if (stored) throw conflict(`Template ${body.template} already exists.`, 'email_template_conflict');
      return body;
    });
    // Auth0 answers a create here with 200.
    return reply(200, saved);
  }),
  route('GET', '/email-templates/{templateName}', async ({ env, params }) =>
    (await env.store.getTenantDoc<Template>(docName(params.templateName))) ?? (() => { throw missing(); })()),
  route('PATCH', '/email-templates/{templateName}', async ({ env, params, body }) => {
    sameName(params.templateName, body);
    return change(env, params.templateName, (stored) => ({ ...stored, ...body }));
  }),
  route('PUT', '/email-templates/{templateName}', async ({ env, params, body }) => {
    sameName(params.templateName, body);
    return change(env, params.templateName, () => body);
  }),
];
