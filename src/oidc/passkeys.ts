import type { Env } from '../tenant/env.ts';
import type { CachedClient, ClientCache } from './clients.ts';
import type { TenantSettingsCache } from './settings.ts';
import { callerAuthenticated } from './client-assertion.ts';
import { OAuthError } from './errors.ts';

// Auth0's passkey API, whichever door it comes through (/passkey/register,
// /passkey/challenge and the webauthn grant): which applications may use it,
// and into which database connection.

export const WEBAUTHN_GRANT = 'urn:okta:params:oauth:grant-type:webauthn';

const invalid = (description: string) => new OAuthError(400, 'invalid_request', description);

/**
 * The application of a challenge request: first-party, allowed the passkey
 * grant, and, when it has a secret, holding it (`client_secret` in the body,
 * as Auth0 asks of client_secret_post applications). A private_key_jwt
 * application proves itself only at the token exchange, as at Auth0.
 */
export async function passkeyClient(env: Env, clients: ClientCache, body: Record<string, any>): Promise<CachedClient> {
  if (typeof body.client_id !== 'string' || !body.client_id) throw invalid('Missing required parameter: client_id');
  const client = await clients.get(body.client_id);
  if (!client) throw new OAuthError(401, 'invalid_client', 'Unknown client.');
  const method = client.data.token_endpoint_auth_method;
  if (method !== 'none' && method !== 'private_key_jwt' && !(await callerAuthenticated(env, client, body).catch(() => false))) {
    throw new OAuthError(401, 'invalid_client', 'Client authentication is required and the client secret did not check out.');
  }
  if (!(client.data.grant_types ?? []).includes(WEBAUTHN_GRANT)) {
    throw new OAuthError(403, 'unauthorized_client', `Grant type '${WEBAUTHN_GRANT}' not allowed for the client.`);
  }
  if (client.data.is_first_party === false) throw new OAuthError(403, 'unauthorized_client', 'Passkeys are for first-party applications.');
  return client;
}

const passkeysOn = (conn: { data: any }) => conn.data.options?.authentication_methods?.passkey?.enabled === true;

/**
 * The database connection a passkey signs up to or logs in with: `realm`,
 * else the tenant's default directory, else the application's only enabled
 * database connection with passkeys on. Passkeys must be on for it.
 */
export async function passkeyConnection(env: Env, settings: TenantSettingsCache, clientId: string, realm: unknown) {
  if (realm !== undefined && (typeof realm !== 'string' || !realm)) throw invalid('realm must be a connection name');
  const name = realm || (await settings.load()).default_directory || undefined;
  let conn;
  if (name) {
    conn = await env.store.connections.findBy('name', String(name));
    if (!conn || conn.data.strategy !== 'auth0') throw invalid(realm ? 'Unknown realm' : 'The default directory is not a database connection.');
  } else {
    const mine = (await env.store.connections.list({ strategy: 'auth0' })).items.filter((c) => (c.data.enabled_clients ?? []).includes(clientId) && passkeysOn(c));
    if (mine.length !== 1) throw invalid('Specify the realm: the application has no single database connection with passkeys enabled.');
    conn = mine[0];
  }
  if (!(conn.data.enabled_clients ?? []).includes(clientId)) throw new OAuthError(403, 'unauthorized_client', 'The connection is not enabled for this client.');
  if (!passkeysOn(conn)) throw invalid(`Passkey authentication is not enabled for the connection ${conn.data.name}.`);
  return conn;
}

/** Organizations are not offered with passkeys yet (see README). */
export function refuseOrganization(organization: unknown) {
  if (organization !== undefined && organization !== '') throw invalid('The organization parameter is not supported for passkeys.');
}
