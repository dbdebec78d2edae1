import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { type BrowserContext, type Page, type Response } from 'playwright-core';
import { decodeJwt } from 'jose';
import { startServer, type TestServer } from './helpers/server.ts';
import { browserRig, type BrowserRig } from './helpers/browser.ts';
import { createApp, createUser } from './helpers/login-flow.ts';
import { managementClient } from './helpers/sdk.ts';

// auth0-spa-js 2.x from a static page on its own origin, in headless Chromium:
// loginWithRedirect through the real login page, getTokenSilently through the
// refresh token (JSON/form across CORS), and silent auth in an iframe (web_message).

let s: TestServer;
let context: BrowserContext;
let rig: BrowserRig | undefined;
let appOrigin = '';
let clientId = '';
const SPA_JS = readFileSync('node_modules/@auth0/auth0-spa-js/dist/auth0-spa-js.production.js', 'utf8');

before(async () => {
  s = await startServer();
  // Same site as the server (https://localhost, another port): Chromium blocks third-party
  // cookies in cross-site iframes, as it would for a real Auth0 tenant without a custom domain.
  rig = await browserRig(s);
  appOrigin = rig.origin;
  context = rig.context;
  const app = await createApp(s, { name: 'SPA', app_type: 'spa', callbacks: [`${appOrigin}/`], web_origins: [appOrigin], allowed_logout_urls: [`${appOrigin}/`] });
  clientId = app.client_id;
  await createUser(s, 'erin@example.com', 'Erin-pw-123!', { name: 'Erin' });
  rig.serve((req, res) => {
    if (req.url === '/spa.js') { res.writeHead(200, { 'content-type': 'text/javascript' }); res.end(SPA_JS); return; }
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><html><head><script src="/spa.js"></script></head><body><p>app</p></body></html>`);
  });
});
after(async () => {
  await rig?.close();
  await s?.close();
});

/** loginWithRedirect from the app page, then Erin through the real login form, back at the app with a code. */
async function loginThroughPage(page: Page, opts: object, loginParams: Record<string, string> = {}) {
  await page.goto(`${appOrigin}/`);
  await page.evaluate(async ([o, p]) => {
    const c = await (window as any).auth0.createAuth0Client(o);
    await c.loginWithRedirect({ authorizationParams: p });
  }, [opts, loginParams] as const);
  await page.waitForURL(/\/u\/login\?state=/);
  assert.equal(await page.locator('label[for="username"]').count(), 1);
  await page.fill('#username', 'erin@example.com');
  await page.fill('#password', 'Erin-pw-123!');
  await page.click('button[type="submit"]');
  await page.waitForURL((u) => u.origin === appOrigin && u.searchParams.has('code'));
}

test('spa-js: loginWithRedirect, refresh-token renewal across CORS, and iframe silent auth', async () => {
  const page = await context.newPage();
  const opts = { domain: s.domain, clientId, authorizationParams: { redirect_uri: `${appOrigin}/`, scope: 'openid profile email offline_access' }, useRefreshTokens: true, cacheLocation: 'memory' };
  await loginThroughPage(page, opts);

  const result = await page.evaluate(async (o) => {
    const c = await (window as any).auth0.createAuth0Client(o);
    (window as any).c = c;
    await c.handleRedirectCallback();
    const user = await c.getUser();
    const first = await c.getTokenSilently({ detailedResponse: true });
    const refreshed = await c.getTokenSilently({ cacheMode: 'off', detailedResponse: true });
    return { user, first: first.access_token, refreshed: refreshed.access_token, idToken: refreshed.id_token };
  }, opts);
  assert.equal(result.user.email, 'erin@example.com');
  assert.equal(result.user.name, 'Erin');
  assert.ok(result.refreshed && result.refreshed !== result.first, 'a new access token through the refresh token');
  assert.ok(result.idToken);

  // A second client without refresh tokens renews through the hidden iframe (prompt=none, web_message).
  const silent = await page.evaluate(async (o) => {
    const c = await (window as any).auth0.createAuth0Client({ ...o, useRefreshTokens: false });
    const t = await c.getTokenSilently({ cacheMode: 'off', detailedResponse: true });
    return { access: t.access_token, id: t.id_token, user: await c.getUser() };
  }, opts);
  assert.ok(silent.access);
  assert.equal(silent.user.email, 'erin@example.com');

  // After /v2/logout the iframe answers login_required.
  await page.goto(`${s.baseUrl}/v2/logout?${new URLSearchParams({ client_id: clientId, returnTo: `${appOrigin}/` })}`);
  await page.waitForURL(`${appOrigin}/`);
  const err = await page.evaluate(async (o) => {
    const c = await (window as any).auth0.createAuth0Client({ ...o, useRefreshTokens: false });
    try { await c.getTokenSilently({ cacheMode: 'off' }); return 'no error'; } catch (e: any) { return e.error ?? String(e); }
  }, opts);
  assert.equal(err, 'login_required');
});

test('spa-js: post-login action claims reach getIdTokenClaims after login, refresh and silent auth', async () => {
  const ROLES = 'https://spa.example/roles';
  const PROTOCOL = 'https://spa.example/protocol';
  const found = await s.api('GET', '/users-by-email?email=erin@example.com');
  assert.equal(found.status, 200);
  const userId: string = found.body[0].user_id;
  const role = await s.api('POST', '/roles', { body: { name: 'spa-editors' } });
  assert.equal(role.status, 200);
  assert.equal((await s.api('POST', `/users/${encodeURIComponent(userId)}/roles`, { body: { roles: [role.body.id] } })).status, 204);

  const mc = managementClient(s);
  const action: any = await mc.actions.create({
    name: `spa-claims-${Math.random().toString(36).slice(2, 8)}`,
    supported_triggers: [{ id: 'post-login', version: 'v3' }],
    code: `
exports.onExecutePostLogin = async (event, api) => {
  api.idToken.setCustomClaim('${ROLES}', event.authorization.roles);
  api.idToken.setCustomClaim('${PROTOCOL}', event.transaction.protocol);
};`,
  } as any);
  await mc.actions.deploy(action.id);
  await mc.actions.triggers.bindings.updateMany('post-login' as any, { bindings: [{ ref: { type: 'action_id', value: action.id } }] } as any);
  try {
    const page = await context.newPage();
    const opts = { domain: s.domain, clientId, authorizationParams: { redirect_uri: `${appOrigin}/`, scope: 'openid profile email offline_access' }, useRefreshTokens: true, cacheLocation: 'memory' };
    // prompt=login: the login form shows even if the context still holds a session.
    await loginThroughPage(page, opts, { prompt: 'login' });

    // No named helpers inside evaluate: tsx's keepNames would reference a __name the page lacks.
    const claims = await page.evaluate(async (o) => {
      const c = await (window as any).auth0.createAuth0Client(o);
      await c.handleRedirectCallback();
      const login = await c.getIdTokenClaims();
      await c.getTokenSilently({ cacheMode: 'off' });
      const refreshed = await c.getIdTokenClaims();
      // A client without refresh tokens renews through the hidden iframe (prompt=none).
      const s2 = await (window as any).auth0.createAuth0Client({ ...o, useRefreshTokens: false });
      await s2.getTokenSilently({ cacheMode: 'off' });
      const silent = await s2.getIdTokenClaims();
      return { login, refreshed, silent };
    }, opts);
    const pick = (x: any) => ({ email: x?.email, roles: x?.[ROLES], protocol: x?.[PROTOCOL] });

    assert.deepEqual(pick(claims.login), { email: 'erin@example.com', roles: ['spa-editors'], protocol: 'oidc-basic-profile' });
    assert.deepEqual(pick(claims.refreshed), { email: 'erin@example.com', roles: ['spa-editors'], protocol: 'oauth2-refresh-token' });
    assert.deepEqual(pick(claims.silent), { email: 'erin@example.com', roles: ['spa-editors'], protocol: 'oidc-basic-profile' });
  } finally {
    await mc.actions.triggers.bindings.updateMany('post-login' as any, { bindings: [] } as any);
  }
});

test('spa-js: useDpop binds access and refresh tokens to the browser key (nonce retry, CORS refresh, fetchWithAuth to /userinfo)', async () => {
  const API = 'https://dpop-api.example';
  const created = await s.api('POST', '/resource-servers', { body: { name: 'DPoP API', identifier: API, scopes: [{ value: 'read:things', description: 'r' }], allow_offline_access: true, proof_of_possession: { mechanism: 'dpop', required: true } } });
  assert.equal(created.status, 201, JSON.stringify(created.body));

  const page = await context.newPage();
  const opts = { domain: s.domain, clientId, useDpop: true, useRefreshTokens: true, cacheLocation: 'memory', authorizationParams: { redirect_uri: `${appOrigin}/`, scope: 'openid profile email offline_access', audience: API } };
  // prompt=login: the login form shows even if the context still holds a session.
  await loginThroughPage(page, opts, { prompt: 'login' });

  // What spa-js (its token worker included) sends to /oauth/token and what it gets back.
  const calls: Promise<{ grant: string | null; proof: boolean; status: number; error?: string; nonceHeader: boolean; tokenType?: string }>[] = [];
  const onResponse = (res: Response) => {
    const req = res.request();
    if (req.method() !== 'POST' || res.url() !== `${s.baseUrl}/oauth/token`) return;
    calls.push((async () => {
      const sent = req.postData() ?? '';
      const grant = sent.startsWith('{') ? JSON.parse(sent).grant_type ?? null : new URLSearchParams(sent).get('grant_type');
      const body = await res.json().catch(() => ({}));
      return { grant, proof: Boolean(await req.headerValue('dpop')), status: res.status(), error: body.error, nonceHeader: Boolean(await res.headerValue('dpop-nonce')), tokenType: body.token_type };
    })());
  };
  context.on('response', onResponse);

  const r = await page.evaluate(async ([o, userinfoUrl]: readonly [typeof opts, string]) => {
    const c = await (window as any).auth0.createAuth0Client(o);
    await c.handleRedirectCallback();
    const first = await c.getTokenSilently({ detailedResponse: true });
    const nonce = await c.getDpopNonce();
    // The thumbprint of the key pair spa-js keeps in IndexedDB (its internal Dpop helper).
    const thumbprint = await c.dpop.calculateThumbprint();
    const refreshed = await c.getTokenSilently({ cacheMode: 'off', detailedResponse: true });
    let userinfo: { status?: number; body?: any; error?: string } | undefined;
    if (typeof c.createFetcher === 'function') {
      try {
        // authParams: without them spa-js 2.27's fetcher asks getTokenSilently for audience
        // undefined, which overrides the configured audience ('default', no refresh token for it).
        const res = await c.createFetcher({ dpopNonceId: 'postern-userinfo' }).fetchWithAuth(userinfoUrl, undefined, { audience: o.authorizationParams.audience });
        userinfo = { status: res.status, body: await res.json().catch(() => null) };
      } catch (e: any) {
        userinfo = { error: String(e?.message ?? e) };
      }
    }
    return { first, nonce, thumbprint, refreshed, userinfo };
  }, [opts, `https://${s.domain}/userinfo`] as const);
  context.off('response', onResponse);
  const token = await Promise.all(calls);

  // The exchange: a DPoP token bound to the browser's key, after the use_dpop_nonce retry.
  if (r.first.token_type !== undefined) assert.equal(r.first.token_type, 'DPoP');
  const at = decodeJwt(r.first.access_token) as any;
  assert.equal(typeof at.cnf?.jkt, 'string', 'access token bound with cnf.jkt');
  assert.equal(at.cnf.jkt, r.thumbprint, 'bound to the key spa-js holds');
  assert.ok((Array.isArray(at.aud) ? at.aud : [at.aud]).includes(API), `aud ${JSON.stringify(at.aud)}`);
  assert.ok(typeof r.nonce === 'string' && r.nonce.length > 0, 'spa-js stored the DPoP-Nonce of /oauth/token (exposed across CORS)');
  const codeCalls = token.filter((x) => x.grant === 'authorization_code');
  assert.deepEqual(codeCalls.map((x) => [x.proof, x.status, x.error, x.nonceHeader]).slice(0, 1), [[true, 400, 'use_dpop_nonce', true]], 'first exchange asks for a nonce');
  assert.ok(codeCalls.slice(1).some((x) => x.proof && x.status === 200 && x.tokenType === 'DPoP'), `retried exchange: ${JSON.stringify(codeCalls)}`);

  // The refresh token (held by spa-js's worker, sent across CORS with a proof) renews with the same key.
  // (JWT access tokens carry no jti: one issued in the same second as the first can equal it.)
  assert.ok(token.some((x) => x.grant === 'refresh_token' && x.proof && x.status === 200 && x.tokenType === 'DPoP'), `refresh_token grant with a proof: ${JSON.stringify(token)}`);
  assert.ok(r.refreshed.access_token);
  if (r.refreshed.token_type !== undefined) assert.equal(r.refreshed.token_type, 'DPoP');
  assert.equal((decodeJwt(r.refreshed.access_token) as any).cnf?.jkt, at.cnf.jkt, 'the refreshed access token is bound to the same key');

  // fetchWithAuth: Authorization: DPoP plus a proof with ath, to /userinfo across CORS.
  assert.ok(r.userinfo, 'spa-js 2.27 has createFetcher');
  assert.equal(r.userinfo.error, undefined, `fetchWithAuth(/userinfo) failed: ${r.userinfo.error}`);
  assert.equal(r.userinfo.status, 200, JSON.stringify(r.userinfo.body));
  assert.equal(r.userinfo.body?.email, 'erin@example.com');
});
