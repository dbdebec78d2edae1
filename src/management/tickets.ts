import { badRequest, notFound } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';
import { loadUser } from '../tenant/users.ts';
import { createTicket } from '../login/tickets.ts';
import { reply, route, type Route } from './router.ts';

// Management API tickets: links to the reset-password and email-verification
// pages, made for a user without sending any mail.

async function ticketUser(env: Env, body: any) {
  if (body.user_id) return loadUser(env, body.user_id);
  if (!body.email || !body.connection_id) throw badRequest("Payload validation error: 'Missing required property: user_id' (or email and connection_id).");
  const conn = await env.store.connections.get(body.connection_id);
  if (!conn) throw notFound('The connection does not exist', 'inexistent_connection');
  const user = await env.store.userByConnectionEmail(conn.data.name, body.email);
  if (!user) throw notFound('The user does not exist.', 'inexistent_user');
  return user;
}

export async function checkTicketClient(env: Env, clientId: unknown) {
  if (clientId !== undefined && !(await env.store.clients.get(String(clientId)))) throw notFound('The client does not exist', 'inexistent_client');
}

/** The ticket options both kinds share, as the ticket stores them. */
const ticketOptions = (body: any) => ({
  ...(body.client_id ? { client_id: body.client_id } : {}),
  ...(body.result_url ? { result_url: body.result_url } : {}),
  ...(body.organization_id ? { organization_id: body.organization_id } : {}),
  ...(body.includeEmailInRedirect ? { include_email: true } : {}),
});

export const ticketRoutes: Route[] = [
  route('POST', '/tickets/password-change', async ({ env, body }) => {
    const user = await ticketUser(env, body);
    if (user.provider !== 'auth0') throw badRequest('Password change tickets are only available for database connection users.', 'operation_not_supported');
    await checkTicketClient(env, body.client_id);
    const ticket = await createTicket(env, 'PasswordTicket', {
      user_id: user.user_id, ...ticketOptions(body), ...(body.mark_email_as_verified ? { mark_email_as_verified: true } : {}),
    }, body.ttl_sec);
    return reply(201, { ticket });
  }),
  route('POST', '/tickets/email-verification', async ({ env, body }) => {
    const user = await loadUser(env, body.user_id);
    if (!user.email) throw badRequest('The user does not have an email address.', 'invalid_body');
    await checkTicketClient(env, body.client_id);
    const ticket = await createTicket(env, 'VerifyTicket', { user_id: user.user_id, ...ticketOptions(body) }, body.ttl_sec);
    return reply(201, { ticket });
  }),
];
