import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt, jwtVerify, SignJWT } from 'jose';
import { startServer, type TestServer } from './helpers/server.ts';
import { managementClient } from './helpers/sdk.ts';
import { Jar, createApp, createUser, follow, go, scriptedLogin, exchangeCode } from './helpers/login-flow.ts';

// api.redirect in post-login actions: an action sends the browser to another
// site (here the test plays that site and the browser) with a signed session
// token, the login comes back to /continue with the site's own signed token,
// onContinuePostLogin reads it, the actions bound after it run, and the code
// carries the claims of both runs. Tokens are checked and made with jose on
// the site's side, so Postern's HS256 must agree with it.

let s: TestServer;
let app: { client_id: string; client_secret?: string };
let userId: string;
const CB = 'https://rp.example/callback';
const SITE = 'https://profile.example/complete';
const SHARED = 'a-shared-secret-of-some-length-1234';
const key = new TextEncoder().encode(SHARED);

before(async () => {
  s = await startServer();
  app = await createApp(s, { name: 'Redirect RP', app_type: 'regular_web', callbacks: [CB], grant_types: ['authorization_code'] });
  userId = (await createUser(s, 'redirect@example.com', 'Redirect-pw-123!')).user_id;
});
after(async () => { await s?.close(); });

async function bind(...codes: string[]) {
  const mc = managementClient(s);
  const refs: any[] = [];
  for (const code of codes) {
    const a: any = await mc.actions.create({ name: `redirect-${Math.random().toString(36).slice(2, 8)}`, supported_triggers: [{ id: 'post-login', version: 'v3' }], code, secrets: [{ name: 'SHARED', value: SHARED }] } as any);
    await mc.actions.deploy(a.id);
    refs.push({ ref: { type: 'action_id', value: a.id } });
  }
  await mc.actions.triggers.bindings.updateMany('post-login', { bindings: refs } as any);
}

const PROFILE = `exports.onExecutePostLogin = async (event, api) => {
  api.idToken.setCustomClaim('https://rp.example/before', 'yes');
  if (event.user.user_metadata.favorite) return;
  if (!api.redirect.canRedirect()) return api.access.deny('the profile is incomplete');
  const token = api.redirect.encodeToken({ secret: event.secrets.SHARED, payload: { email: event.user.email }, expiresInSeconds: 120 });
  api.redirect.sendUserTo(${JSON.stringify(SITE)}, { query: { session_token: token, lang: 'en' } });
};
exports.onContinuePostLogin = async (event, api) => {
  const answer = api.redirect.validateToken({ secret: event.secrets.SHARED, tokenParameterName: 'profile_token' });
  api.user.setUserMetadata('favorite', answer.favorite);
  api.idToken.setCustomClaim('https://rp.example/favorite', answer.favorite);
};`;
const AFTER = `exports.onExecutePostLogin = async (event, api) => {
  api.idToken.setCustomClaim('https://rp.example/after', event.user.user_metadata.favorite || 'none');
};`;

const authorize = (extra: Record<string, string> = {}) =>
  `${s.baseUrl}/authorize?${new URLSearchParams({ client_id: app.client_id, redirect_uri: CB, response_type: 'code', scope: 'openid email', state: 'app-state', ...extra })}`;

const exchange = async (callback: string) => decodeJwt((await exchangeCode(s, app, CB, callback)).id_token);

/** The site's answer: a token for this login's state, signed with the shared secret. */
const siteToken = (state: string, claims: Record<string, unknown>, secret = key) =>
  new SignJWT({ state, ...claims }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('5m').sign(secret);

test('an action redirects, the login continues at /continue, and the code carries the claims of both runs', async () => {
  await bind(PROFILE, AFTER);
  const jar = new Jar();
  const away = await scriptedLogin(s, authorize(), 'redirect@example.com', 'Redirect-pw-123!', jar);
  const out = new URL(away.url);
  assert.equal(`${out.origin}${out.pathname}`, SITE, away.url);
  assert.equal(out.searchParams.get('lang'), 'en');
  const state = out.searchParams.get('state')!;
  assert.ok(state && state !== 'app-state', 'the state is the login\'s own, not the application\'s');
  const sent = (await jwtVerify(out.searchParams.get('session_token')!, key, { algorithms: ['HS256'] })).payload;
  assert.equal(sent.email, 'redirect@example.com');
  assert.equal(sent.sub, userId);
  assert.ok(Number(sent.exp) - Number(sent.iat) === 120);

  const back = await follow(jar, `${s.baseUrl}/continue?${new URLSearchParams({ state, profile_token: await siteToken(state, { favorite: 'green' }) })}`, s.baseUrl);
  const callback = new URL(back.url);
  assert.equal(`${callback.origin}${callback.pathname}`, CB, back.url);
  assert.equal(callback.searchParams.get('state'), 'app-state');
  const id = await exchange(back.url);
  assert.equal(id['https://rp.example/before'], 'yes');
  assert.equal(id['https://rp.example/favorite'], 'green');
  assert.equal(id['https://rp.example/after'], 'green', 'the action bound after the redirecting one ran after it, and saw its metadata');
  const u = (await s.api('GET', `/users/${encodeURIComponent(userId)}`)).body;
  assert.equal(u.user_metadata.favorite, 'green');
  // Two runs, two executions: the one the redirect suspended, and the one that finished the login.
  let named: string[] | undefined;
  for (let i = 0; i < 50 && !named; i++) {
    named = (await s.api('GET', '/logs?q=type:seacft&sort=date:-1&per_page=20')).body.find((l: any) => l.client_id === app.client_id && l.details?.actions)?.details.actions.executions;
    if (!named) await new Promise((r) => setTimeout(r, 100));
  }
  const runs = await Promise.all(named!.map((x) => managementClient(s).actions.executions.get(x) as Promise<any>));
  assert.deepEqual(runs.map((r) => [r.status, r.results.length]), [['suspended', 1], ['final', 2]]);

  // The same /continue again is refused: the login already went back to the application.
  const replay = await go(jar, `${s.baseUrl}/continue?state=${state}`);
  assert.equal(replay.status, 400);

  // The next login has a favorite: no redirect.
  const again = await scriptedLogin(s, authorize(), 'redirect@example.com', 'Redirect-pw-123!');
  assert.equal((await exchange(again.url))['https://rp.example/after'], 'green');
});

test('a token for another state or with another secret fails the resumed action: access_denied at the app', async () => {
  await s.api('PATCH', `/users/${encodeURIComponent(userId)}`, { body: { user_metadata: { favorite: null } } });
  await bind(PROFILE);
  for (const [label, make] of [
    ['another state', (st: string) => siteToken(`${st}x`, { favorite: 'red' })],
    ['another secret', (st: string) => siteToken(st, { favorite: 'red' }, new TextEncoder().encode('not-the-shared-secret-at-all-000'))],
  ] as const) {
    const jar = new Jar();
    const away = await scriptedLogin(s, authorize(), 'redirect@example.com', 'Redirect-pw-123!', jar);
    const state = new URL(away.url).searchParams.get('state')!;
    const back = await follow(jar, `${s.baseUrl}/continue?${new URLSearchParams({ state, profile_token: await make(state) })}`, s.baseUrl);
    const cb = new URL(back.url);
    assert.equal(cb.searchParams.get('error'), 'access_denied', `${label}: ${back.url}`);
    assert.match(cb.searchParams.get('error_description') ?? '', /state mismatch|signature is invalid/, label);
  }
  assert.equal((await s.api('GET', `/users/${encodeURIComponent(userId)}`)).body.user_metadata?.favorite, undefined);
});

test('POST /continue works too; prompt=none cannot redirect; an unknown state is an error page', async () => {
  await bind(PROFILE);
  const jar = new Jar();
  const away = await scriptedLogin(s, authorize(), 'redirect@example.com', 'Redirect-pw-123!', jar);
  const state = new URL(away.url).searchParams.get('state')!;
  const posted = await go(jar, `${s.baseUrl}/continue`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ state, profile_token: await siteToken(state, { favorite: 'teal' }) }),
  });
  assert.equal(posted.status, 303);
  const done = await follow(jar, new URL(posted.headers.get('location')!, s.baseUrl).href, s.baseUrl);
  assert.equal((await exchange(done.url))['https://rp.example/favorite'], 'teal');

  // With a session and no favorite, a silent login cannot be sent away: the action sees canRedirect() false.
  await s.api('PATCH', `/users/${encodeURIComponent(userId)}`, { body: { user_metadata: { favorite: null } } });
  const silent = await follow(jar, authorize({ prompt: 'none' }), s.baseUrl);
  const cb = new URL(silent.url);
  assert.equal(cb.searchParams.get('error'), 'access_denied', silent.url);
  assert.equal(cb.searchParams.get('error_description'), 'the profile is incomplete');

  const unknown = await go(new Jar(), `${s.baseUrl}/continue?state=nosuchinteraction123`);
  assert.equal(unknown.status, 400);
  await managementClient(s).actions.triggers.bindings.updateMany('post-login', { bindings: [] } as any);
});
