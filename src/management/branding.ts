import { badRequest, notFound } from '../lib/errors.ts';
import { reply, route, type Route } from './router.ts';
import { singleton, type Singleton } from './singleton.ts';
import { templateProblem } from '../login/page-template.ts';
import type { Env } from '../tenant/env.ts';

// Universal Login branding: colors, logo and font, and the page template.

const TEMPLATE_DOC = 'branding.universal_login_template';
const REQUIRED_TAGS = ['{%- auth0:head -%}', '{%- auth0:widget -%}'];

/** The body is the template itself, or {template}. */
function templateOf(body: string | { template: string }) {
  const template = typeof body === 'string' ? body : body.template;
  // Without these tags the page would render without the login widget or its scripts.
  const missing = REQUIRED_TAGS.filter((tag) => !template.includes(tag));
  if (missing.length) throw badRequest(`The template must contain the ${missing.join(' and ')} tag${missing.length > 1 ? 's' : ''}.`);
  const problem = templateProblem(template);
  if (problem) throw badRequest(`The template is not valid Liquid: ${problem}`);
  return template;
}

/** The tenant's Universal Login page template, if it has one. */
export const universalLoginTemplate = async (env: Env) => (await env.store.getTenantDoc<{ body: string }>(TEMPLATE_DOC))?.body;

export const BRANDING: Singleton = { path: '/branding', doc: 'branding.settings', defaults: {}, merge: ['colors', 'font'] };

export const brandingRoutes: Route[] = [
  ...singleton(BRANDING),
  route('GET', '/branding/templates/universal-login', async ({ env }) => {
    const stored = await env.store.getTenantDoc<{ body: string }>(TEMPLATE_DOC);
    if (!stored) throw notFound('Template does not exist.', 'inexistent_templates_universal_login');
    return { body: stored.body };
  }),
  route('PUT', '/branding/templates/universal-login', async ({ env, body }) => {
    const template = templateOf(body);
    let existed = false;
    await env.store.modifyTenantDoc(TEMPLATE_DOC, (stored) => { existed = stored !== undefined; return { body: template }; });
    return existed ? reply(204) : reply(201, {});
  }),
  route('DELETE', '/branding/templates/universal-login', async ({ env }) => { await env.store.deleteTenantDoc(TEMPLATE_DOC); }),
];
