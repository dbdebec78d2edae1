import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { AuthClient } from '@auth0/auth0-auth-js';
import { SignJWT, decodeJwt, decodeProtectedHeader, importJWK } from 'jose';
import { Secret, TOTP } from 'otpauth';
import { startServer, type TestServer } from './helpers/server.ts';
import { createApp, createUser, follow, formFields, go, scriptedLogin } from './helpers/login-flow.ts';

// Auth0's MFA API authorized by an access token for https://{domain}/mfa/:
// a first-party application logs the user in (authorization code + PKCE,
// through @auth0/auth0-auth-js) for that audience with `enroll`,
// `read:authenticators` and `remove:authenticators`, then lists, enrolls,
// confirms and removes authenticators with authClient.mfa, the access token
// standing where the SDK takes an mfa_token.

let s: TestServer;
type App = { client_id: string; client_secret?: string };
let web: App;
let thirdParty: App;
let m2m: App;
const CB = 'https://app.example/callback';
const MFA_OTP = 'http://auth0.com/oauth/grant-type/mfa-otp';
const MFA_OOB = 'http://auth0.com/oauth/grant-type/mfa-oob';
const REALM = 'http://auth0.com/oauth/grant-type/password-realm';
const PASSWORD = 'Mfa-at-12345!';
const OTHER_API = 'https://other-api.example';
const ALL = 'enroll read:authenticators remove:authenticators';
let mfaAud = '';
const users: Record<string, string> = {};

before(async () => {
  s = await startServer();
  mfaAud = `${s.baseUrl}/mfa/`;
  const grants = ['authorization_code', 'refresh_token', REALM, MFA_OTP, MFA_OOB];
  web = await createApp(s, { name: 'Account settings', app_type: 'regular_web', callbacks: [CB], grant_types: grants });
  thirdParty = await createApp(s, { name: 'Third party', app_type: 'regular_web', callbacks: [CB], grant_types: grants, is_first_party: false });
  m2m = await createApp(s, { name: 'Machine', app_type: 'non_interactive', grant_types: ['client_credentials'] });
  assert.equal((await s.api('POST', '/resource-servers', { body: { name: 'Other', identifier: OTHER_API, scopes: [{ value: 'read:authenticators', description: 'same name, other API' }], allow_offline_access: true } })).status, 201);
  assert.equal((await s.api('POST', '/client-grants', { body: { client_id: m2m.client_id, audience: OTHER_API, scope: ['read:authenticators'] } })).status, 201);
  // The factors are on; the policy asks nothing of a login, so the user reaches the MFA API with a password alone.
  for (const f of ['otp', 'recovery-code']) assert.equal((await s.api('PUT', `/guardian/factors/${f}`, { body: { enabled: true } })).status, 200);
  for (const name of ['alice', 'bob', 'carol', 'dora']) users[name] = (await createUser(s, `${name}@example.com`, PASSWORD)).user_id;
});
after(async () => { await s?.close(); });

const auth = (a: App = web) => new AuthClient({ domain: s.domain, clientId: a.client_id, clientSecret: a.client_secret! });

/** A browser login through auth-js (code + PKCE) for `audience` and `scope`; the token response. */
async function login(name: string, scope: string, audience = mfaAud, a: App = web) {
  const client = auth(a);
  const { authorizationUrl, codeVerifier } = await client.buildAuthorizationUrl({ authorizationParams: { redirect_uri: CB, scope, audience } });
  const { url } = await scriptedLogin(s, authorizationUrl.href, `${name}@example.com`, PASSWORD);
  assert.ok(url.startsWith(CB), url);
  return client.getTokenByCode(new URL(url), { codeVerifier }) as Promise<any>;
}

async function raw(path: string, init: { method?: string; json?: unknown; form?: Record<string, string>; bearer?: string } = {}) {
  const headers: Record<string, string> = {};
  let body: string | undefined;
  if (init.json !== undefined) { headers['content-type'] = 'application/json'; body = JSON.stringify(init.json); }
  if (init.form) { headers['content-type'] = 'application/x-www-form-urlencoded'; body = new URLSearchParams(init.form).toString(); }
  if (init.bearer !== undefined) headers.authorization = `Bearer ${init.bearer}`;
  const r = await fetch(`${s.baseUrl}${path}`, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined, wwwAuthenticate: r.headers.get('www-authenticate') };
}
const list = (bearer: string) => raw('/mfa/authenticators', { bearer });
const associateOtp = (bearer: string) => raw('/mfa/associate', { bearer, json: { authenticator_types: ['otp'] } });
const remove = (bearer: string, id: string) => raw(`/mfa/authenticators/${encodeURIComponent(id)}`, { method: 'DELETE', bearer });
const otpGrant = (mfaToken: string, otp: string) =>
  raw('/oauth/token', { form: { grant_type: MFA_OTP, client_id: web.client_id, client_secret: web.client_secret!, mfa_token: mfaToken, otp } });
const code = (secret: string, offset = 0) => new TOTP({ secret: Secret.fromBase32(secret) }).generate({ timestamp: Date.now() + offset });

/** A JWT signed with the tenant's current key (valid signature), with these claims. */
async function tenantSigned(claims: Record<string, unknown>, exp: number) {
  const { privateJwk, row } = s.runtime.env.keys.current();
  const key = await importJWK(privateJwk as any, 'RS256');
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: row.kid, typ: 'JWT' }).setIssuer(`${s.baseUrl}/`).setIssuedAt().setExpirationTime(exp).sign(key);
}

/** A refusal: status and Auth0's body, and at /mfa/* the bearer's WWW-Authenticate challenge. */
function refused(r: Awaited<ReturnType<typeof raw>>, status: number, error: string, description?: RegExp, challenged = true) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.deepEqual(Object.keys(r.body).sort(), ['error', 'error_description']);
  assert.equal(r.body.error, error);
  assert.equal(typeof r.body.error_description, 'string');
  if (description) assert.match(r.body.error_description, description);
  if (challenged && (status === 401 || error === 'insufficient_scope')) assert.match(String(r.wwwAuthenticate), new RegExp(`error="${error}"`));
}

test('the access token for the MFA API: RS256 JWT, ten minutes, sub, aud [mfa, userinfo], azp, scope', async () => {
  const t = await login('alice', `openid ${ALL}`);
  assert.equal(decodeProtectedHeader(t.accessToken).alg, 'RS256');
  const at = decodeJwt(t.accessToken);
  assert.equal(at.iss, `${s.baseUrl}/`);
  assert.equal(at.sub, users.alice);
  assert.deepEqual(at.aud, [mfaAud, `${s.baseUrl}/userinfo`]);
  assert.equal(at.azp, web.client_id);
  assert.deepEqual(String(at.scope).split(' ').sort(), ['enroll', 'openid', 'read:authenticators', 'remove:authenticators']);
  assert.equal(at.exp! - at.iat!, 600);
  assert.equal(t.expiresAt - Math.floor(Date.now() / 1000) <= 600, true);
  // Built in, as at Auth0: not among the tenant's APIs.
  const apis = (await s.api('GET', '/resource-servers')).body as any[];
  assert.equal(apis.some((a) => a.identifier === mfaAud), false);
  assert.equal((await s.api('GET', `/resource-servers/${encodeURIComponent(mfaAud)}`)).status, 404);
});

test('authClient.mfa with the access token: list, enroll an app, confirm it with mfa-otp, list again, delete', async () => {
  const { accessToken } = await login('bob', `openid ${ALL}`);
  const mfa = auth().mfa;
  assert.deepEqual(await mfa.listAuthenticators({ mfaToken: accessToken }), []);
  const enrollment: any = await mfa.enrollAuthenticator({ authenticatorTypes: ['otp'], mfaToken: accessToken } as any);
  assert.equal(enrollment.authenticatorType, 'otp');
  assert.match(enrollment.secret, /^[A-Z2-7]{32}$/);
  assert.match(enrollment.barcodeUri, /^otpauth:\/\/totp\//);
  assert.equal(enrollment.recoveryCodes?.length, 1);
  const pending = await mfa.listAuthenticators({ mfaToken: accessToken });
  assert.deepEqual(pending.map((a: any) => [a.authenticatorType, a.active]).sort(), [['otp', false], ['recovery-code', true]]);

  // The access token stands for the mfa_token at the grant: the enrollment is confirmed, and the
  // tokens are for the MFA API again (not another API the caller names), proven with a second factor.
  const tokens: any = await mfa.verify({ mfaToken: accessToken, factorType: 'otp', otp: code(enrollment.secret), audience: OTHER_API } as any);
  assert.deepEqual(decodeJwt(tokens.idToken).amr, ['mfa']);
  const renewed = decodeJwt(tokens.accessToken);
  assert.deepEqual(renewed.aud, [mfaAud, `${s.baseUrl}/userinfo`]);
  assert.equal(renewed.sub, users.bob);
  assert.equal(renewed.azp, web.client_id);
  assert.deepEqual(String(renewed.scope).split(' ').sort(), ['enroll', 'openid', 'read:authenticators', 'remove:authenticators']);

  const enrolled = await mfa.listAuthenticators({ mfaToken: accessToken });
  const app = enrolled.find((a: any) => a.authenticatorType === 'otp')!;
  assert.equal(app.active, true);
  const methods = (await s.api('GET', `/users/${encodeURIComponent(users.bob)}/authentication-methods`)).body;
  assert.ok(methods.some((m: any) => m.type === 'totp'), JSON.stringify(methods));
  // One app per user: a second is refused as at the mfa_token.
  refused(await associateOtp(accessToken), 403, 'access_denied', /already enrolled/);

  await mfa.deleteAuthenticator({ authenticatorId: app.id, mfaToken: accessToken } as any);
  assert.equal((await mfa.listAuthenticators({ mfaToken: accessToken })).some((a: any) => a.id === app.id), false);
  refused(await remove(accessToken, app.id), 404, 'not_found');
});

test('each operation needs its scope: 403 insufficient_scope, for /mfa/* and for the grant that confirms an enrollment', async () => {
  const reader = (await login('carol', 'openid read:authenticators')).accessToken;
  assert.equal((await list(reader)).status, 200);
  refused(await associateOtp(reader), 403, 'insufficient_scope', /^Insufficient scope, expected any of: enroll$/);
  refused(await remove(reader, 'totp|dev_x'), 403, 'insufficient_scope', /remove:authenticators/);
  refused(await otpGrant(reader, '123456'), 403, 'insufficient_scope', /enroll/, false);

  const enroller = (await login('carol', 'openid enroll')).accessToken;
  refused(await list(enroller), 403, 'insufficient_scope', /read:authenticators/);
  assert.equal((await associateOtp(enroller)).status, 200);
  // /mfa/challenge takes the mfa_token of mfa_required only, as at Auth0.
  const challenge = await raw('/mfa/challenge', { json: { client_id: web.client_id, client_secret: web.client_secret, mfa_token: enroller, challenge_type: 'otp' } });
  refused(challenge, 403, 'invalid_grant', /Malformed mfa_token/);
});

test('bearers that are not an MFA API access token: 401 invalid_token, never a 5xx', async () => {
  const good = (await login('alice', `openid ${ALL}`)).accessToken;
  // An access token for another API, even with a scope of the same name.
  const other = (await login('alice', 'openid read:authenticators', OTHER_API)).accessToken;
  refused(await list(other), 401, 'invalid_token', /^Bad audience/);
  // A Management API token.
  refused(await list(await s.token()), 401, 'invalid_token', /^Bad audience/);
  // Expired, though signed by the tenant.
  const past = Math.floor(Date.now() / 1000) - 60;
  const claims = { sub: users.alice, azp: web.client_id, aud: mfaAud, scope: ALL };
  refused(await list(await tenantSigned(claims, past)), 401, 'invalid_token', /Expired token/);
  // Another issuer's key, and a payload that is not what was signed.
  const [h, p, sig] = good.split('.');
  const forged = Buffer.from(JSON.stringify({ ...decodeJwt(good), sub: users.carol })).toString('base64url');
  refused(await list(`${h}.${forged}.${sig}`), 401, 'invalid_token', /^Invalid token$/);
  refused(await list(`${h}.${p}.${sig.slice(0, -4)}AAAA`), 401, 'invalid_token');
  // A client's own token for the MFA API, were one signed.
  const future = Math.floor(Date.now() / 1000) + 300;
  refused(await list(await tenantSigned({ sub: `${m2m.client_id}@clients`, azp: m2m.client_id, gty: 'client-credentials', aud: mfaAud, scope: ALL }, future)), 401, 'invalid_token');
  // Garbage, and no bearer at all.
  refused(await list('garbage'), 401, 'invalid_token');
  refused(await list('a.b.c'), 401, 'invalid_token');
  refused(await raw('/mfa/authenticators'), 401, 'invalid_token');
  refused(await raw('/mfa/associate', { json: { authenticator_types: ['otp'] }, bearer: 'x.y' }), 401, 'invalid_token');
  // The same refusals at the grant, in its shape.
  refused(await otpGrant(other, '123456'), 403, 'invalid_grant', /Bad audience/, false);
  // A blocked user's token stops working.
  assert.equal((await s.api('PATCH', `/users/${encodeURIComponent(users.alice)}`, { body: { blocked: true } })).status, 200);
  refused(await list(good), 401, 'invalid_token', /blocked/);
  assert.equal((await s.api('PATCH', `/users/${encodeURIComponent(users.alice)}`, { body: { blocked: false } })).status, 200);
  assert.equal((await list(good)).status, 200);
});

test('only users of first-party applications: client credentials and third-party applications get no token', async () => {
  const cc = await raw('/oauth/token', { form: { grant_type: 'client_credentials', client_id: m2m.client_id, client_secret: m2m.client_secret!, audience: mfaAud } });
  refused(cc, 403, 'access_denied', /not authorized to access/);
  // No client grant can name it: it is not one of the tenant's APIs.
  const grant = await s.api('POST', '/client-grants', { body: { client_id: m2m.client_id, audience: mfaAud, scope: ['enroll'] } });
  assert.equal(grant.status, 404, JSON.stringify(grant.body));

  const client = auth(thirdParty);
  const { authorizationUrl } = await client.buildAuthorizationUrl({ authorizationParams: { redirect_uri: CB, scope: `openid ${ALL}`, audience: mfaAud } });
  const { url } = await scriptedLogin(s, authorizationUrl.href, 'carol@example.com', PASSWORD);
  const back = new URL(url);
  assert.equal(back.origin + back.pathname, CB);
  assert.equal(back.searchParams.get('error'), 'access_denied');
  assert.match(String(back.searchParams.get('error_description')), /first-party/);
});

test('a refresh token renews the MFA API access token', async () => {
  const t = await login('carol', `openid offline_access ${ALL}`);
  assert.ok(t.refreshToken, 'the MFA API allows offline access');
  const renewed: any = await auth().getTokenByRefreshToken({ refreshToken: t.refreshToken });
  const at = decodeJwt(renewed.accessToken);
  assert.ok((at.aud as string[]).includes(mfaAud));
  assert.equal(at.sub, users.carol);
  assert.equal((await list(renewed.accessToken)).status, 200);
});

test('a user with an authenticator proves it before any token for the MFA API, whatever the policy says', async () => {
  const { accessToken } = await login('dora', `openid ${ALL}`);
  const enrollment: any = await auth().mfa.enrollAuthenticator({ authenticatorTypes: ['otp'], mfaToken: accessToken } as any);
  assert.equal((await otpGrant(accessToken, code(enrollment.secret))).status, 200);

  // Another API: the policy asks nothing.
  assert.ok((await login('dora', 'openid read:authenticators', OTHER_API)).accessToken);
  // The MFA API: the login stops at the second factor, with no "remember this browser".
  const client = auth();
  const { authorizationUrl, codeVerifier } = await client.buildAuthorizationUrl({ authorizationParams: { redirect_uri: CB, scope: `openid ${ALL}`, audience: mfaAud } });
  const page = await scriptedLogin(s, authorizationUrl.href, 'dora@example.com', PASSWORD);
  assert.match(page.url, /\/u\/mfa\?state=/, page.url);
  const html = await page.res.text();
  assert.doesNotMatch(html, /otp-secret/, 'a challenge, not an enrollment');
  assert.doesNotMatch(html, /name="remember"/);
  const posted = await go(page.jar, `${s.baseUrl}/u/mfa`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...formFields(html), code: code(enrollment.secret, 30_000) }),
  });
  assert.equal(posted.status, 303);
  const done = await follow(page.jar, new URL(posted.headers.get('location')!, s.baseUrl).toString(), s.baseUrl);
  assert.ok(done.url.startsWith(CB), done.url);
  const t: any = await client.getTokenByCode(new URL(done.url), { codeVerifier });
  assert.deepEqual(decodeJwt(t.idToken).amr, ['mfa']);
  assert.equal((await list(t.accessToken)).status, 200);

  // The password grant likewise answers mfa_required for the MFA API only.
  const password = (audience: string) => raw('/oauth/token', { form: {
    grant_type: REALM, client_id: web.client_id, client_secret: web.client_secret!, realm: 'Username-Password-Authentication',
    username: 'dora@example.com', password: PASSWORD, scope: `openid ${ALL}`, audience,
  } });
  const asked = await password(mfaAud);
  assert.equal(asked.status, 403);
  assert.equal(asked.body.error, 'mfa_required');
  assert.deepEqual(asked.body.mfa_requirements, { challenge: [{ type: 'otp' }] });
  assert.equal((await password(OTHER_API)).status, 200);
});
