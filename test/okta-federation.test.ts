import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { startServer, type TestServer } from './helpers/server.ts';
import { createApp, decodeEntities, follow, formFields, go, Jar } from './helpers/login-flow.ts';
import { managementClient } from './helpers/sdk.ts';
import { startMockIdp, type MockIdp } from './helpers/mock-idp.ts';
import { throughIdp } from './helpers/through-idp.ts';
import { startReceiver } from './helpers/https-receiver.ts';

// An Okta Workforce connection end to end (../shared/integrations/okta-workforce.md):
// the connection as the SDK creates it, discovery, login through Okta (chosen
// by `connection=`, a button, or home realm discovery), the user it makes, and
// Okta's Global Token Revocation ending that user's sessions and refresh tokens.

let s: TestServer;
let okta: MockIdp;
let app: { client_id: string; client_secret?: string };
let conn: any;
const CALLBACK = 'https://app.example.com/callback';

before(async () => {
  s = await startServer();
  okta = await startMockIdp();
  app = await createApp(s, { name: 'Portal', app_type: 'regular_web', grant_types: ['authorization_code', 'refresh_token'], callbacks: [CALLBACK] });
  // go-auth0 v1 sends the five endpoint fields as null when they are unset.
  conn = await managementClient(s).connections.create({
    name: 'acme-okta', strategy: 'okta', display_name: 'Acme (Okta)', show_as_button: true, enabled_clients: [app.client_id],
    options: {
      domain: okta.domain, client_id: okta.clientId, client_secret: okta.clientSecret, scope: 'openid profile email',
      domain_aliases: ['acme.com'], issuer: null, authorization_endpoint: null, token_endpoint: null, userinfo_endpoint: null, jwks_uri: null,
    } as any,
  });
});
after(async () => { await okta?.close(); await s?.close(); });

const authorize = (extra: Record<string, string> = {}) => `${s.baseUrl}/authorize?${new URLSearchParams({
  client_id: app.client_id, response_type: 'code', redirect_uri: CALLBACK, scope: 'openid profile email offline_access', state: 'app-state', ...extra,
})}`;

/** Follows a redirect chain through Okta and back, to the application's callback. */
const throughOkta = (jar: Jar, start: string) => throughIdp(s, okta, jar, start, CALLBACK);

async function exchange(code: string) {
  const r = await fetch(`${s.baseUrl}/oauth/token`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'authorization_code', client_id: app.client_id, client_secret: app.client_secret, code, redirect_uri: CALLBACK }),
  });
  const body = await r.json() as any;
  assert.equal(r.status, 200, JSON.stringify(body));
  return body;
}

test('creating the connection discovers Okta and stores its endpoints; list filters find it', async () => {
  assert.ok(okta.seen.discovery >= 1, 'the discovery document was fetched');
  assert.equal(conn.strategy, 'okta');
  assert.deepEqual(conn.realms, ['acme-okta']);
  const o = conn.options;
  assert.equal(o.issuer, okta.issuer, 'Okta issuers have no trailing slash');
  assert.equal(o.authorization_endpoint, `${okta.issuer}/oauth2/v1/authorize`);
  assert.equal(o.token_endpoint, `${okta.issuer}/oauth2/v1/token`);
  assert.equal(o.jwks_uri, `${okta.issuer}/oauth2/v1/keys`);
  assert.equal(o.userinfo_endpoint, `${okta.issuer}/oauth2/v1/userinfo`);
  assert.equal(o.oidc_metadata.issuer, okta.issuer);
  assert.equal(o.type, 'back_channel');
  assert.equal(o.set_user_root_attributes, 'on_each_login');

  const listed = await s.api('GET', '/connections?strategy=okta&include_totals=true');
  assert.equal(listed.status, 200);
  assert.equal(listed.body.total, 1);
  assert.deepEqual(listed.body.connections.map((c: any) => c.name), ['acme-okta']);
  assert.equal(listed.body.start, 0);
  const byName = await s.api('GET', '/connections?name=acme-okta');
  assert.deepEqual(byName.body.map((c: any) => c.id), [conn.id]);
  assert.deepEqual((await s.api('GET', '/connections?name=acme')).body, []);
  // The client secret is sealed at rest.
  const row = await s.runtime.env.store.connections.get(conn.id);
  assert.match(row!.data.options.client_secret, /^enc:/);
});

test('connection=acme-okta logs in at Okta: PKCE, the callback, the code exchange, userinfo, a new user', async () => {
  const before = okta.seen.authorize.length;
  const back = await throughOkta(new Jar(), authorize({ connection: 'acme-okta' }));
  const q = okta.seen.authorize[before];
  assert.equal(q.get('response_type'), 'code');
  assert.equal(q.get('client_id'), okta.clientId);
  assert.equal(q.get('redirect_uri'), `${s.baseUrl}/login/callback`);
  assert.equal(q.get('scope'), 'openid profile email');
  assert.equal(q.get('code_challenge_method'), 'S256', 'the strongest method Okta advertises');
  assert.ok(q.get('code_challenge') && q.get('state'));
  const token = okta.seen.token.at(-1)!;
  assert.equal(token.get('client_secret'), okta.clientSecret, 'client_secret_post');
  assert.ok(token.get('code_verifier'));

  assert.equal(back.searchParams.get('state'), 'app-state');
  const tokens = await exchange(back.searchParams.get('code')!);
  const id = decodeJwt(tokens.id_token);
  assert.equal(id.sub, `okta|acme-okta|${okta.user.sub}`);
  assert.equal(id.email, 'ada@acme.com');
  assert.equal(id.email_verified, true);
  assert.equal(id.name, 'Ada Lovelace');

  const user = await s.api('GET', `/users/${encodeURIComponent(String(id.sub))}`);
  assert.equal(user.status, 200);
  assert.deepEqual(user.body.identities, [{ connection: 'acme-okta', user_id: `acme-okta|${okta.user.sub}`, provider: 'okta', isSocial: false }]);
  assert.equal(user.body.given_name, 'Ada');
  assert.equal(user.body.logins_count, 1);
  const logs = await s.api('GET', `/users/${encodeURIComponent(String(id.sub))}/logs`);
  assert.ok(logs.body.some((l: any) => l.type === 's' && l.strategy_type === 'enterprise' && l.connection === 'acme-okta'));
});

test('home realm discovery: an acme.com email goes to Okta from the login page and from identifier-first', async () => {
  // The combined page: the email alone is enough; no password is asked here.
  let jar = new Jar();
  let first = await follow(jar, authorize(), s.baseUrl);
  assert.ok(first.url.startsWith(`${s.baseUrl}/u/login`));
  const html = await first.res.text();
  assert.match(html, /Continue with Acme \(Okta\)/, 'show_as_button puts a button on the page');
  const button = decodeEntities(/<a href="([^"]+)">Continue with Acme/.exec(html)![1]);
  const pressed = await go(jar, new URL(button, s.baseUrl).toString());
  assert.equal(pressed.status, 302);
  assert.ok(pressed.headers.get('location')!.startsWith(`${okta.issuer}/oauth2/v1/authorize?`));
  const notEnabled = await go(jar, new URL(button.replace('acme-okta', 'someone-else'), s.baseUrl).toString());
  assert.equal(notEnabled.status, 400);
  let posted = await go(jar, `${s.baseUrl}/u/login`, { method: 'POST', body: new URLSearchParams({ ...formFields(html), username: 'grace@ACME.com' }), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(posted.status, 302);
  let to = new URL(posted.headers.get('location')!);
  assert.equal(`${to.origin}${to.pathname}`, `${okta.issuer}/oauth2/v1/authorize`);
  assert.equal(to.searchParams.get('redirect_uri'), `${s.baseUrl}/login/callback`);

  // Identifier first, as the tenant's prompt setting asks.
  assert.equal((await s.api('PATCH', '/prompts', { body: { identifier_first: true } })).status, 200);
  try {
    jar = new Jar();
    first = await follow(jar, authorize(), s.baseUrl);
    const idHtml = await first.res.text();
    assert.match(idHtml, /action="\/u\/login\/identifier"/);
    assert.doesNotMatch(idHtml, /type="password"/);
    posted = await go(jar, `${s.baseUrl}/u/login/identifier`, { method: 'POST', body: new URLSearchParams({ ...formFields(idHtml), username: 'user@acme.com' }), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(posted.status, 302);
    to = new URL(posted.headers.get('location')!);
    assert.equal(`${to.origin}${to.pathname}`, `${okta.issuer}/oauth2/v1/authorize`);
    assert.equal(to.searchParams.get('code_challenge_method'), 'S256');
    // Any other domain is asked for its password.
    posted = await go(jar, `${s.baseUrl}/u/login/identifier`, { method: 'POST', body: new URLSearchParams({ ...formFields(idHtml), username: 'bob@example.com' }), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(posted.status, 200);
    assert.match(await posted.text(), /type="password"/);
  } finally {
    await s.api('PATCH', '/prompts', { body: { identifier_first: false } });
  }
});

test('root attributes follow set_user_root_attributes; never_on_login creates no user', async () => {
  const userId = `okta|acme-okta|${okta.user.sub}`;
  okta.user.claims.name = 'Ada King';
  await throughOkta(new Jar(), authorize({ connection: 'acme-okta' }));
  assert.equal((await s.api('GET', `/users/${encodeURIComponent(userId)}`)).body.name, 'Ada King', 'on_each_login syncs');

  const options = { ...(await s.api('GET', `/connections/${conn.id}`)).body.options, set_user_root_attributes: 'never_on_login' };
  assert.equal((await s.api('PATCH', `/connections/${conn.id}`, { body: { options } })).status, 200);
  const saved = okta.user;
  okta.user = { sub: '00unewcomer', claims: { email: 'new@acme.com', email_verified: true, name: 'New Comer' } };
  try {
    const back = await throughOkta(new Jar(), authorize({ connection: 'acme-okta' }));
    assert.equal(back.searchParams.get('error'), 'access_denied');
    assert.equal(back.searchParams.get('state'), 'app-state');
    assert.equal((await s.api('GET', `/users/${encodeURIComponent('okta|acme-okta|00unewcomer')}`)).status, 404);
  } finally {
    okta.user = saved;
    await s.api('PATCH', `/connections/${conn.id}`, { body: { options: { ...options, set_user_root_attributes: 'on_each_login' } } });
  }
});

test('a user Okta provisioned by SCIM logs in as that user, and cannot once SCIM deactivates them', async () => {
  const config = await s.api('POST', `/connections/${conn.id}/scim-configuration`, { body: {} });
  assert.equal(config.status, 201, JSON.stringify(config.body));
  const token = (await s.api('POST', `/connections/${conn.id}/scim-configuration/tokens`, { body: {} })).body.token;
  const scim = (method: string, path: string, body?: unknown) => fetch(`${s.baseUrl}/scim/v2/connections/${conn.id}${path}`, {
    method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const resource = {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'sam@acme.com', externalId: '00uscim1', active: true,
    name: { givenName: 'Sam', familyName: 'Scim' }, emails: [{ primary: true, value: 'sam@acme.com', type: 'work' }], displayName: 'Sam Scim',
  };
  const made = await scim('POST', '/Users', resource);
  assert.equal(made.status, 201);
  const scimId = (await made.json() as any).id;
  assert.equal(scimId, 'okta|acme-okta|00uscim1', 'SCIM and login name the user alike');

  const saved = okta.user;
  okta.user = { sub: '00uscim1', claims: { email: 'sam@acme.com', email_verified: true, name: 'Sam Scim' } };
  try {
    const back = await throughOkta(new Jar(), authorize({ connection: 'acme-okta' }));
    assert.equal(decodeJwt((await exchange(back.searchParams.get('code')!)).id_token).sub, scimId);
    const found = await s.api('GET', `/users?q=${encodeURIComponent('email:"sam@acme.com"')}&search_engine=v3`);
    assert.deepEqual(found.body.map((u: any) => [u.user_id, u.logins_count]), [[scimId, 1]]);

    assert.equal((await scim('PUT', `/Users/${encodeURIComponent(scimId)}`, { ...resource, active: false })).status, 200);
    const refused = await throughOkta(new Jar(), authorize({ connection: 'acme-okta' }));
    assert.equal(refused.searchParams.get('error'), 'unauthorized');
    assert.equal(refused.searchParams.get('error_description'), 'user is blocked');
    assert.equal(refused.searchParams.get('code'), null);
  } finally {
    okta.user = saved;
    await s.api('DELETE', `/connections/${conn.id}/scim-configuration`);
  }
});

test('an ID token Okta did not sign for us, or an error at Okta, ends in access_denied at the application', async () => {
  for (const fault of [{ idTokenAudience: 'someone-else' }, { foreignKey: true }, { authorizeError: 'access_denied' }]) {
    okta.faults = fault;
    const saved = okta.user;
    okta.user = { sub: '00uforged', claims: { email: 'forged@acme.com' } };
    try {
      const back = await throughOkta(new Jar(), authorize({ connection: 'acme-okta' }));
      assert.equal(back.searchParams.get('error'), 'access_denied', JSON.stringify(fault));
      assert.equal(back.searchParams.get('code'), null);
      assert.equal((await s.api('GET', `/users/${encodeURIComponent('okta|acme-okta|00uforged')}`)).status, 404);
    } finally {
      okta.faults = {};
      okta.user = saved;
    }
  }
});

test('a callback with a forged or replayed state is refused', async () => {
  const jar = new Jar();
  const hop = await follow(jar, authorize({ connection: 'acme-okta' }), s.baseUrl);
  const state = new URL(hop.url).searchParams.get('state')!;
  const forged = await go(jar, `${s.baseUrl}/login/callback?code=abc&state=${encodeURIComponent(`${state.split('.')[0]}.forged`)}`);
  assert.equal(forged.status, 400);
  const unknown = await go(jar, `${s.baseUrl}/login/callback?code=abc&state=nonsense`);
  assert.equal(unknown.status, 400);
  // The genuine answer still works once, and only once.
  const okta1 = await follow(jar, hop.url, okta.issuer);
  const cb = new URL(okta1.url);
  const once = await go(jar, cb.toString());
  assert.equal(once.status, 303);
  const again = await go(jar, cb.toString());
  assert.equal(again.status, 400);
});

test('Global Token Revocation from Okta ends the user\'s sessions and refresh tokens, and tells the applications', async () => {
  const receiver = await startReceiver();
  after(() => receiver.close());
  assert.equal((await s.api('PATCH', `/clients/${app.client_id}`, { body: { oidc_logout: { backchannel_logout_urls: [`${receiver.url}/logout`] } } })).status, 200);
  const jar = new Jar();
  const back = await throughOkta(jar, authorize({ connection: 'acme-okta' }));
  const tokens = await exchange(back.searchParams.get('code')!);
  assert.ok(tokens.refresh_token, 'offline_access gives a refresh token');
  const endpoint = `${s.baseUrl}/oauth/global-token-revocation/connection/acme-okta`;
  const revoke = (token: string, body: unknown = { subject: { format: 'iss_sub', iss: okta.issuer, sub: okta.user.sub } }) =>
    fetch(endpoint, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  // Discovery advertises the endpoint as Auth0 does.
  const meta = await (await fetch(`${s.baseUrl}/.well-known/openid-configuration`)).json() as any;
  assert.equal(meta.global_token_revocation_endpoint, `${s.baseUrl}/oauth/global-token-revocation/connection/{connectionName}`);
  assert.deepEqual(meta.global_token_revocation_endpoint_auth_methods_supported, ['global-token-revocation+jwt']);

  // Refused: a key Okta does not publish, another audience, another client, the wrong typ, no token.
  for (const bad of [
    await okta.signGtr({ foreignKey: true }),
    await okta.signGtr({ payload: { aud: `${s.baseUrl}/oauth/global-token-revocation/connection/other` } }),
    await okta.signGtr({ payload: { aud: endpoint, sub: 'another-client' } }),
    await okta.signGtr({ payload: { aud: endpoint }, typ: 'JWT' }),
  ]) {
    const r = await revoke(bad);
    assert.equal(r.status, 401, `${decodeJwt(bad).aud} ${await r.clone().text()}`);
    assert.equal((await r.json() as any).error, 'invalid_token');
  }
  const none = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(none.status, 400);
  assert.equal((await revoke(await okta.signGtr({ payload: { aud: endpoint } }), { subject: { format: 'opaque', id: 'x' } })).status, 400);
  const unknownConn = await fetch(`${s.baseUrl}/oauth/global-token-revocation/connection/nope`, { method: 'POST', headers: { authorization: `Bearer ${await okta.signGtr()}` } });
  assert.equal(unknownConn.status, 404);

  // The tokens still work until Okta's request lands.
  const userId = `okta|acme-okta|${okta.user.sub}`;
  const sessionsBefore = (await s.api('GET', `/users/${encodeURIComponent(userId)}/sessions`)).body.sessions.length;
  assert.ok(sessionsBefore >= 1);
  const good = await okta.signGtr({ payload: { aud: endpoint } });
  const r = await revoke(good);
  assert.equal(r.status, 200);
  assert.equal((await revoke(good)).status, 401, 'a jti is accepted once');
  // idp-logout is one of the initiators an application gets by default: one token per session the user had
  // (earlier tests logged this user in too), each for this application and user.
  const logouts = receiver.received.map((r) => decodeJwt(r.form.get('logout_token')!));
  assert.equal(logouts.length, sessionsBefore);
  assert.ok(logouts.every((l) => l.sub === userId && l.aud === app.client_id));
  assert.ok(logouts.some((l) => l.sid === decodeJwt(tokens.id_token).sid));

  const refreshed = await fetch(`${s.baseUrl}/oauth/token`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'refresh_token', client_id: app.client_id, client_secret: app.client_secret, refresh_token: tokens.refresh_token }),
  });
  assert.equal(refreshed.status, 403);
  assert.equal((await refreshed.json() as any).error, 'invalid_grant');
  assert.deepEqual((await s.api('GET', `/users/${encodeURIComponent(userId)}/sessions`)).body.sessions, []);
  const silent = await follow(jar, authorize({ prompt: 'none' }), s.baseUrl);
  assert.equal(new URL(silent.url).searchParams.get('error'), 'login_required');
});

test('bad connection options get 400s in Auth0\'s shape, and nothing is stored', async () => {
  const create = (options: Record<string, unknown>, strategy = 'okta', name = 'bad-okta') => s.api('POST', '/connections', { body: { name, strategy, options } });
  const cases: [Record<string, unknown>, RegExp, string?][] = [
    [{ domain: okta.domain, client_id: 'x', client_secret: 'y', scope: 'profile email' }, /scope must include openid/],
    [{ domain: `https://${okta.domain}`, client_id: 'x', client_secret: 'y' }, /options\.domain/],
    [{ domain: okta.domain, client_secret: 'y' }, /Missing required property: client_id/],
    [{ client_id: 'x', client_secret: 'y' }, /domain/],
    [{ domain: 'localhost:1', client_id: 'x', client_secret: 'y' }, /Failed to fetch the discovery document/],
    [{ discovery_url: `${okta.issuer}/nothing-here`, client_id: 'x', client_secret: 'y', type: 'back_channel' }, /HTTP 404/, 'oidc'],
  ];
  for (const [options, message, strategy] of cases) {
    const r = await create(options, strategy);
    assert.equal(r.status, 400, JSON.stringify(options));
    assert.equal(r.body.statusCode, 400);
    assert.equal(r.body.error, 'Bad Request');
    assert.match(r.body.message, message);
  }
  okta.faults = { discoveryPadding: 130 * 1024 };
  try {
    const r = await create({ domain: okta.domain, client_id: 'x', client_secret: 'y' });
    assert.equal(r.status, 400);
    assert.equal(r.body.message, 'Discovery document exceeds the maximum allowed size of 128 KB');
  } finally { okta.faults = {}; }
  assert.deepEqual((await s.api('GET', '/connections?name=bad-okta')).body, []);
});

test('an OIDC connection: discovery_url, the `scopes` spelling, front_channel form_post with a nonce', async () => {
  const made = await s.api('POST', '/connections', { body: {
    name: 'acme-oidc', strategy: 'oidc', enabled_clients: [app.client_id],
    options: { discovery_url: okta.issuer, client_id: okta.clientId, scopes: 'openid profile email', type: 'front_channel' },
  } });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  assert.equal(made.body.options.scope, 'openid profile email');
  assert.equal(made.body.options.issuer, okta.issuer);
  const before = okta.seen.authorize.length;
  const saved = okta.user;
  okta.user = { sub: '00ufront', claims: {} };
  try {
    const back = await throughOkta(new Jar(), authorize({ connection: 'acme-oidc' }));
    const q = okta.seen.authorize[before];
    assert.equal(q.get('response_type'), 'id_token');
    assert.equal(q.get('response_mode'), 'form_post');
    assert.ok(q.get('nonce'));
    const id = decodeJwt((await exchange(back.searchParams.get('code')!)).id_token);
    assert.equal(id.sub, 'oidc|acme-oidc|00ufront');
  } finally { okta.user = saved; }
});

test('private_key_jwt: the client assertion is signed with the connection\'s key', async () => {
  const made = await s.api('POST', '/connections', { body: {
    name: 'acme-okta-pkjwt', strategy: 'okta', enabled_clients: [app.client_id],
    options: { domain: okta.domain, client_id: okta.clientId, token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'RS256' },
  } });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const saved = okta.user;
  okta.user = { sub: '00upkjwt', claims: { email: 'pk@acme.com' } };
  try {
    // Before Okta knows the key, the exchange fails.
    let back = await throughOkta(new Jar(), authorize({ connection: 'acme-okta-pkjwt' }));
    assert.equal(back.searchParams.get('error'), 'access_denied');
    const keys = await s.api('GET', `/connections/${made.body.id}/keys`);
    assert.equal(keys.status, 200);
    okta.assertionCert = keys.body.find((k: any) => k.current).cert;
    back = await throughOkta(new Jar(), authorize({ connection: 'acme-okta-pkjwt' }));
    assert.ok(back.searchParams.get('code'), back.toString());
    const sent = okta.seen.token.at(-1)!;
    assert.equal(sent.get('client_assertion_type'), 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    assert.equal(sent.get('client_secret'), null);
  } finally { okta.user = saved; okta.assertionCert = undefined; }
});
