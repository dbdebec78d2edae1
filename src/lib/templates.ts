import { Liquid } from 'liquidjs';
import { badRequest } from './errors.ts';

// The tenant's message templates (passwordless messages, MFA codes) are
// Liquid, as at Auth0, rendered without file access or JavaScript. A template
// that does not render is the tenant's configuration at fault: a 400.

const liquid = new Liquid({ strictFilters: false, strictVariables: false, ownPropertyOnly: true });

export async function renderTemplate(template: string, vars: Record<string, unknown>, what: string): Promise<string> {
  try {
    return await liquid.parseAndRender(template, vars);
  } catch (e) {
    throw badRequest(`The ${what} could not be rendered: ${(e as Error).message.split('\n')[0]}`, 'invalid_template');
  }
}
