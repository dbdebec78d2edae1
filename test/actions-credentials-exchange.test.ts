import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { AuthClient } from '@auth0/auth0-auth-js';
import { decodeJwt } from 'jose';
import { startServer, type TestServer } from './helpers/server.ts';
import { managementClient } from './helpers/sdk.ts';

// The credentials-exchange trigger: actions bound to it run for every
// client_credentials grant (here requested by @auth0/auth0-auth-js, as an
// OpenMetadata-style bot would), may deny it, and may add claims to the token.

let s: TestServer;
let bot: { client_id: string; client_secret: string };
const API = 'https://metadata.example/api';

before(async () => {
  s = await startServer();
  assert.equal((await s.api('POST', '/resource-servers', { body: { identifier: API, name: 'metadata', scopes: [{ value: 'read:tables' }] } })).status, 201);
  const c = await s.api('POST', '/clients', { body: { name: 'ingestion-bot', app_type: 'non_interactive', client_metadata: { tier: 'batch' } } });
  bot = c.body;
  assert.equal((await s.api('POST', '/client-grants', { body: { client_id: bot.client_id, audience: API, scope: ['read:tables'] } })).status, 201);
});
after(async () => { await s?.close(); });

async function bindOnly(code: string) {
  const mc = managementClient(s);
  const a: any = await mc.actions.create({ name: `cc-${Math.random().toString(36).slice(2, 8)}`, supported_triggers: [{ id: 'credentials-exchange', version: 'v2' }], code } as any);
  await mc.actions.deploy(a.id);
  await mc.actions.triggers.bindings.updateMany('credentials-exchange', { bindings: [{ ref: { type: 'action_id', value: a.id } }] } as any);
}

const auth = () => new AuthClient({ domain: s.domain, clientId: bot.client_id, clientSecret: bot.client_secret });
const rawGrant = async (audience: string) => {
  const r = await fetch(`${s.baseUrl}/oauth/token`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'client_credentials', client_id: bot.client_id, client_secret: bot.client_secret, audience }),
  });
  return { status: r.status, body: await r.json() as any };
};

test('credentials-exchange actions add access token claims from the event', async () => {
  await bindOnly(`exports.onExecuteCredentialsExchange = async (event, api) => {
    api.accessToken.setCustomClaim('https://metadata.example/tier', event.client.metadata.tier);
    api.accessToken.setCustomClaim('requested_for', event.resource_server.identifier);
    api.accessToken.setCustomClaim('saw_secret', JSON.stringify(event.request.body).includes(${JSON.stringify('client_secret')}));
    api.accessToken.setCustomClaim('sub', 'someone-else');
  };`);
  const t = await auth().getTokenByClientCredentials({ audience: API });
  const at = decodeJwt(t.accessToken);
  assert.equal(at['https://metadata.example/tier'], 'batch');
  assert.equal(at.requested_for, API);
  assert.equal(at.saw_secret, false, 'the client secret never reaches action code');
  assert.equal(at.sub, `${bot.client_id}@clients`, 'restricted claims stay Postern\'s');
  assert.equal(at.scope, 'read:tables');
});

test('api.access.deny refuses the grant with the code and reason the action gives', async () => {
  await bindOnly(`exports.onExecuteCredentialsExchange = async (event, api) => {
    if (event.resource_server.identifier === ${JSON.stringify(API)}) api.access.deny('invalid_scope', 'bots may not read tables at night');
  };`);
  const r = await rawGrant(API);
  assert.equal(r.status, 400);
  assert.deepEqual(r.body, { error: 'invalid_scope', error_description: 'bots may not read tables at night' });
  await assert.rejects(auth().getTokenByClientCredentials({ audience: API }), (e: any) => {
    assert.equal(e.cause?.error, 'invalid_scope');
    assert.equal(e.cause?.error_description, 'bots may not read tables at night');
    return true;
  });

  // Like Auth0, the trigger runs for Management API tokens too: this one must let them through.
  await bindOnly(`exports.onExecuteCredentialsExchange = async (event) => {
    if (event.resource_server.identifier === ${JSON.stringify(API)}) throw new Error('vault sealed');
  };`);
  const failed = await rawGrant(API);
  assert.equal(failed.status, 403);
  assert.deepEqual(failed.body, { error: 'access_denied', error_description: 'vault sealed' });
});

test('with nothing bound the grant is untouched', async () => {
  await managementClient(s).actions.triggers.bindings.updateMany('credentials-exchange', { bindings: [] } as any);
  const r = await rawGrant(API);
  assert.equal(r.status, 200);
  assert.equal(decodeJwt(r.body.access_token)['https://metadata.example/tier'], undefined);
});
