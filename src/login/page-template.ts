import { Liquid, type Template } from 'liquidjs';
import type Koa from 'koa';
import { esc } from './html.ts';

// The tenant's Universal Login page template (PUT /branding/templates/universal-login):
// Liquid around Postern's own page, as Auth0 renders it. `auth0:head` stands for the
// page's head tags and `auth0:widget` for the prompt. Every variable reaches the
// template already HTML-escaped, so nothing a user typed can add markup; the
// template's own <script> tags get the answer's CSP nonce, as its author wrote them.

const liquid = new Liquid({ strictFilters: false, strictVariables: false, ownPropertyOnly: true });
const TAG = (name: string) => new RegExp(`\\{%-?\\s*auth0:${name}\\s*-?%\\}`, 'g');
const HEAD = '__postern_head';
const WIDGET = '__postern_widget';
const NONCE = '__postern_nonce';

/** Universal Login's prompt names for Postern's pages, by path. */
const PROMPTS: [RegExp, string][] = [
  [/^\/u\/login/, 'login'], [/^\/u\/signup/, 'signup'], [/^\/u\/mfa/, 'mfa'], [/^\/u\/reset-password/, 'reset-password'],
  [/^\/u\/email-verification/, 'email-verification'], [/^\/u\/consent/, 'consent'], [/^\/u\/organization/, 'organizations'],
  [/^\/u\/passwordless/, 'login-passwordless'], [/^\/u\/ciba/, 'ciba'], [/^\/activate/, 'device-flow'], [/^\/u\/invitation/, 'invitation'],
  [/^\/v2\/logout|^\/oidc\/logout/, 'logout'],
];
export const promptOf = (path: string) => PROMPTS.find(([re]) => re.test(path))?.[1] ?? 'common';

// One parsed template is kept: a tenant has one, and it changes rarely.
let cached: { source: string; parsed: Template[] } | undefined;
function parsed(source: string) {
  if (cached?.source !== source) {
    const prepared = source
      .replace(TAG('head'), `{{ ${HEAD} }}`)
      .replace(TAG('widget'), `{{ ${WIDGET} }}`)
      .replace(/<script\b/gi, `<script nonce="{{ ${NONCE} }}"`);
    cached = { source, parsed: liquid.parse(prepared) };
  }
  return cached.parsed;
}

/** Whether a template parses; a PUT refuses one that does not. */
export function templateProblem(source: string): string | undefined {
  try { liquid.parse(source.replace(TAG('head'), '').replace(TAG('widget'), '')); return undefined; } catch (e) { return (e as Error).message.split('\n')[0]; }
}

type Escaped = string | { [k: string]: Escaped };
const escapeAll = (v: Record<string, unknown>): Record<string, Escaped> =>
  Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined && x !== null)
    .map(([k, x]) => [k, typeof x === 'object' ? escapeAll(x as Record<string, unknown>) : esc(x)]));

export interface TemplateParts { head: string; widget: string; nonce: string; title: string }
export interface TemplateVars { tenant: { friendly_name: string }; branding: { logo_url?: string; colors?: { primary?: string } } }

/** The whole page through the tenant's template; undefined when it cannot render (Postern's own page is used then). */
export function renderPageTemplate(ctx: Koa.Context, source: string, parts: TemplateParts, v: TemplateVars): string | undefined {
  const prompt = promptOf(ctx.path);
  const vars = {
    ...escapeAll({ locale: 'en', tenant: v.tenant, branding: v.branding, prompt: { name: prompt, screen: { name: prompt } }, page: { title: parts.title } }),
    [HEAD]: parts.head, [WIDGET]: parts.widget, [NONCE]: parts.nonce,
  };
  try {
    return liquid.renderSync(parsed(source), vars) as string;
  } catch {
    return undefined;
  }
}
