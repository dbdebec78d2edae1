import { badRequest, notFound } from '../lib/errors.ts';
import { alnum, ids } from '../lib/ids.ts';
import type { Env } from '../tenant/env.ts';
import { projector } from './fields.ts';
import { loadOrg } from './organizations.ts';
import { listResponse } from './pagination.ts';
import { loadRoles } from './roles.ts';
import { route, type Route } from './router.ts';
import { sendInvitationMail } from '../login/invitation-mail.ts';

const DEFAULT_TTL = 7 * 24 * 3600;
const invitationJson = (doc: { id: string; data: any }) => ({ id: doc.id, ...doc.data });

/**
 * Auth0 links an invitation to the application's login route (its
 * initiate_login_uri), else the tenant's default login route, and refuses to
 * create one when neither is set. The app then starts /authorize with
 * `invitation` and `organization`.
 */
async function loginRoute(env: Env, client: any): Promise<string> {
  const route = client.initiate_login_uri || (await env.store.getTenant())?.settingsObj?.default_redirection_uri;
  if (!route) throw badRequest('A default login route is required to generate the invitation url. For more information, see https://auth0.com/docs/universal-login/configure-default-login-routes');
  return route;
}

async function loadInvitation(env: Env, orgId: string, id: string) {
  const doc = await env.store.invitations.get(id);
  if (!doc || doc.org_id !== orgId) throw notFound('The invitation does not exist', 'inexistent_invitation');
  return doc;
}

export const invitationRoutes: Route[] = [
  route('GET', '/organizations/{id}/invitations', async ({ env, params, query }) => {
    const org = await loadOrg(env, params.id);
    const desc = String(query.sort ?? '') === 'created_at:-1';
    return listResponse(query, {
      async page(page, withTotal) {
        const all = (await env.store.invitations.list({ org_id: org.id })).items.map(invitationJson);
        if (desc) all.reverse();
        return { items: all.slice(page.offset, page.offset + page.limit), total: withTotal ? all.length : undefined };
      },
    }, { key: 'invitations', project: projector(query) });
  }),
  route('POST', '/organizations/{id}/invitations', async ({ env, params, body }) => {
    const org = await loadOrg(env, params.id);
    const client = await env.store.clients.get(body.client_id);
    if (!client) throw notFound('The client does not exist', 'inexistent_client');
    if (body.connection_id && !(await env.store.connections.get(body.connection_id))) throw notFound('No connection found by that id', 'inexistent_connection');
    if (body.roles) await loadRoles(env, body.roles);
    const base = await loginRoute(env, client.data);
    const ticket = alnum(32);
    const id = ids.invitation();
    const now = new Date();
    const url = new URL(base);
    url.searchParams.set('invitation', ticket);
    url.searchParams.set('organization', org.id);
    url.searchParams.set('organization_name', org.data.name);
    const data = {
      organization_id: org.id,
      inviter: body.inviter,
      invitee: body.invitee,
      invitation_url: url.toString(),
      created_at: now.toISOString(),
      expires_at: new Date(now.getTime() + (body.ttl_sec || DEFAULT_TTL) * 1000).toISOString(),
      client_id: body.client_id,
      ...(body.connection_id ? { connection_id: body.connection_id } : {}),
      app_metadata: body.app_metadata ?? {},
      user_metadata: body.user_metadata ?? {},
      ...(body.roles ? { roles: body.roles } : {}),
      ticket_id: ticket,
    };
    await env.store.invitations.insert(id, data, { org_id: org.id });
    if (body.send_invitation_email !== false) await sendInvitationMail(env, org.data, client.data.name || client.id, data);
    return invitationJson({ id, data });
  }),
  route('GET', '/organizations/{id}/invitations/{invitation_id}', async ({ env, params, query }) => {
    const org = await loadOrg(env, params.id);
    return projector(query)(invitationJson(await loadInvitation(env, org.id, params.invitation_id)));
  }),
  route('DELETE', '/organizations/{id}/invitations/{invitation_id}', async ({ env, params }) => {
    const org = await loadOrg(env, params.id);
    await env.store.invitations.delete((await loadInvitation(env, org.id, params.invitation_id)).id);
  }),
];
