import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from './helpers/server.ts';
import { managementClient } from './helpers/sdk.ts';
import { createApp, createUser, exchangeCode, scriptedLogin } from './helpers/login-flow.ts';

// Every run of a trigger's actions is recorded as an execution, which the tenant
// log event of its request names (details.actions.executions) and
// GET /actions/executions/{id} answers, through the official auth0 SDK: the
// post-login run of a code login (named by the code exchange's log event), a
// credentials-exchange run that failed or overstayed, and a signup's
// pre-user-registration run.

let s: TestServer;
let app: { client_id: string; client_secret?: string };
let bot: { client_id: string; client_secret: string };
const CB = 'https://rp.example/callback';
const API = 'https://exec.example/api';

before(async () => {
  s = await startServer(['--action-timeout', '1500']);
  app = await createApp(s, { name: 'Exec RP', app_type: 'regular_web', callbacks: [CB], grant_types: ['authorization_code'] });
  await createUser(s, 'exec@example.com', 'Exec-pw-12345!');
  assert.equal((await s.api('POST', '/resource-servers', { body: { identifier: API, name: 'exec' } })).status, 201);
  bot = (await s.api('POST', '/clients', { body: { name: 'exec-bot', app_type: 'non_interactive' } })).body;
  assert.equal((await s.api('POST', '/client-grants', { body: { client_id: bot.client_id, audience: API, scope: [] } })).status, 201);
});
after(async () => { await s?.close(); });

/** Binds one new deployed action to the trigger; answers its name. */
async function bindOnly(trigger: string, version: string, code: string) {
  const mc = managementClient(s);
  const name = `${trigger}-${Math.random().toString(36).slice(2, 8)}`;
  const a: any = await mc.actions.create({ name, supported_triggers: [{ id: trigger, version }], code } as any);
  await mc.actions.deploy(a.id);
  await mc.actions.triggers.bindings.updateMany(trigger as any, { bindings: [{ ref: { type: 'action_id', value: a.id } }] } as any);
  return name;
}

/** The executions the newest log event of `type` (matching `pick`) names, once it is written. */
async function executionsLogged(type: string, pick: (l: any) => boolean = () => true): Promise<string[]> {
  for (let i = 0; i < 100; i++) {
    const hit = (await s.api('GET', `/logs?q=type:${type}&sort=date:-1&per_page=50`)).body.find((l: any) => pick(l) && l.details?.actions);
    if (hit) return hit.details.actions.executions;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no ${type} log event naming executions`);
}

const execution = (id: string) => managementClient(s).actions.executions.get(id) as Promise<any>;
const ccGrant = () => fetch(`${s.baseUrl}/oauth/token`, {
  method: 'POST', headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ grant_type: 'client_credentials', client_id: bot.client_id, client_secret: bot.client_secret, audience: API }),
});

test('a code login\'s post-login run is named by the code exchange\'s log event and served as a final execution', async () => {
  const name = await bindOnly('post-login', 'v3', `exports.onExecutePostLogin = async (event, api) => {
    console.log('hello from', event.user.email);
    api.idToken.setCustomClaim('https://rp.example/seen', true);
  };`);
  const authorize = `${s.baseUrl}/authorize?${new URLSearchParams({ client_id: app.client_id, redirect_uri: CB, response_type: 'code', scope: 'openid email', state: 'st' })}`;
  const { url } = await scriptedLogin(s, authorize, 'exec@example.com', 'Exec-pw-12345!');
  assert.ok((await exchangeCode(s, app, CB, url)).id_token);
  const [id, ...more] = await executionsLogged('seacft', (l) => l.client_id === app.client_id);
  assert.equal(more.length, 0);
  const e = await execution(id);
  assert.equal(e.id, id);
  assert.equal(e.trigger_id, 'post-login');
  assert.equal(e.status, 'final');
  assert.equal(e.results.length, 1);
  assert.equal(e.results[0].action_name, name);
  assert.equal(e.results[0].error, undefined);
  assert.ok(Date.parse(e.results[0].started_at) <= Date.parse(e.results[0].ended_at));
  assert.equal(e.results[0].logs, undefined, 'console output is not part of the record');
  assert.ok(e.created_at && e.updated_at);
  await managementClient(s).actions.triggers.bindings.updateMany('post-login' as any, { bindings: [] } as any);
});

test('a login an action denies is an f log event naming the failed execution', async () => {
  const name = await bindOnly('post-login', 'v3', 'exports.onExecutePostLogin = async (event, api) => { api.access.deny("outside office hours"); };');
  const authorize = `${s.baseUrl}/authorize?${new URLSearchParams({ client_id: app.client_id, redirect_uri: CB, response_type: 'code', scope: 'openid', state: 'st' })}`;
  const { url } = await scriptedLogin(s, authorize, 'exec@example.com', 'Exec-pw-12345!');
  assert.equal(new URL(url).searchParams.get('error'), 'access_denied');
  const [id] = await executionsLogged('f', (l) => l.description === 'outside office hours' && l.client_id === app.client_id);
  const e = await execution(id);
  assert.equal(e.trigger_id, 'post-login');
  assert.equal(e.results[0].action_name, name);
  assert.equal(e.results[0].error, undefined, 'a denial is the action\'s decision, not its error');
  await managementClient(s).actions.triggers.bindings.updateMany('post-login' as any, { bindings: [] } as any);
});

test('a failed credentials-exchange run records the action\'s error; the failed grant\'s log event names it', async () => {
  const name = await bindOnly('credentials-exchange', 'v2', `exports.onExecuteCredentialsExchange = async (event) => {
    // The trigger runs for the test's own Management API tokens too.
    if (event.resource_server.identifier === ${JSON.stringify(API)}) throw new Error('vault sealed');
  };`);
  assert.equal((await ccGrant()).status, 403);
  const [id] = await executionsLogged('feccft', (l) => l.client_id === bot.client_id);
  const e = await execution(id);
  assert.equal(e.trigger_id, 'credentials-exchange');
  assert.deepEqual(e.results.map((r: any) => [r.action_name, r.error?.id, r.error?.msg]), [[name, 'actions_execution_error', 'vault sealed']]);
});

test('a run the sandbox had to stop is recorded with the timeout as its error', async () => {
  const name = await bindOnly('credentials-exchange', 'v2', `exports.onExecuteCredentialsExchange = async (event) => {
    if (event.resource_server.identifier === ${JSON.stringify(API)}) await new Promise((r) => setTimeout(r, 10000));
  };`);
  const r = await ccGrant();
  assert.equal(r.status, 403);
  const [id] = await executionsLogged('feccft', (l) => /exceeded/.test(l.description));
  const e = await execution(id);
  assert.equal(e.results[0].action_name, name);
  assert.match(e.results[0].error.msg, /Script execution time exceeded \(1500 ms\)/);
  await managementClient(s).actions.triggers.bindings.updateMany('credentials-exchange' as any, { bindings: [] } as any);
  assert.equal((await ccGrant()).status, 200, 'the next grant gets a new sandbox');
});

test('a signup\'s pre-user-registration run is named by its ss log event', async () => {
  await bindOnly('pre-user-registration', 'v2', 'exports.onExecutePreUserRegistration = async (event, api) => { api.user.setAppMetadata("vetted", true); };');
  const r = await fetch(`${s.baseUrl}/dbconnections/signup`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_id: app.client_id, connection: 'Username-Password-Authentication', email: 'exec-signup@example.com', password: 'Exec-pw-12345!' }),
  });
  assert.equal(r.status, 200);
  const [id] = await executionsLogged('ss', (l) => l.user_name === 'exec-signup@example.com');
  assert.equal((await execution(id)).trigger_id, 'pre-user-registration');
  await managementClient(s).actions.triggers.bindings.updateMany('pre-user-registration' as any, { bindings: [] } as any);
});

test('an unknown execution is a 404 in Auth0\'s shape', async () => {
  await assert.rejects(execution('00000000-0000-4000-8000-000000000000'), (e: any) => e.statusCode === 404);
  const r = await s.api('GET', '/actions/executions/nope');
  assert.equal(r.status, 404);
  assert.deepEqual(r.body, { statusCode: 404, error: 'Not Found', message: 'That execution does not exist.', errorCode: 'inexistent_execution' });
});
