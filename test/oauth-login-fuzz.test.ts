import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from './helpers/server.ts';
import { createApp, createUser, follow, formFields, go, Jar } from './helpers/login-flow.ts';

// The browser and OAuth surface with values of the wrong shape in every
// parameter: /authorize (also repeated parameters), /oauth/token and
// /oauth/revoke (JSON values of every type, repeated form fields, odd content
// types), /dbconnections, both logouts, and the Universal Login forms of a live
// login. None may be a 5xx.

let s: TestServer;
let app: { client_id: string; client_secret?: string };
const CB = 'https://app.example.com/callback';
const REALM = 'http://auth0.com/oauth/grant-type/password-realm';
before(async () => {
  s = await startServer(['--rate-limit', '1000000']);
  app = await createApp(s, { name: 'web', app_type: 'regular_web', callbacks: [CB], allowed_logout_urls: ['https://app.example.com/'], grant_types: ['authorization_code', 'refresh_token', 'password', REALM] });
  await createUser(s, 'fuzz@example.com', 'Fuzz-password-1!');
});
after(async () => { await s?.close(); });

const WEIRD = ['', 'x'.repeat(4000), '%ZZ', '-1', '99999999999999999999', '{"a":1}', 'é\u2028\ud800', 'https://evil.example/', 'javascript:alert(1)', '\r\nX: y'];
const JSON_VALUES: unknown[] = [...WEIRD, 1, true, null, [], {}, ['a', 'b']];
const failures: string[] = [];
async function check(label: string, p: Promise<Response>) {
  const r = await p;
  const text = await r.text();
  if (r.status >= 500) failures.push(`${label} → ${r.status} ${text.slice(0, 160)}`);
}
const show = (v: unknown) => JSON.stringify(v)?.slice(0, 24);
const formPost = (body: URLSearchParams | string, type = 'application/x-www-form-urlencoded') => ({ method: 'POST', redirect: 'manual' as const, headers: (type ? { 'content-type': type } : {}) as Record<string, string>, body });
const jsonPost = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

test('/authorize: every parameter with wrong-shaped or repeated values, no 5xx', async () => {
  const base = { response_type: 'code', client_id: app.client_id, redirect_uri: CB, scope: 'openid profile', state: 's', nonce: 'n' };
  const names = ['response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'nonce', 'audience', 'resource', 'prompt', 'max_age', 'login_hint', 'connection',
    'screen_hint', 'response_mode', 'code_challenge', 'code_challenge_method', 'organization', 'invitation', 'claims', 'request', 'request_uri', 'id_token_hint', 'auth0Client'];
  for (const name of names) {
    for (const v of WEIRD) await check(`authorize ${name}=${show(v)}`, fetch(`${s.baseUrl}/authorize?${new URLSearchParams({ ...base, [name]: v })}`, { redirect: 'manual' }));
    const twice = new URLSearchParams(base);
    twice.append(name, 'again');
    await check(`authorize ${name} twice`, fetch(`${s.baseUrl}/authorize?${twice}`, { redirect: 'manual' }));
  }
  assert.deepEqual(failures.splice(0), []);
});

test('/oauth/token and /oauth/revoke: every parameter of every grant with values of every JSON type, no 5xx', async () => {
  const names = ['grant_type', 'client_id', 'client_secret', 'code', 'redirect_uri', 'code_verifier', 'refresh_token', 'username', 'password', 'realm', 'audience', 'scope', 'organization'];
  for (const grant of ['authorization_code', 'refresh_token', 'password', REALM, 'client_credentials', 'bogus']) {
    for (const name of names) {
      const base = { grant_type: grant, client_id: app.client_id, client_secret: app.client_secret, username: 'fuzz@example.com', password: 'Fuzz-password-1!', realm: 'Username-Password-Authentication' };
      for (const v of JSON_VALUES) await check(`token ${grant} ${name}=${show(v)}`, fetch(`${s.baseUrl}/oauth/token`, jsonPost({ ...base, [name]: v })));
      const twice = new URLSearchParams(base as Record<string, string>);
      twice.append(name, 'again');
      await check(`token ${grant} ${name} twice`, fetch(`${s.baseUrl}/oauth/token`, formPost(twice)));
    }
  }
  for (const name of ['token', 'token_type_hint', 'client_id', 'client_secret']) {
    for (const v of JSON_VALUES) await check(`revoke ${name}=${show(v)}`, fetch(`${s.baseUrl}/oauth/revoke`, jsonPost({ token: 'x', client_id: app.client_id, client_secret: app.client_secret, [name]: v })));
  }
  for (const type of ['text/plain', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16', 'application/xml', '']) {
    for (const path of ['/oauth/token', '/oauth/revoke', '/dbconnections/signup']) await check(`${path} as ${type || 'no type'}`, fetch(`${s.baseUrl}${path}`, formPost('grant_type=client_credentials&token=x', type)));
  }
  assert.deepEqual(failures.splice(0), []);
});

test('/dbconnections, /v2/logout and /oidc/logout: every parameter with wrong-shaped values, no 5xx', async () => {
  for (const path of ['signup', 'change_password']) {
    for (const name of ['client_id', 'email', 'password', 'connection', 'username', 'user_metadata', 'name', 'picture']) {
      for (const v of [...JSON_VALUES, { a: { b: 1 } }]) {
        const body = { client_id: app.client_id, email: `f${Math.random().toString(36).slice(2)}@example.com`, password: 'Fuzz-password-1!x', connection: 'Username-Password-Authentication', [name]: v };
        await check(`${path} ${name}=${show(v)}`, fetch(`${s.baseUrl}/dbconnections/${path}`, jsonPost(body)));
      }
    }
  }
  for (const name of ['client_id', 'returnTo', 'federated']) {
    for (const v of WEIRD) await check(`v2/logout ${name}=${show(v)}`, fetch(`${s.baseUrl}/v2/logout?${new URLSearchParams({ client_id: app.client_id, returnTo: 'https://app.example.com/', [name]: v })}`, { redirect: 'manual' }));
  }
  for (const name of ['client_id', 'post_logout_redirect_uri', 'id_token_hint', 'state', 'logout_hint']) {
    for (const v of WEIRD) await check(`oidc/logout ${name}=${show(v)}`, fetch(`${s.baseUrl}/oidc/logout?${new URLSearchParams({ [name]: v })}`, { redirect: 'manual' }));
  }
  assert.deepEqual(failures.splice(0), []);
});

test('Universal Login forms of a live login, and the ticket pages: every field with wrong-shaped or repeated values, no 5xx', async () => {
  for (const page of ['login', 'signup', 'reset-password/request']) {
    const jar = new Jar();
    const first = await follow(jar, `${s.baseUrl}/authorize?${new URLSearchParams({ response_type: 'code', client_id: app.client_id, redirect_uri: CB, scope: 'openid', ...(page === 'signup' ? { screen_hint: 'signup' } : {}) })}`, s.baseUrl);
    const state = new URL(first.url).searchParams.get('state');
    assert.ok(state, `no login state for ${page}: ${first.url}`);
    const hidden = formFields(await first.res.text());
    assert.ok(hidden._csrf, `no CSRF field on the ${page} form`);
    for (const name of ['state', '_csrf', 'username', 'email', 'password']) {
      for (const v of WEIRD) {
        const body = new URLSearchParams({ ...hidden, state, username: 'fuzz@example.com', email: 'other@example.com', password: 'Wrong-password-1!', [name]: v });
        body.append(name, 'again');
        await check(`u/${page} POST ${name}=${show(v)}`, go(jar, `${s.baseUrl}/u/${page}?state=${encodeURIComponent(state)}`, formPost(body)));
        await check(`u/${page} GET ${name}=${show(v)}`, go(jar, `${s.baseUrl}/u/${page}?${new URLSearchParams({ state, [name]: v })}`));
      }
    }
  }
  for (const path of ['/u/reset-password', '/u/email-verification', '/u/consent', '/u/organization']) {
    for (const name of ['ticket', 'state', 'client_id']) {
      for (const v of WEIRD) {
        await check(`${path} GET ${name}=${show(v)}`, fetch(`${s.baseUrl}${path}?${new URLSearchParams({ [name]: v })}`, { redirect: 'manual' }));
        await check(`${path} POST ${name}=${show(v)}`, fetch(`${s.baseUrl}${path}?${new URLSearchParams({ [name]: v })}`, formPost(new URLSearchParams({ [name]: v, password: 'x', confirm_password: 'y' }))));
      }
    }
  }
  assert.deepEqual(failures.splice(0), []);
});
