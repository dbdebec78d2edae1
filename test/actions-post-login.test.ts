import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { startServer, type TestServer } from './helpers/server.ts';
import { createApp, createUser, follow, scriptedLogin } from './helpers/login-flow.ts';
import { managementClient } from './helpers/sdk.ts';

// Post-login actions run as Auth0 runs them: created, deployed and bound with the
// official SDK, then a Dex-style relying party (Pachyderm's) logs in and gets
// the groups claim Auth0 customers add with an action, on the exchange and on refresh.

let s: TestServer;
let app: { client_id: string; client_secret?: string };
let api: string;
const REDIRECT = 'http://127.0.0.1:30659/callback';
const GROUPS = 'https://pachyderm.example/groups';

before(async () => {
  s = await startServer(['--action-timeout', '1500']);
  app = await createApp(s, { name: 'Pachyderm Dex', app_type: 'regular_web', grant_types: ['authorization_code', 'implicit', 'refresh_token', 'http://auth0.com/oauth/grant-type/password-realm'], callbacks: [REDIRECT] });
  api = 'https://pachd.example/';
  const rs = await s.api('POST', '/resource-servers', { body: { identifier: api, name: 'pachd', scopes: [{ value: 'read:repos' }, { value: 'write:repos' }], allow_offline_access: true } });
  assert.equal(rs.status, 201);
  const user = await createUser(s, 'dana@example.com', 'Dana-pw-123!', { name: 'Dana Scully', app_metadata: { team: 'x-files' } });
  const role = await s.api('POST', '/roles', { body: { name: 'pachyderm-admins' } });
  assert.equal((await s.api('POST', `/users/${encodeURIComponent(user.user_id)}/roles`, { body: { roles: [role.body.id] } })).status, 204);
});
after(async () => { await s?.close(); });

const POST_LOGIN = [{ id: 'post-login', version: 'v3' }];

/** Creates, deploys and binds actions in this order, replacing whatever the trigger ran before. */
async function bind(trigger: string, actions: Array<{ name: string; code: string; secrets?: { name: string; value: string }[] }>) {
  const mc = managementClient(s);
  const bindings: unknown[] = [];
  for (const a of actions) {
    const created: any = await mc.actions.create({ name: `${a.name}-${Math.random().toString(36).slice(2, 8)}`, supported_triggers: trigger === 'post-login' ? POST_LOGIN : [{ id: trigger, version: 'v2' }], code: a.code, secrets: a.secrets } as any);
    await mc.actions.deploy(created.id);
    bindings.push({ ref: { type: 'action_id', value: created.id }, display_name: a.name });
  }
  await mc.actions.triggers.bindings.updateMany(trigger as any, { bindings } as any);
}

function basic(id: string, secret: string) {
  const q = (v: string) => new URLSearchParams({ v }).toString().slice(2);
  return `Basic ${Buffer.from(`${q(id)}:${q(secret)}`).toString('base64')}`;
}

async function login(extra: Record<string, string> = {}) {
  const q = new URLSearchParams({ client_id: app.client_id, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid profile email offline_access', state: 'st-1', audience: api, ...extra });
  const { url } = await scriptedLogin(s, `${s.baseUrl}/authorize?${q}`, 'dana@example.com', 'Dana-pw-123!');
  return new URL(url);
}

async function exchange(code: string) {
  const r = await fetch(`${s.baseUrl}/oauth/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(app.client_id, app.client_secret!) },
    body: new URLSearchParams({ code, grant_type: 'authorization_code', redirect_uri: REDIRECT }),
  });
  return { status: r.status, body: await r.json() as any };
}

async function refresh(refresh_token: string) {
  const r = await fetch(`${s.baseUrl}/oauth/token`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'refresh_token', refresh_token, client_id: app.client_id, client_secret: app.client_secret }),
  });
  return { status: r.status, body: await r.json() as any };
}

const GROUPS_ACTION = `
exports.onExecutePostLogin = async (event, api) => {
  const n = (event.user.app_metadata.logins_seen || 0) + 1;
  api.user.setAppMetadata('logins_seen', n);
  api.idToken.setCustomClaim('${GROUPS}', event.authorization.roles.map((r) => 'role:' + r).concat(event.user.app_metadata.team));
  api.idToken.setCustomClaim('groups', ['restricted']);
  api.idToken.setCustomClaim('seen', n);
  api.idToken.setCustomClaim('protocol', event.transaction.protocol);
  api.idToken.setCustomClaim('client_name', event.client.name);
  api.idToken.setCustomClaim('email', 'spoofed@example.com');
  api.accessToken.setCustomClaim('https://pachd.example/team', event.user.app_metadata.team);
  api.accessToken.setCustomClaim('secret_seen', event.secrets.SIGNING === 'k3y');
  api.accessToken.addScope('write:repos');
  api.accessToken.removeScope('read:repos');
};`;

test('post-login actions add claims to the ID and access tokens, save metadata, and run again on refresh', async () => {
  await bind('post-login', [{ name: 'groups', code: GROUPS_ACTION, secrets: [{ name: 'SIGNING', value: 'k3y' }] }]);
  const cb = await login({ scope: 'openid profile email offline_access read:repos' });
  assert.equal(cb.searchParams.get('error'), null, cb.toString());
  const t = await exchange(cb.searchParams.get('code')!);
  assert.equal(t.status, 200, JSON.stringify(t.body));
  const jwks = createRemoteJWKSet(new URL(`${s.baseUrl}/.well-known/jwks.json`));
  const { payload: id } = await jwtVerify(t.body.id_token, jwks, { issuer: s.issuer, audience: app.client_id });
  assert.deepEqual(id[GROUPS], ['role:pachyderm-admins', 'x-files']);
  assert.equal(id.groups, undefined, 'Auth0 ignores the restricted claim "groups"');
  assert.equal(id.email, 'dana@example.com', 'a custom claim never replaces a standard one');
  assert.equal(id.protocol, 'oidc-basic-profile');
  assert.equal(id.client_name, 'Pachyderm Dex');
  const seen = Number(id.seen);
  assert.ok(seen >= 1);

  const at = decodeJwt(t.body.access_token);
  assert.equal(at['https://pachd.example/team'], 'x-files');
  assert.equal(at.secret_seen, true, 'the action read its own secret');
  const scopes = String(at.scope).split(' ');
  assert.ok(scopes.includes('write:repos') && !scopes.includes('read:repos'), String(at.scope));

  // Auth0 answers /userinfo with the ID token's custom claims too.
  const info = await (await fetch(`${s.baseUrl}/userinfo`, { headers: { authorization: `Bearer ${t.body.access_token}` } })).json() as any;
  assert.deepEqual(info[GROUPS], ['role:pachyderm-admins', 'x-files']);
  assert.equal(info.email, 'dana@example.com');
  assert.equal(info.groups, undefined);

  const user = (await s.api('GET', `/users-by-email?email=dana@example.com`)).body[0];
  assert.equal(user.userinfo_claims, undefined, 'what /userinfo remembers is not part of the user');
  assert.equal(user.app_metadata.logins_seen, seen, 'the metadata the action set was saved');
  assert.equal(user.app_metadata.team, 'x-files', 'other keys stay');

  const r = await refresh(t.body.refresh_token);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const rid = decodeJwt(r.body.id_token);
  assert.equal(rid.protocol, 'oauth2-refresh-token');
  assert.equal(rid.seen, seen + 1, 'the actions ran again for the refresh');
  assert.deepEqual(rid[GROUPS], ['role:pachyderm-admins', 'x-files']);
  assert.equal(decodeJwt(r.body.access_token)['https://pachd.example/team'], 'x-files');
});

test('implicit ID tokens and silent logins (prompt=none) run the actions too', async () => {
  await bind('post-login', [{ name: 'groups', code: GROUPS_ACTION, secrets: [{ name: 'SIGNING', value: 'k3y' }] }]);
  const authorize = (extra: Record<string, string>) => `${s.baseUrl}/authorize?${new URLSearchParams({ client_id: app.client_id, redirect_uri: REDIRECT, scope: 'openid profile', state: 'st', ...extra })}`;
  const { jar, url } = await scriptedLogin(s, authorize({ response_type: 'id_token', nonce: 'n-1' }), 'dana@example.com', 'Dana-pw-123!');
  const fragment = new URLSearchParams(new URL(url).hash.slice(1));
  assert.ok(fragment.get('id_token'), url);
  const implicit = decodeJwt(fragment.get('id_token')!);
  assert.equal(implicit.protocol, 'oidc-implicit-profile');
  assert.deepEqual(implicit[GROUPS], ['role:pachyderm-admins', 'x-files']);

  // The session exists now: no login page, the actions still run before the code is issued.
  const silent = await follow(jar, authorize({ response_type: 'code', prompt: 'none' }), s.baseUrl);
  const code = new URL(silent.url).searchParams.get('code');
  assert.ok(code, silent.url);
  const t = await exchange(code!);
  const id = decodeJwt(t.body.id_token);
  assert.equal(id.protocol, 'oidc-basic-profile');
  assert.equal(id.seen, Number(implicit.seen) + 1);
});

test('the password-realm grant runs post-login actions too', async () => {
  await bind('post-login', [{ name: 'groups', code: GROUPS_ACTION, secrets: [{ name: 'SIGNING', value: 'k3y' }] }]);
  const r = await fetch(`${s.baseUrl}/oauth/token`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'http://auth0.com/oauth/grant-type/password-realm', realm: 'Username-Password-Authentication', username: 'dana@example.com', password: 'Dana-pw-123!', client_id: app.client_id, client_secret: app.client_secret, scope: 'openid', audience: api }),
  });
  const body = await r.json() as any;
  assert.equal(r.status, 200, JSON.stringify(body));
  assert.equal(decodeJwt(body.id_token).protocol, 'oauth2-password');
  assert.deepEqual(decodeJwt(body.id_token)[GROUPS], ['role:pachyderm-admins', 'x-files']);
});

test('api.access.deny and a throwing action end the login at the callback with access_denied', async () => {
  await bind('post-login', [
    { name: 'first', code: `exports.onExecutePostLogin = async (event, api) => { if (event.request.query.state === 'deny-me') api.access.deny('Dana may not use pachd today'); };` },
    { name: 'second', code: `exports.onExecutePostLogin = async (event) => { if (event.request.query.state === 'throw-me') throw new Error('directory unreachable'); };` },
  ]);
  const denied = await login({ state: 'deny-me' });
  assert.equal(denied.origin + denied.pathname, REDIRECT);
  assert.equal(denied.searchParams.get('error'), 'access_denied');
  assert.equal(denied.searchParams.get('error_description'), 'Dana may not use pachd today');
  assert.equal(denied.searchParams.get('code'), null);
  assert.equal(denied.searchParams.get('state'), 'deny-me');

  const failed = await login({ state: 'throw-me' });
  assert.equal(failed.searchParams.get('error'), 'access_denied');
  assert.equal(failed.searchParams.get('error_description'), 'directory unreachable');

  const ok = await login({ state: 'fine' });
  assert.ok(ok.searchParams.get('code'), ok.toString());
});

test('action code cannot reach the server\'s environment or files, and an endless action is stopped', async () => {
  const marker = join(s.dataDir, 'written-by-action');
  await bind('post-login', [{
    name: 'escape',
    code: `exports.onExecutePostLogin = async (event, api) => {
      const proc = this.constructor.constructor('return process')();
      api.idToken.setCustomClaim('env_keys', Object.keys(proc.env).length);
      let wrote = 'no';
      try { proc.getBuiltinModule('fs').writeFileSync(${JSON.stringify(marker)}, 'x'); wrote = 'yes'; } catch (e) { wrote = e.code; }
      api.idToken.setCustomClaim('wrote', wrote);
      let read = 'no';
      try { proc.getBuiltinModule('fs').readFileSync(${JSON.stringify(join(s.dataDir, 'bootstrap.json'))}); read = 'yes'; } catch (e) { read = e.code; }
      api.idToken.setCustomClaim('read', read);
      if (event.request.query.state === 'spin') { await null; for (;;) {} }
    };`,
  }]);
  const t = await exchange((await login()).searchParams.get('code')!);
  const id = decodeJwt(t.body.id_token);
  assert.equal(id.env_keys, 0, 'the sandbox has no environment (no master key, no database URL)');
  assert.equal(id.wrote, 'ERR_ACCESS_DENIED');
  assert.equal(id.read, 'ERR_ACCESS_DENIED');
  assert.equal(existsSync(marker), false);

  const spun = await login({ state: 'spin' });
  assert.equal(spun.searchParams.get('error'), 'access_denied');
  assert.match(spun.searchParams.get('error_description')!, /execution time exceeded/i);
  // The sandbox comes back for the next login.
  assert.ok((await login()).searchParams.get('code'));
});

test('with no actions bound, tokens carry no custom claims', async () => {
  await managementClient(s).actions.triggers.bindings.updateMany('post-login', { bindings: [] } as any);
  const t = await exchange((await login()).searchParams.get('code')!);
  const id = decodeJwt(t.body.id_token);
  assert.equal(id[GROUPS], undefined);
  assert.equal(id.seen, undefined);
  const info = await (await fetch(`${s.baseUrl}/userinfo`, { headers: { authorization: `Bearer ${t.body.access_token}` } })).json() as any;
  assert.equal(info.sub, id.sub);
  assert.equal(info[GROUPS], undefined, 'a login with no actions leaves /userinfo without the earlier custom claims');
});

test('--actions off: bound actions do not run', async () => {
  const off = await startServer(['--actions', 'off']);
  try {
    const a = await createApp(off, { name: 'Off', app_type: 'regular_web', grant_types: ['authorization_code'], callbacks: [REDIRECT] });
    await createUser(off, 'olga@example.com', 'Olga-pw-123!');
    const mc = managementClient(off);
    const created: any = await mc.actions.create({ name: 'deny-all', supported_triggers: POST_LOGIN, code: `exports.onExecutePostLogin = async (e, api) => api.access.deny('no');` } as any);
    await mc.actions.deploy(created.id);
    await mc.actions.triggers.bindings.updateMany('post-login', { bindings: [{ ref: { type: 'action_id', value: created.id } }] } as any);
    const q = new URLSearchParams({ client_id: a.client_id, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid', state: 's' });
    const { url } = await scriptedLogin(off, `${off.baseUrl}/authorize?${q}`, 'olga@example.com', 'Olga-pw-123!');
    assert.ok(new URL(url).searchParams.get('code'), url);
  } finally {
    await off.close();
  }
});
