import { createHash } from 'node:crypto';
import { badRequest, conflict } from '../lib/errors.ts';
import { alnum } from '../lib/ids.ts';
import { DEFAULT_TICKET_TTL } from '../login/tickets.ts';
import type { Env } from '../tenant/env.ts';
import { loadConnection } from './connections.ts';
import { loadDocument, type StoredDoc } from './document-resource.ts';
import { loadOrg } from './organizations.ts';
import { profiles } from './self-service-profiles.ts';
import { checkTicketClient } from './tickets.ts';
import { reply, route, type Route } from './router.ts';
import { componentValidator } from './spec.ts';

// Self-service SSO access tickets: the link an administrator hands a customer
// to set up the customer's own enterprise connection. Postern has no such setup
// wizard: the link has Auth0's shape under this tenant's issuer, but no page
// serves it yet. The ticket is kept as the other tickets are (login/tickets.ts):
// only its hash, in an expiring oidc_payloads row, so the database never holds
// a usable link; revoking deletes the row.

const MODEL = 'SsoAccessTicket';
const hashOf = (ticket: string) => createHash('sha256').update(ticket).digest('base64url');
/** Auth0's ticket ids: 32 letters and digits (about 190 bits). */
const WELL_FORMED = /^[A-Za-z0-9]{32}$/;

/** The strategies a self-service flow can set up, when the profile does not narrow them. */
const selfServiceStrategy = componentValidator('SelfServiceProfileAllowedStrategyEnum');

export interface SsoTicketData { profile_id: string; [option: string]: unknown }

/** What the ticket's setup flow would act on, checked now so that a ticket never names what does not exist. */
async function checkTicketTargets(env: Env, profile: StoredDoc, body: any) {
  if (body.connection_id !== undefined && body.connection_config !== undefined) {
    throw badRequest('Only one of connection_id and connection_config can be provided.');
  }
  if (body.connection_id !== undefined) {
    const conn = await loadConnection(env, body.connection_id);
    const allowed: string[] | undefined = profile.data.allowed_strategies;
    if (allowed ? !allowed.includes(conn.data.strategy) : !selfServiceStrategy(conn.data.strategy)) {
      throw badRequest(`The connection's strategy (${conn.data.strategy}) is not allowed by the self-service profile.`);
    }
  }
  if (body.connection_config !== undefined && await env.store.connections.findBy('name', body.connection_config.name)) {
    throw conflict('A connection with the same name already exists', 'connection_conflict');
  }
  for (const clientId of body.enabled_clients ?? []) await checkTicketClient(env, clientId);
  for (const org of body.enabled_organizations ?? []) await loadOrg(env, org.organization_id);
}

/** A ticket's data while it is unrevoked, unexpired and its profile exists; for the setup flow, once there is one. */
export async function openSsoTicket(env: Env, ticket: unknown): Promise<SsoTicketData | undefined> {
  if (typeof ticket !== 'string' || !WELL_FORMED.test(ticket)) return undefined;
  const row = await env.store.findPayload(MODEL, 'id', hashOf(ticket));
  if (!row || (row.expires_at && row.expires_at <= Date.now() / 1000)) return undefined;
  const data: SsoTicketData = JSON.parse(row.payload);
  return (await profiles.repo(env).get(data.profile_id)) ? data : undefined;
}

const OPTIONS = ['connection_id', 'connection_config', 'enabled_clients', 'enabled_organizations', 'domain_aliases_config',
  'provisioning_config', 'use_for_organization_discovery', 'enabled_features'];

export const selfServiceSsoTicketRoutes: Route[] = [
  route('POST', '/self-service-profiles/{id}/sso-ticket', async ({ env, params, body }) => {
    const profile = await loadDocument(profiles, env, params.id);
    await checkTicketTargets(env, profile, body);
    const ticket = alnum(32);
    const data: SsoTicketData = { profile_id: profile.id, ...Object.fromEntries(OPTIONS.filter((k) => body[k] !== undefined).map((k) => [k, body[k]])) };
    // A ttl of 0, or none, is Auth0's default of five days.
    const ttl = body.ttl_sec || DEFAULT_TICKET_TTL;
    await env.store.upsertPayload({
      model: MODEL, id: hashOf(ticket), payload: JSON.stringify(data), grant_id: null, uid: null, user_code: null,
      account_id: null, expires_at: Math.floor(Date.now() / 1000) + ttl, consumed_at: null,
    });
    return reply(201, { ticket: `${env.issuer}self-service/connections-flow?ticket=${ticket}` });
  }),
  // Auth0 accepts a revocation (202) whether or not the ticket exists.
  route('POST', '/self-service-profiles/{profileId}/sso-ticket/{id}/revoke', async ({ env, params }) => {
    await loadDocument(profiles, env, params.profileId);
    const row = WELL_FORMED.test(params.id) ? await env.store.findPayload(MODEL, 'id', hashOf(params.id)) : undefined;
    if (row && JSON.parse(row.payload).profile_id === params.profileId) await env.store.destroyPayload(MODEL, row.id);
    return reply(202);
  }),
];
