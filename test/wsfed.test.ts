import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from './helpers/server.ts';
import { Jar, createApp, createUser, follow, formFields, go } from './helpers/login-flow.ts';
import { bindPostLogin, samlLogin } from './helpers/saml-sp.ts';
import { REALM, REPLY, relyingParty, thumbprintOf } from './helpers/wsfed-rp.ts';

// WS-Federation, Postern as the identity provider of a relying party, driven
// by Auth0's own passport-wsfed-saml2 as that relying party: it writes the
// sign-in URL and validates the posted wresult (signature against the
// tenant's certificate, audience, lifetime, recipient), for the SAML 1.1
// token Auth0 issues and the SAML 2.0 token Postern can issue instead.

let s: TestServer;
let app: { client_id: string };
let user: any;
let certPem: string;
const EMAIL = 'wes@example.com';
const PW = 'Wsfed-pw-123!';
const ALIAS = 'https://rp.example.com/';
const LOGOUT = 'https://rp.example.com/signed-out';
const CLAIMS = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims';
const CONNECTION = 'Username-Password-Authentication';

before(async () => {
  s = await startServer();
  app = await createApp(s, {
    name: 'WS-Fed RP', app_type: 'regular_web', callbacks: [REPLY], client_aliases: [ALIAS, REALM],
    allowed_logout_urls: [LOGOUT], addons: { wsfed: {} },
  });
  user = await createUser(s, EMAIL, PW, { email_verified: true, given_name: 'Wes', family_name: 'Fed', name: 'Wes Fed' });
  certPem = (await s.api('GET', '/keys/signing')).body.find((k: any) => k.current).cert;
});
after(async () => { await s?.close(); });

const endpoint = () => `${s.baseUrl}/wsfed/${app.client_id}`;
const rp = (o: Partial<Parameters<typeof relyingParty>[0]> = {}) => relyingParty({ identityProviderUrl: endpoint(), thumbprint: thumbprintOf(certPem), ...o });
const login = (url: string, jar = new Jar()) => samlLogin(s, url, EMAIL, PW, jar);
const wresultOf = (fields: Record<string, string>) => fields.wresult;
const setWsfed = async (body: Record<string, unknown>) => assert.equal((await s.api('PATCH', `/clients/${app.client_id}`, { body })).status, 200);

async function profileOf(fields: Record<string, string>, party = rp()) {
  const r = await party.validate(fields);
  assert.equal(r.kind, 'success', `the relying party refused the token: ${JSON.stringify(r)}`);
  return (r as any).user;
}

async function refusal(res: Response, status: number, pattern: RegExp) {
  const body = await res.text();
  assert.equal(res.status, status, body.slice(0, 300));
  assert.match(res.headers.get('content-type') ?? '', /html/);
  assert.match(body, pattern);
}

test('federation metadata: entity, signing certificate, token types and the passive endpoint, for the tenant and per application', async () => {
  for (const [path, address] of [['/wsfed', `${s.baseUrl}/wsfed`], [`/wsfed/${app.client_id}`, endpoint()]]) {
    const r = await fetch(`${s.baseUrl}${path}/FederationMetadata/2007-06/FederationMetadata.xml`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /application\/xml/);
    const xml = await r.text();
    assert.match(xml, new RegExp(`<EntityDescriptor entityID="urn:${s.domain.replace(/:\d+$/, '')}"`));
    assert.match(xml, /xsi:type="fed:SecurityTokenServiceType"/);
    assert.ok(xml.includes(`<X509Certificate>${certPem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s+/g, '')}</X509Certificate>`));
    assert.match(xml, /<fed:TokenType Uri="urn:oasis:names:tc:SAML:1.0:assertion"\/>/);
    assert.ok(xml.includes(`<Address>${address}</Address>`), `passive endpoint ${address}`);
    assert.ok(xml.includes(`Uri="${CLAIMS}/emailaddress"`));
  }
  const unknown = await fetch(`${s.baseUrl}/wsfed/nope/FederationMetadata/2007-06/FederationMetadata.xml`);
  await refusal(unknown, 404, /Unknown client/);
});

test('wsignin1.0: a SAML 1.1 token the relying party validates by thumbprint, posted with wa and wctx; SSO on the next request; s event', async () => {
  const party = rp();
  const url = await party.signInUrl('ctx-1&<x>');
  const q = new URL(url).searchParams;
  assert.equal(q.get('wa'), 'wsignin1.0');
  assert.equal(q.get('wtrealm'), REALM);
  const { action, fields, jar, html } = await login(url);
  assert.equal(action, REPLY);
  assert.equal(fields.wa, 'wsignin1.0');
  assert.equal(fields.wctx, 'ctx-1&<x>');
  assert.match(html, /<form method="post"/);
  const xml = wresultOf(fields);
  assert.match(xml, /^<t:RequestSecurityTokenResponse Context="ctx-1&#38;&#60;x&#62;" xmlns:t="http:\/\/schemas.xmlsoap.org\/ws\/2005\/02\/trust"><t:RequestedSecurityToken><saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:1.0:assertion" MajorVersion="1" MinorVersion="1" AssertionID="_/);
  assert.match(xml, new RegExp(`<saml:Audience>${REALM}</saml:Audience>`));
  assert.match(xml, /<ds:Reference URI="#_[0-9a-f]+">/);
  assert.match(xml, /<\/saml:AuthenticationStatement><ds:Signature/);

  const profile = await profileOf(fields, party);
  assert.equal(profile.issuer, `urn:${s.domain.replace(/:\d+$/, '')}`);
  assert.equal(profile[`${CLAIMS}/nameidentifier`], user.user_id);
  assert.equal(profile[`${CLAIMS}/emailaddress`], EMAIL);
  assert.equal(profile.email, EMAIL);
  assert.equal(profile[`${CLAIMS}/upn`], EMAIL);
  assert.equal(profile[`${CLAIMS}/givenname`], 'Wes');
  assert.equal(profile[`${CLAIMS}/surname`], 'Fed');
  assert.equal(profile[`${CLAIMS}/name`], 'Wes Fed');
  assert.equal(profile['http://schemas.auth0.com/identities/default/provider'], 'auth0');
  assert.equal(profile['http://schemas.auth0.com/identities/default/connection'], CONNECTION);
  assert.equal(profile['http://schemas.auth0.com/email_verified'], 'true');
  assert.equal(profile['http://schemas.auth0.com/clientID'], app.client_id);

  // The same token against the certificate itself, as a relying party configured with it.
  const certBody = certPem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s+/g, '');
  assert.equal((await profileOf(fields, rp({ thumbprint: undefined, cert: certBody })))[`${CLAIMS}/nameidentifier`], user.user_id);

  // The checks are real: another realm, another thumbprint, a changed claim.
  const otherRealm = await rp({ realm: 'urn:another-rp' }).validate(fields);
  assert.ok(otherRealm.kind === 'error' && /Audience is invalid/.test(otherRealm.err.message), JSON.stringify(otherRealm));
  const otherThumb = await rp({ thumbprint: 'AB'.repeat(20) }).validate(fields);
  assert.ok(otherThumb.kind === 'error' && /thumbprint/i.test(otherThumb.err.message), JSON.stringify(otherThumb));
  const tampered = await party.validate({ ...fields, wresult: xml.replace(EMAIL, 'mallory@example.com') });
  assert.ok(tampered.kind === 'error' && /signature/i.test(tampered.err.message), JSON.stringify(tampered));

  // The SSO session answers the next request without the login page.
  const again = await follow(jar, await party.signInUrl('ctx-2'), s.baseUrl);
  assert.equal(again.res.status, 200);
  const f2 = formFields(await again.res.text());
  assert.equal(f2.wctx, 'ctx-2');
  assert.equal((await profileOf(f2, party))[`${CLAIMS}/nameidentifier`], user.user_id);

  // Replaying the continue URL gets nothing.
  const replay = await go(jar, again.url);
  await refusal(replay, 400, /expired or is invalid/);

  await s.runtime.env.events.flush();
  const logs = await s.api('GET', '/logs?q=type:s&per_page=50');
  assert.ok(logs.body.some((l: any) => l.client_id === app.client_id && l.user_id === user.user_id), 'an s event for the WS-Fed application');
});

test('/wsfed with wtrealm: urn:{client_id}, or one of the client_aliases; the audience is the realm asked for', async () => {
  for (const realm of [`urn:${app.client_id}`, ALIAS]) {
    const party = relyingParty({ identityProviderUrl: `${s.baseUrl}/wsfed`, realm, thumbprint: thumbprintOf(certPem) });
    const { action, fields } = await login(await party.signInUrl());
    assert.equal(action, REPLY);
    assert.equal(fields.wctx, undefined);
    assert.doesNotMatch(fields.wresult, /Context=/);
    assert.equal((await profileOf(fields, party))[`${CLAIMS}/nameidentifier`], user.user_id, realm);
  }
  // Without a wtrealm, /wsfed/{client_id} uses the application's first alias as the audience.
  const { fields } = await login(`${endpoint()}?wa=wsignin1.0`);
  assert.match(fields.wresult, new RegExp(`<saml:Audience>${ALIAS}</saml:Audience>`));
});

test('SAML 2.0 token with addons.wsfed.samlVersion 2.0: validated by certificate, recipient and audience checked', async () => {
  await setWsfed({ addons: { wsfed: { samlVersion: '2.0' } } });
  try {
    const party = rp({ thumbprint: undefined, cert: certPem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s+/g, '') });
    const { fields } = await login(await party.signInUrl('v2'));
    assert.match(fields.wresult, /<t:RequestedSecurityToken><saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"[^>]* Version="2.0"/);
    assert.ok(fields.wresult.includes(`Recipient="${REPLY}"`));
    const profile = await profileOf(fields, party);
    assert.equal(profile[`${CLAIMS}/nameidentifier`], user.user_id);
    assert.equal(profile[`${CLAIMS}/emailaddress`], EMAIL);
    // A relying party at another URL refuses a token meant for this one.
    const elsewhere = await rp({ cert: certPem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s+/g, ''), thumbprint: undefined, recipientUrl: 'https://evil.example.com/cb' }).validate(fields);
    assert.ok(elsewhere.kind === 'error' && /Recipient is invalid/.test(elsewhere.err.message), JSON.stringify(elsewhere));
  } finally {
    await setWsfed({ addons: { wsfed: {} } });
  }
});

test('whr names the connection for /authorize; wfresh=0 asks for the password again despite the session', async () => {
  const r = await go(new Jar(), `${endpoint()}?wtrealm=${encodeURIComponent(REALM)}&whr=urn:${CONNECTION}`);
  assert.equal(r.status, 302);
  const next = new URL(r.headers.get('location')!);
  assert.equal(next.pathname, '/authorize');
  assert.equal(next.searchParams.get('connection'), CONNECTION);
  assert.equal(next.searchParams.get('redirect_uri'), `${endpoint()}/continue`);

  const { jar } = await login(await rp().signInUrl());
  const sso = await follow(jar, `${endpoint()}?wtrealm=${encodeURIComponent(REALM)}`, s.baseUrl);
  assert.equal(sso.res.status, 200, 'the session answers without the login page');
  const fresh = await follow(jar, `${endpoint()}?wtrealm=${encodeURIComponent(REALM)}&wfresh=0`, s.baseUrl);
  assert.match(fresh.url, /\/u\/login\?/);
});

test('post-login actions: event.transaction.protocol is wsfed, api.samlResponse changes the token, api.access.deny posts a fault', async () => {
  await bindPostLogin(s, `exports.onExecutePostLogin = async (event, api) => {
    api.samlResponse.setAttribute('http://example.com/claims/protocol', event.transaction.protocol);
    api.samlResponse.setAttribute('${CLAIMS}/upn', null);
    api.samlResponse.setLifetimeInSeconds(300);
  };`);
  try {
    const party = rp();
    const { fields } = await login(await party.signInUrl());
    const profile = await profileOf(fields, party);
    assert.equal(profile['http://example.com/claims/protocol'], 'wsfed');
    assert.equal(profile[`${CLAIMS}/upn`], undefined);
    const [, from, until] = /<saml:Conditions NotBefore="([^"]+)" NotOnOrAfter="([^"]+)"/.exec(fields.wresult)!;
    assert.equal(Date.parse(until) - Date.parse(from), 300_000);

    await bindPostLogin(s, `exports.onExecutePostLogin = async (event, api) => { api.access.deny('No WS-Fed for you'); };`);
    const denied = await login(await party.signInUrl('denied-ctx'));
    assert.equal(denied.action, REPLY);
    assert.equal(denied.fields.wctx, 'denied-ctx');
    assert.match(denied.fields.wresult, /<env:Fault>/);
    const r = await party.validate(denied.fields);
    assert.ok(r.kind === 'fail' && /No WS-Fed for you/.test(String(r.info?.message ?? r.info)), JSON.stringify(r));
  } finally {
    await bindPostLogin(s);
  }
});

test('refusals: unknown application or realm, missing realm, reply URL not allowed, no callback, bad wa or wctx, never a redirect', async () => {
  await refusal(await go(new Jar(), `${s.baseUrl}/wsfed/nope?wa=wsignin1.0`), 404, /Unknown client/);
  await refusal(await go(new Jar(), `${s.baseUrl}/wsfed?wtrealm=urn:nope`), 404, /No application has the realm &#34;urn:nope&#34;/);
  await refusal(await go(new Jar(), `${s.baseUrl}/wsfed?wtrealm=https://unknown.example.com/`), 404, /No application has the realm/);
  await refusal(await go(new Jar(), `${s.baseUrl}/wsfed?wa=wsignin1.0`), 400, /Missing required parameter: wtrealm/);
  await refusal(await go(new Jar(), `${s.baseUrl}/wsfed?wtrealm=`), 400, /wtrealm parameter is not valid/);
  await refusal(await go(new Jar(), `${endpoint()}?wtrealm=${encodeURIComponent(REALM)}&wreply=${encodeURIComponent('https://evil.example.com/cb')}`), 400,
    /The wreply &#34;https:&#47;&#47;evil.example.com&#47;cb&#34; is not in the list of Allowed Callback URLs/);
  // A near miss of an allowed URL is no match either.
  await refusal(await go(new Jar(), `${endpoint()}?wreply=${encodeURIComponent(`${REPLY}/../x`)}`), 400, /Allowed Callback URLs/);
  await refusal(await go(new Jar(), `${endpoint()}?wa=wsignin2.0`), 400, /The wa parameter &#34;wsignin2.0&#34; is not supported/);
  await refusal(await go(new Jar(), `${endpoint()}?wctx=${'x'.repeat(3000)}`), 400, /wctx parameter is too long/);
  await refusal(await go(new Jar(), `${endpoint()}/continue?state=nope&code=x`), 400, /expired or is invalid/);
  await refusal(await go(new Jar(), `${s.baseUrl}/wsfed/%E0%A4%A?wa=wsignin1.0`), 404, /Unknown client/);
  const form = (body: Record<string, string>) => ({ method: 'POST', body: new URLSearchParams(body), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  await refusal(await go(new Jar(), `${s.baseUrl}/wsfed`, form({ wa: 'wsignin1.0', wtrealm: 'urn:nope' })), 404, /No application has the realm/);
  // The request may be posted too.
  const posted = await go(new Jar(), `${s.baseUrl}/wsfed`, form({ wa: 'wsignin1.0', wtrealm: ALIAS, wctx: 'posted' }));
  assert.equal(posted.status, 302);
  assert.equal(new URL(posted.headers.get('location')!).pathname, '/authorize');
  const bare = await createApp(s, { name: 'No callbacks', app_type: 'regular_web' });
  await refusal(await go(new Jar(), `${s.baseUrl}/wsfed/${bare.client_id}`), 400, /no callback URL/);
  // An allowed wreply other than the first callback is used as asked.
  await setWsfed({ callbacks: [REPLY, 'https://rp.example.com/other'] });
  try {
    const { action } = await login(`${endpoint()}?wreply=${encodeURIComponent('https://rp.example.com/other')}`);
    assert.equal(action, 'https://rp.example.com/other');
  } finally {
    await setWsfed({ callbacks: [REPLY] });
  }
});

test('wsignout1.0 ends the session and returns to an allowed wreply; a wreply not allowed is refused and ends nothing', async () => {
  const { jar } = await login(await rp().signInUrl());
  const bad = await go(jar, `${endpoint()}?wa=wsignout1.0&wreply=${encodeURIComponent('https://evil.example.com/')}`);
  await refusal(bad, 400, /not defined as a valid URL in &#34;Allowed Logout URLs&#34;/);
  const still = await follow(jar, `${endpoint()}?wtrealm=${encodeURIComponent(REALM)}`, s.baseUrl);
  assert.equal(still.res.status, 200, 'the refused sign-out left the session alone');
  assert.equal(formFields(await still.res.text()).wa, 'wsignin1.0');

  const out = await go(jar, `${endpoint()}?wa=wsignout1.0&wreply=${encodeURIComponent(LOGOUT)}`);
  assert.equal(out.status, 302);
  assert.equal(out.headers.get('location'), LOGOUT);
  const after = await follow(jar, `${endpoint()}?wtrealm=${encodeURIComponent(REALM)}`, s.baseUrl);
  assert.match(after.url, /\/u\/login\?/, 'the session is gone');

  await s.runtime.env.events.flush();
  const logs = await s.api('GET', '/logs?q=type:slo&per_page=50');
  assert.ok(logs.body.some((l: any) => l.client_id === app.client_id && l.user_id === user.user_id && l.details?.return_to === LOGOUT), 'an slo event');
});

test('wsignoutcleanup1.0 and sign-out at /wsfed: the signed-out page, or the tenant\'s Allowed Logout URLs', async () => {
  const { jar } = await login(await rp().signInUrl());
  const cleanup = await go(jar, `${endpoint()}?wa=wsignoutcleanup1.0`);
  assert.equal(cleanup.status, 200);
  assert.match(await cleanup.text(), /You are signed out/);
  assert.match((await follow(jar, `${endpoint()}?wtrealm=${encodeURIComponent(REALM)}`, s.baseUrl)).url, /\/u\/login\?/);

  // No application named: the application's own logout URL is not the tenant's.
  await refusal(await go(new Jar(), `${s.baseUrl}/wsfed?wa=wsignout1.0&wreply=${encodeURIComponent(LOGOUT)}`), 400, /Allowed Logout URLs/);
  const tenant = await s.api('PATCH', '/tenants/settings', { body: { allowed_logout_urls: ['https://tenant.example.com/bye'] } });
  assert.equal(tenant.status, 200);
  const ok = await go(new Jar(), `${s.baseUrl}/wsfed?wa=wsignout1.0&wreply=${encodeURIComponent('https://tenant.example.com/bye')}`);
  assert.equal(ok.status, 302);
  assert.equal(ok.headers.get('location'), 'https://tenant.example.com/bye');
  // Naming the application by its realm makes its own list apply.
  const byRealm = await go(new Jar(), `${s.baseUrl}/wsfed?wa=wsignout1.0&wtrealm=${encodeURIComponent(ALIAS)}&wreply=${encodeURIComponent(LOGOUT)}`);
  assert.equal(byRealm.status, 302);
  assert.equal(byRealm.headers.get('location'), LOGOUT);
});
