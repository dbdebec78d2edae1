import assert from 'node:assert/strict';
import type { ManagementClient } from 'auth0';
import type { TestServer } from './server.ts';

// Inbound SCIM as Okta's SCIM client speaks it: the connection it provisions
// into, the requests it sends, and SCIM's error shape.

export const SCIM_SCHEMAS = {
  user: 'urn:ietf:params:scim:schemas:core:2.0:User',
  group: 'urn:ietf:params:scim:schemas:core:2.0:Group',
  list: 'urn:ietf:params:scim:api:messages:2.0:ListResponse',
  patchOp: 'urn:ietf:params:scim:api:messages:2.0:PatchOp',
  error: 'urn:ietf:params:scim:api:messages:2.0:Error',
};

/** An Okta Workforce (or OIDC) connection, with its metadata given so that no discovery runs; its id. */
export async function oktaConnection(s: TestServer, name: string, strategy = 'okta'): Promise<string> {
  const host = `${name}.okta.example`;
  const r = await s.api('POST', '/connections', {
    body: {
      strategy, name, options: {
        client_id: 'x', client_secret: 'y', domain: host, ...(strategy === 'oidc' ? { type: 'back_channel' } : {}),
        oidc_metadata: {
          issuer: `https://${host}`, authorization_endpoint: `https://${host}/oauth2/v1/authorize`, token_endpoint: `https://${host}/oauth2/v1/token`,
          jwks_uri: `https://${host}/oauth2/v1/keys`, id_token_signing_alg_values_supported: ['RS256'],
        },
      },
    },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id;
}

/** An Okta connection with a SCIM configuration and a token holding `scopes`. */
export async function provisionedScim(s: TestServer, mc: ManagementClient, name: string, scopes: string[]) {
  const id = await oktaConnection(s, name);
  await mc.connections.scimConfiguration.create(id, {});
  const { token } = await mc.connections.scimConfiguration.tokens.create(id, { scopes });
  return { id, name, token: token! };
}

export interface ScimReply { status: number; body: any; headers: Headers }
export interface ScimRequest { body?: unknown; raw?: string; type?: string; token?: string }

export async function scimRequest(s: TestServer, conn: { id: string; token?: string }, method: string, path: string, opts: ScimRequest = {}): Promise<ScimReply> {
  const token = opts.token ?? conn.token;
  const body = opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
  const r = await fetch(`${s.baseUrl}/scim/v2/connections/${conn.id}${path}`, {
    method,
    headers: {
      'user-agent': 'Okta SCIM Client 1.0.0', accept: 'application/scim+json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': opts.type ?? 'application/scim+json; charset=utf-8' } : {}),
    },
    body,
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined, headers: r.headers };
}

export function assertScimError(r: ScimReply, status: number, scimType?: string) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.match(String(r.headers.get('content-type')), /^application\/scim\+json/);
  assert.deepEqual(r.body.schemas, [SCIM_SCHEMAS.error]);
  assert.equal(r.body.status, String(status));
  assert.equal(typeof r.body.detail, 'string');
  assert.equal(r.body.scimType, scimType);
}
