import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { AuthClient } from '@auth0/auth0-auth-js';
import { decodeJwt } from 'jose';
import { startServer, type TestServer } from './helpers/server.ts';
import { managementClient } from './helpers/sdk.ts';
import { createApp, createUser } from './helpers/login-flow.ts';

// Custom Token Exchange, driven by @auth0/auth0-auth-js's exchangeToken: the
// token exchange profile named by subject_token_type runs its action, which
// picks the user by id or through a connection (making the user when asked),
// or refuses the subject token; the tokens are then the user's.

let s: TestServer;
let app: { client_id: string; client_secret?: string };
let userId: string;
const API = 'https://legacy.example/api';
const TYPE = 'urn:acme:legacy-token';
const CONN = 'Username-Password-Authentication';

before(async () => {
  s = await startServer();
  app = await createApp(s, {
    name: 'Legacy bridge', app_type: 'regular_web', callbacks: ['https://bridge.example/cb'],
    grant_types: ['authorization_code', 'refresh_token'], token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
  });
  userId = (await createUser(s, 'legacy@example.com', 'Legacy-pw-1234!')).user_id;
  assert.equal((await s.api('POST', '/resource-servers', { body: { identifier: API, name: 'legacy', scopes: [{ value: 'read:things' }], allow_offline_access: true } })).status, 201);
  const mc = managementClient(s);
  const a: any = await mc.actions.create({
    name: 'legacy-exchange', supported_triggers: [{ id: 'custom-token-exchange', version: 'v1' }],
    code: `exports.onExecuteCustomTokenExchange = async (event, api) => {
      const [kind, value] = event.transaction.subject_token.split(':');
      if (kind === 'bad') return api.access.rejectInvalidSubjectToken('the legacy token is not valid');
      if (kind === 'id') return api.authentication.setUserById(value);
      if (kind === 'ext') return api.authentication.setUserByConnection(${JSON.stringify(CONN)},
        { user_id: value, email: value + '@legacy.example', email_verified: true, name: event.request.body.display_name },
        { creationBehavior: 'create_if_not_exists', updateBehavior: 'replace' });
      if (kind === 'throw') throw new Error('legacy directory unreachable');
      api.access.deny('invalid_request', 'unknown kind of legacy token');
    };`,
  } as any);
  await mc.actions.deploy(a.id);
  assert.equal((await s.api('POST', '/token-exchange-profiles', { body: { name: 'legacy', subject_token_type: TYPE, action_id: a.id, type: 'custom_authentication' } })).status, 201);
});
after(async () => { await s?.close(); });

const auth = (clientId = app.client_id, clientSecret = app.client_secret!) => new AuthClient({ domain: s.domain, clientId, clientSecret });
const exchange = (subjectToken: string, extra: Record<string, unknown> = {}) =>
  auth().exchangeToken({ subjectTokenType: TYPE, subjectToken, audience: API, scope: 'openid email offline_access read:things', ...extra } as any) as Promise<any>;
const raw = async (body: Record<string, string>) => {
  const r = await fetch(`${s.baseUrl}/oauth/token`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', client_id: app.client_id, client_secret: app.client_secret, subject_token_type: TYPE, audience: API, ...body }),
  });
  return { status: r.status, body: await r.json() as any };
};

test('setUserById: the tokens are that user\'s, with an ID token and a refresh token that refreshes', async () => {
  const t = await exchange(`id:${userId}`);
  const at = decodeJwt(t.accessToken);
  assert.equal(at.sub, userId);
  assert.ok((Array.isArray(at.aud) ? at.aud : [at.aud]).includes(API));
  assert.match(String(at.scope), /read:things/);
  assert.equal(decodeJwt(t.idToken).email, 'legacy@example.com');
  assert.ok(t.refreshToken, 'offline_access on an API that allows it');
  const refreshed = await auth().getTokenByRefreshToken({ refreshToken: t.refreshToken });
  assert.equal(decodeJwt(refreshed.accessToken).sub, userId);
});

test('setUserByConnection makes the user on first use and updates it after; request parameters reach the action', async () => {
  const first = await exchange('ext:L-1001', { extra: { display_name: 'Lee First' } });
  const made = decodeJwt(first.accessToken).sub as string;
  assert.equal(made, 'auth0|L-1001');
  const u = (await s.api('GET', `/users/${encodeURIComponent(made)}`)).body;
  assert.deepEqual([u.email, u.email_verified, u.name], ['L-1001@legacy.example', true, 'Lee First']);
  await exchange('ext:L-1001', { extra: { display_name: 'Lee Second' } });
  assert.equal((await s.api('GET', `/users/${encodeURIComponent(made)}`)).body.name, 'Lee Second');
  assert.equal((await s.api('GET', `/users-by-email?email=L-1001%40legacy.example`)).body.length, 1);
});

test('post-login actions run for an exchange, as for a refresh', async () => {
  const mc = managementClient(s);
  const a: any = await mc.actions.create({ name: 'cte-post-login', supported_triggers: [{ id: 'post-login', version: 'v3' }],
    code: `exports.onExecutePostLogin = async (event, api) => { api.accessToken.setCustomClaim('https://legacy.example/protocol', event.transaction.protocol); };` } as any);
  await mc.actions.deploy(a.id);
  await mc.actions.triggers.bindings.updateMany('post-login', { bindings: [{ ref: { type: 'action_id', value: a.id } }] } as any);
  const t = await exchange(`id:${userId}`);
  assert.equal(decodeJwt(t.accessToken)['https://legacy.example/protocol'], 'oauth2-token-exchange');
  await mc.actions.triggers.bindings.updateMany('post-login', { bindings: [] } as any);
});

test('refusals: an invalid subject token, a denial, a failing action, an unknown user, an unknown type', async () => {
  assert.deepEqual(await raw({ subject_token: 'bad:x' }), { status: 400, body: { error: 'invalid_request', error_description: 'the legacy token is not valid' } });
  assert.deepEqual(await raw({ subject_token: 'other:x' }), { status: 400, body: { error: 'invalid_request', error_description: 'unknown kind of legacy token' } });
  assert.deepEqual(await raw({ subject_token: 'throw:x' }), { status: 400, body: { error: 'invalid_request', error_description: 'legacy directory unreachable' } });
  assert.equal((await raw({ subject_token: 'id:auth0|nobody' })).status, 400);
  const unknown = await raw({ subject_token: `id:${userId}`, subject_token_type: 'urn:acme:other' });
  assert.equal(unknown.status, 400);
  assert.match(unknown.body.error_description, /No token exchange profile/);
  await assert.rejects(exchange('bad:x'), (e: any) => e.cause?.error === 'invalid_request');
});

test('only applications allowed custom_authentication profiles may exchange, and the exchange is logged', async () => {
  const other = await createApp(s, { name: 'Not allowed', app_type: 'regular_web', callbacks: ['https://x.example/cb'] });
  const r = await fetch(`${s.baseUrl}/oauth/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', client_id: other.client_id, client_secret: other.client_secret!, subject_token_type: TYPE, subject_token: `id:${userId}` }),
  });
  assert.equal(r.status, 403);
  assert.equal(((await r.json()) as any).error, 'unauthorized_client');
  let log: any;
  for (let i = 0; i < 50 && !log; i++) {
    log = (await s.api('GET', '/logs?q=type:secte&per_page=20')).body.find((l: any) => l.client_id === app.client_id);
    if (!log) await new Promise((res) => setTimeout(res, 100));
  }
  assert.ok(log?.details?.actions?.executions?.length, 'the successful exchange names its execution');
  const e = await managementClient(s).actions.executions.get(log.details.actions.executions[0]) as any;
  assert.equal(e.trigger_id, 'custom-token-exchange');
});
