import { badRequest, conflict, notFound } from '../lib/errors.ts';
import { deleteEmailProvider, loadEmailProvider, loadStoredProvider, providerJson, saveEmailProvider, type EmailProvider } from '../login/email-provider.ts';
import type { Env } from '../tenant/env.ts';
import { projector } from './fields.ts';
import { reply, route, type Route } from './router.ts';

const missing = () => notFound('There is not a configured email provider', 'inexistent_email_provider');

/** SMTP is what Postern delivers through; it needs at least a host and port. */
function checkProvider(p: EmailProvider) {
  if (p.name !== 'smtp') return;
  if (!p.credentials.smtp_host) throw badRequest("Payload validation error: 'Missing required property: smtp_host' on property credentials.");
  if (!p.credentials.smtp_port) throw badRequest("Payload validation error: 'Missing required property: smtp_port' on property credentials.");
}

async function save(env: Env, p: EmailProvider) {
  checkProvider(p);
  return providerJson(await saveEmailProvider(env, p));
}

export const emailRoutes: Route[] = [
  route('GET', '/emails/provider', async ({ env, query }) => {
    const p = await loadStoredProvider(env);
    if (!p) throw missing();
    return projector(query)(providerJson(p));
  }),
  route('POST', '/emails/provider', async ({ env, body }) => {
    if (await loadStoredProvider(env)) throw conflict('An email provider is already configured.', 'email_provider_conflict');
    return reply(201, await save(env, { enabled: true, ...body }));
  }),
  route('PATCH', '/emails/provider', async ({ env, body }) => {
    const current = await loadEmailProvider(env);
    if (!current) throw missing();
    // A new provider name starts from fresh credentials; otherwise fields merge,
    // so changing the host does not require re-sending the password.
    const credentials = body.name && body.name !== current.name ? body.credentials ?? {} : { ...current.credentials, ...body.credentials };
    return save(env, { ...current, ...body, credentials });
  }),
  route('DELETE', '/emails/provider', async ({ env }) => {
    if (!(await deleteEmailProvider(env))) throw missing();
  }),
];
