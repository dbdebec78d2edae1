import type { BenchServer } from './server.ts';
import type { LoginApp } from './login-flow.ts';

// What the login, refresh and RBAC benches need, created through the
// Management API as an operator would: an API, a regular web application
// enabled on the database connection, and users.

export const PASSWORD = 'Bench-password-1!';
export const CALLBACK = 'https://app.bench.example/callback';
const PASSWORD_REALM = 'http://auth0.com/oauth/grant-type/password-realm';

async function ok(p: Promise<{ status: number; body: any }>, what: string) {
  const r = await p;
  if (r.status < 200 || r.status >= 300) throw new Error(`${what} answered ${r.status}: ${JSON.stringify(r.body).slice(0, 200)}`);
  return r.body;
}

export async function createApi(s: BenchServer, token: string, opts: { scopes?: string[]; rbac?: boolean } = {}) {
  return ok(s.api('POST', '/resource-servers', {
    name: `Bench API ${Date.now()}`, identifier: `https://api.bench.example/${Date.now()}-${Math.random().toString(36).slice(2, 8)}`,
    signing_alg: 'RS256', allow_offline_access: true, token_lifetime: 3600, skip_consent_for_verifiable_first_party_clients: true,
    scopes: (opts.scopes ?? ['read:things']).map((value) => ({ value, description: value })),
    ...(opts.rbac ? { enforce_policies: true, token_dialect: 'access_token_authz' } : {}),
  }, token), 'POST /resource-servers');
}

export async function createApp(s: BenchServer, token: string): Promise<LoginApp> {
  const c = await ok(s.api('POST', '/clients', {
    name: `Bench App ${Date.now()}`, app_type: 'regular_web', callbacks: [CALLBACK], token_endpoint_auth_method: 'client_secret_post',
    grant_types: ['authorization_code', 'refresh_token', 'password', PASSWORD_REALM],
    // Auth0's default: the same refresh token is used until it expires.
    refresh_token: { rotation_type: 'non-rotating', expiration_type: 'non-expiring' },
  }, token), 'POST /clients');
  const conns = await ok(s.api('GET', `/connections?name=${encodeURIComponent('Username-Password-Authentication')}`, undefined, token), 'GET /connections');
  const conn = (Array.isArray(conns) ? conns : conns.connections)[0];
  await ok(s.api('PATCH', `/connections/${conn.id}`, { enabled_clients: [...(conn.enabled_clients ?? []), c.client_id] }, token), 'PATCH /connections/{id}');
  return { baseUrl: s.baseUrl, clientId: c.client_id, clientSecret: c.client_secret, redirectUri: CALLBACK };
}

export async function createUser(s: BenchServer, token: string, tag: string) {
  return ok(s.api('POST', '/users', {
    connection: 'Username-Password-Authentication', email: `${tag}-${process.pid}-${Date.now()}@bench.example`,
    password: PASSWORD, email_verified: true,
  }, token), 'POST /users');
}
