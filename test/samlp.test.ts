import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import { ValidateInResponseTo, type SamlConfig } from '@node-saml/node-saml';
import { startServer, type TestServer } from './helpers/server.ts';
import { Jar, createApp, createUser, decodeEntities, follow, formFields, go, scriptedLogin } from './helpers/login-flow.ts';
import {
  ACS, SLO, SP_ENTITY, idpMetadata, samlLogin as samlLoginAs, serviceProvider, setAddon as setAddonOf, spKeyPair, xmlOf, type IdpMetadata,
} from './helpers/saml-sp.ts';
import { generateSigningKey } from '../src/tenant/keys.ts';

// The SAML2 Web App addon, driven by @node-saml/node-saml as the service
// provider: it writes the AuthnRequests and LogoutRequests, and validates
// what Postern posts back (signatures against the certificate from Postern's
// metadata, audience, InResponseTo, NameID, attributes).

let s: TestServer;
let app: { client_id: string };
let plain: { client_id: string };
let user: any;
const SP = SP_ENTITY;
const PW = 'Saml-pw-123!';
const EMAIL = 'sam@example.com';
const CLAIMS = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims';

let md: IdpMetadata;

before(async () => {
  s = await startServer();
  app = await createApp(s, { name: 'SAML SP', app_type: 'regular_web', callbacks: [ACS] });
  plain = await createApp(s, { name: 'Not SAML', app_type: 'regular_web', callbacks: [ACS] });
  user = await createUser(s, EMAIL, PW, { email_verified: true, given_name: 'Sam', family_name: 'Ple', name: 'Sam Ple', user_metadata: { color: 'teal' } });
  await setAddon({ logout: { callback: SLO } });
  md = await idpMetadata(s, app.client_id);
});
after(async () => { await s?.close(); });

const setAddon = (samlp: Record<string, unknown>) => setAddonOf(s, app.client_id, samlp);
const sp = (opts: Partial<SamlConfig> = {}) => serviceProvider(md, opts);
const samlLogin = (url: string, jar = new Jar()) => samlLoginAs(s, url, EMAIL, PW, jar);

test('metadata names the entity, both bindings, logout and NameID formats, with the current signing certificate', async () => {
  assert.equal(md.entityID, `urn:${s.domain.replace(/:\d+$/, '')}`);
  assert.equal(md.ssoRedirect, `${s.baseUrl}/samlp/${app.client_id}`);
  assert.equal(md.ssoPost, md.ssoRedirect);
  assert.equal(md.sloRedirect, `${s.baseUrl}/samlp/${app.client_id}/logout`);
  assert.ok(md.nameIdFormats.includes('urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress'));
  assert.equal(md.wantSigned, null, 'signed requests are asked for only with a signingCert');
  const keys = await s.api('GET', '/keys/signing');
  const current = keys.body.find((k: any) => k.current);
  assert.equal(md.cert, current.cert.replace(/-----(BEGIN|END) CERTIFICATE-----|\s+/g, ''));
  const unknown = await fetch(`${s.baseUrl}/samlp/metadata/nope`);
  assert.equal(unknown.status, 404);
  assert.match(await unknown.text(), /Unknown client/);
});

test('the Management API keeps addons.samlp', async () => {
  const r = await s.api('GET', `/clients/${app.client_id}`);
  assert.deepEqual(r.body.addons, { samlp: { logout: { callback: SLO } } });
});

test('SP-initiated login: AuthnRequest over HTTP-Redirect, signed assertion the SP accepts, RelayState back, s event', async () => {
  const saml = sp();
  const url = await saml.getAuthorizeUrlAsync('relay-1', undefined, {});
  const requestId = /ID="([^"]+)"/.exec(inflateRawSync(Buffer.from(new URL(url).searchParams.get('SAMLRequest')!, 'base64')).toString())![1];
  const { action, fields, jar } = await samlLogin(url);
  assert.equal(action, ACS);
  assert.equal(fields.RelayState, 'relay-1');
  const xml = xmlOf(fields.SAMLResponse);
  assert.match(xml, new RegExp(`InResponseTo="${requestId}"`));
  assert.match(xml, /<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified</);
  assert.match(xml, /SignatureMethod Algorithm="http:\/\/www.w3.org\/2001\/04\/xmldsig-more#rsa-sha256"/);
  assert.match(xml, new RegExp(`<saml:SubjectConfirmationData NotOnOrAfter="[^"]+" Recipient="${ACS}"`));
  const { profile } = await saml.validatePostResponseAsync(fields);
  assert.ok(profile);
  assert.equal(profile.nameID, user.user_id);
  assert.equal(profile.nameIDFormat, 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified');
  assert.equal(profile[`${CLAIMS}/emailaddress`], EMAIL);
  assert.equal(profile[`${CLAIMS}/upn`], EMAIL);
  assert.equal(profile[`${CLAIMS}/givenname`], 'Sam');
  assert.equal(profile[`${CLAIMS}/name`], 'Sam Ple');
  assert.equal(profile['http://schemas.auth0.com/identities/default/provider'], 'auth0');
  assert.equal(profile['http://schemas.auth0.com/email_verified'], 'true');
  assert.equal(profile['http://schemas.auth0.com/clientID'], app.client_id);
  // The assertion's lifetime is Auth0's default hour.
  const until = Date.parse(/<saml:Conditions NotBefore="([^"]+)" NotOnOrAfter="([^"]+)"/.exec(xml)![2]);
  assert.ok(Math.abs(until - Date.now() - 3600_000) < 60_000);

  // The SSO session answers the next request without the login page.
  const again = await saml.getAuthorizeUrlAsync('relay-2', undefined, {});
  const second = await follow(jar, again, s.baseUrl);
  assert.equal(second.res.status, 200);
  const f2 = formFields(await second.res.text());
  assert.equal((await saml.validatePostResponseAsync(f2)).profile?.nameID, user.user_id);

  // ForceAuthn="true" shows the login page despite the session.
  const forced = await follow(jar, await sp({ forceAuthn: true }).getAuthorizeUrlAsync('', undefined, {}), s.baseUrl);
  assert.match(forced.url, /\/u\/login\?/);

  // Replaying the continue URL gets nothing.
  const replay = await go(jar, second.url);
  assert.equal(replay.status, 400);
  assert.match(await replay.text(), /expired or is invalid/);

  await s.runtime.env.events.flush();
  const logs = await s.api('GET', `/logs?q=type:s&per_page=50`);
  assert.ok(logs.body.some((l: any) => l.client_id === app.client_id && l.user_id === user.user_id), 'an s event for the SAML application');
});

test('HTTP-POST binding: the AuthnRequest as a form post', async () => {
  const saml = sp();
  const msg = await saml.getAuthorizeMessageAsync('relay-post');
  const jar = new Jar();
  const r = await go(jar, md.ssoPost, { method: 'POST', body: new URLSearchParams(msg as Record<string, string>), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(r.status, 302);
  const { fields } = await samlLogin(new URL(r.headers.get('location')!, s.baseUrl).toString(), jar);
  assert.equal(fields.RelayState, 'relay-post');
  assert.equal((await saml.validatePostResponseAsync(fields)).profile?.nameID, user.user_id);
});

test('IdP-initiated login: no AuthnRequest, the first callback as ACS, the addon audience', async () => {
  await setAddon({ audience: SP, logout: { callback: SLO } });
  try {
    const { action, fields } = await samlLogin(`${s.baseUrl}/samlp/${app.client_id}?RelayState=idp-start`);
    assert.equal(action, ACS);
    assert.equal(fields.RelayState, 'idp-start');
    const xml = xmlOf(fields.SAMLResponse);
    assert.doesNotMatch(xml, /InResponseTo/);
    // An SP that insists on a request of its own refuses it; one that allows IdP-initiated logins accepts it.
    await assert.rejects(sp().validatePostResponseAsync(fields));
    const { profile } = await sp({ validateInResponseTo: ValidateInResponseTo.ifPresent }).validatePostResponseAsync(fields);
    assert.equal(profile?.nameID, user.user_id);
  } finally {
    await setAddon({ logout: { callback: SLO } });
  }
});

test('signResponse with rsa-sha1/sha1: the Response is signed too, and an SP that wants it signed checks it', async () => {
  const strict = sp({ wantAuthnResponseSigned: true });
  // Without signResponse, the strict SP refuses: the check is real.
  const unsigned = await samlLogin(await strict.getAuthorizeUrlAsync('', undefined, {}));
  await assert.rejects(strict.validatePostResponseAsync(unsigned.fields), /signature/i);

  await setAddon({ signResponse: true, signatureAlgorithm: 'rsa-sha1', digestAlgorithm: 'sha1', logout: { callback: SLO } });
  try {
    const { fields } = await samlLogin(await strict.getAuthorizeUrlAsync('', undefined, {}));
    const xml = xmlOf(fields.SAMLResponse);
    assert.equal(xml.match(/<ds:Signature /g)?.length, 2);
    assert.match(xml, /^<samlp:Response [^>]*>\s*<saml:Issuer>[^<]*<\/saml:Issuer>\s*<ds:Signature /);
    assert.match(xml, /xmldsig#rsa-sha1/);
    assert.match(xml, /xmldsig#sha1/);
    assert.equal((await strict.validatePostResponseAsync(fields)).profile?.nameID, user.user_id);
  } finally {
    await setAddon({ logout: { callback: SLO } });
  }
});

test('mappings, NameID probes and format, createUpnClaim and passthrough off', async () => {
  await setAddon({
    mappings: { 'user_metadata.color': 'http://example.com/claims/color', email: [`${CLAIMS}/emailaddress`, 'mail'] },
    nameIdentifierFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
    nameIdentifierProbes: [`${CLAIMS}/emailaddress`],
    createUpnClaim: false, passthroughClaimsWithNoMapping: false, mapIdentities: false,
    authnContextClassRef: 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport',
    lifetimeInSeconds: 120,
    logout: { callback: SLO },
  });
  try {
    const saml = sp();
    const { fields } = await samlLogin(await saml.getAuthorizeUrlAsync('', undefined, {}));
    const xml = xmlOf(fields.SAMLResponse);
    assert.match(xml, /PasswordProtectedTransport/);
    const until = Date.parse(/<saml:Conditions NotBefore="([^"]+)" NotOnOrAfter="([^"]+)"/.exec(xml)![2]);
    assert.ok(Math.abs(until - Date.now() - 120_000) < 30_000);
    const { profile } = await saml.validatePostResponseAsync(fields);
    assert.ok(profile);
    assert.equal(profile.nameID, EMAIL);
    assert.equal(profile.nameIDFormat, 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress');
    assert.equal(profile['http://example.com/claims/color'], 'teal');
    assert.equal(profile.mail, EMAIL);
    assert.equal(profile[`${CLAIMS}/nameidentifier`], user.user_id);
    assert.equal(profile[`${CLAIMS}/upn`], undefined);
    assert.equal(profile['http://schemas.auth0.com/nickname'], undefined);
    assert.equal(profile['http://schemas.auth0.com/identities/default/provider'], undefined);
  } finally {
    await setAddon({ logout: { callback: SLO } });
  }
});

test('the signature holds only with Postern\'s certificate and only over the unaltered assertion', async () => {
  const saml = sp({ validateInResponseTo: ValidateInResponseTo.never });
  const { fields } = await samlLogin(await saml.getAuthorizeUrlAsync('', undefined, {}));
  const xml = xmlOf(fields.SAMLResponse);
  const tampered = xml.replace(`>${user.user_id}</saml:NameID>`, '>auth0|someone-else</saml:NameID>');
  assert.notEqual(tampered, xml);
  await assert.rejects(saml.validatePostResponseAsync({ SAMLResponse: Buffer.from(tampered).toString('base64') }), /signature/i);
  const other = await generateSigningKey('localhost');
  await assert.rejects(sp({ idpCert: other.cert, validateInResponseTo: ValidateInResponseTo.never }).validatePostResponseAsync(fields), /signature/i);
  assert.equal((await saml.validatePostResponseAsync(fields)).profile?.nameID, user.user_id);
});

test('an ACS URL that is not an Allowed Callback URL is refused; the addon recipient is allowed', async () => {
  const evil = sp({ callbackUrl: 'https://evil.example/acs' });
  const r = await fetch(await evil.getAuthorizeUrlAsync('', undefined, {}), { redirect: 'manual' });
  assert.equal(r.status, 400);
  assert.match(await r.text(), /AssertionConsumerServiceURL &#34;https:&#47;&#47;evil.example&#47;acs&#34; is not an Allowed Callback URL/);

  const other = 'https://sp.example.com/saml/other-acs';
  await setAddon({ recipient: other, logout: { callback: SLO } });
  try {
    const saml = sp({ callbackUrl: other });
    const { action, fields } = await samlLogin(await saml.getAuthorizeUrlAsync('', undefined, {}));
    assert.equal(action, other);
    assert.equal((await saml.validatePostResponseAsync(fields)).profile?.nameID, user.user_id);
  } finally {
    await setAddon({ logout: { callback: SLO } });
  }
});

test('bad input gets a 4xx page, never a 500', async () => {
  const deflated = (xml: string) => deflateRawSync(Buffer.from(xml)).toString('base64');
  const at = (clientId: string, q: Record<string, string> = {}) => fetch(`${s.baseUrl}/samlp/${clientId}?${new URLSearchParams(q)}`, { redirect: 'manual' });
  const cases: [string, Promise<Response>, number, RegExp][] = [
    ['unknown client', at('no-such-client'), 404, /Unknown client/],
    ['client without the addon', at(plain.client_id), 400, /SAML2 Web App addon is not enabled/],
    ['not base64', at(app.client_id, { SAMLRequest: '%%%not base64%%%' }), 400, /not base64/],
    ['not deflated', at(app.client_id, { SAMLRequest: Buffer.from('garbage that is no zlib stream').toString('base64') }), 400, /could not be inflated/],
    ['not XML', at(app.client_id, { SAMLRequest: deflated('this is not <xml') }), 400, /not well-formed XML/],
    ['a DTD', at(app.client_id, { SAMLRequest: deflated('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]><samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_a">&e;</samlp:AuthnRequest>') }), 400, /document type declaration/],
    ['the wrong message', at(app.client_id, { SAMLRequest: deflated('<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_a"/>') }), 400, /Expected a SAML 2.0 AuthnRequest/],
    ['no ID', at(app.client_id, { SAMLRequest: deflated('<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>') }), 400, /no valid ID/],
    ['too large', fetch(`${s.baseUrl}/samlp/${app.client_id}`, { method: 'POST', body: new URLSearchParams({ SAMLRequest: 'A'.repeat(70_000) }), headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 400, /too large/],
    ['continue without a pending request', fetch(`${s.baseUrl}/samlp/${app.client_id}/continue?state=${'x'.repeat(32)}&code=abc`), 400, /expired or is invalid/],
    ['a query that is not URL-encoded', fetch(`${s.baseUrl}/samlp/${app.client_id}?SAMLRequest=${encodeURIComponent(deflated('<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_a"/>'))}&%zz=1`, { redirect: 'manual' }), 400, /not properly encoded/],
    ['logout without a LogoutRequest', fetch(`${s.baseUrl}/samlp/${app.client_id}/logout`), 400, /LogoutRequest is required/],
    ['metadata of a client without the addon', fetch(`${s.baseUrl}/samlp/metadata/${plain.client_id}`), 400, /addon is not enabled/],
  ];
  for (const [name, pending, status, body] of cases) {
    const r = await pending;
    const text = await r.text();
    assert.equal(r.status, status, `${name}: ${r.status} ${text.slice(0, 200)}`);
    assert.match(decodeEntities(text), body, name);
  }
  // An application with no callback URL at all (only the addon's recipient) logs in too: the engine takes the
  // addon's own redirect URI as one of its callbacks.
  const bare = await createApp(s, { name: 'SAML without callbacks', app_type: 'regular_web', addons: { samlp: { recipient: ACS } } });
  const viaBare = await samlLogin(`${s.baseUrl}/samlp/${bare.client_id}`);
  assert.equal(viaBare.action, ACS);
  assert.match(xmlOf(viaBare.fields.SAMLResponse), /status:Success/);
  // Only an application with the addon gets that redirect URI.
  const stray = await follow(new Jar(), `${s.baseUrl}/authorize?${new URLSearchParams({ client_id: plain.client_id, response_type: 'code', redirect_uri: `${s.baseUrl}/samlp/${plain.client_id}/continue` })}`, s.baseUrl);
  assert.equal(stray.res.status, 400);
  // A pending request with a code it did not get (here, a made-up one) is refused, and spent.
  const started = await at(app.client_id);
  assert.equal(started.status, 302);
  const state = new URL(started.headers.get('location')!).searchParams.get('state')!;
  const forged = await fetch(`${s.baseUrl}/samlp/${app.client_id}/continue?state=${state}&code=made-up`);
  assert.equal(forged.status, 400);
  assert.match(await forged.text(), /could not be completed/);
  const again = await fetch(`${s.baseUrl}/samlp/${app.client_id}/continue?state=${state}&code=made-up`);
  assert.match(await again.text(), /expired or is invalid/);
  const bomb = 'a'.repeat(2_000_000);
  const huge = await at(app.client_id, { SAMLRequest: deflateRawSync(Buffer.from(`<x>${bomb}</x>`)).toString('base64') });
  assert.equal(huge.status, 400, 'a deflate bomb is cut off');
  assert.match(await huge.text(), /could not be inflated|too large/);
});

test('SP-initiated logout ends the session and posts a signed LogoutResponse to logout.callback', async () => {
  const saml = sp({ logoutCallbackUrl: SLO });
  const { fields, jar } = await samlLogin(await saml.getAuthorizeUrlAsync('', undefined, {}));
  const { profile } = await saml.validatePostResponseAsync(fields);
  assert.ok(profile?.sessionIndex);
  const url = await saml.getLogoutUrlAsync(profile, 'bye', {});
  const r = await go(jar, url);
  assert.equal(r.status, 200);
  const html = await r.text();
  assert.equal(decodeEntities(/<form[^>]*action="([^"]*)"/.exec(html)![1]), SLO);
  const out = formFields(html);
  assert.equal(out.RelayState, 'bye');
  assert.match(xmlOf(out.SAMLResponse), /<samlp:LogoutResponse [^>]*InResponseTo="[^"]+"/);
  const logoutId = /ID="([^"]+)"/.exec(inflateRawSync(Buffer.from(new URL(url).searchParams.get('SAMLRequest')!, 'base64')).toString())![1];
  assert.match(xmlOf(out.SAMLResponse), new RegExp(`InResponseTo="${logoutId}"`));
  // node-saml reads InResponseTo from a Response only, so this check is left to the assertion above; the signature it does check.
  const lenient = sp({ validateInResponseTo: ValidateInResponseTo.ifPresent });
  assert.equal((await lenient.validatePostResponseAsync(out)).loggedOut, true);
  const forgedOut = xmlOf(out.SAMLResponse).replace('status:Success', 'status:Requester');
  await assert.rejects(lenient.validatePostResponseAsync({ SAMLResponse: Buffer.from(forgedOut).toString('base64') }), /signature/i);
  // The session is gone: the next SAML login shows the login page again.
  const next = await follow(jar, await saml.getAuthorizeUrlAsync('', undefined, {}), s.baseUrl);
  assert.match(next.url, /\/u\/login/);
  await s.runtime.env.events.flush();
  const logs = await s.api('GET', `/logs?q=type:slo&per_page=50`);
  assert.ok(logs.body.some((l: any) => l.client_id === app.client_id && l.user_id === user.user_id));
});

// --- Encrypted assertions -----------------------------------------------------

test('encryptionCert: the signed assertion is encrypted to the SP (aes256-cbc, rsa-oaep-mgf1p); only the SP\'s key opens it', async () => {
  const spKeys = await spKeyPair();
  await setAddon({ encryptionCert: spKeys.cert, logout: { callback: SLO } });
  try {
    const saml = sp({ decryptionPvk: spKeys.privateKey });
    const { fields } = await samlLogin(await saml.getAuthorizeUrlAsync('', undefined, {}));
    const xml = xmlOf(fields.SAMLResponse);
    assert.match(xml, /<saml:EncryptedAssertion /);
    assert.doesNotMatch(xml, /<saml:Assertion /);
    assert.ok(!xml.includes(EMAIL) && !xml.includes(user.user_id), 'nothing about the user in the clear');
    assert.match(xml, /EncryptionMethod Algorithm="http:\/\/www.w3.org\/2001\/04\/xmlenc#aes256-cbc"/);
    assert.match(xml, /EncryptionMethod Algorithm="http:\/\/www.w3.org\/2001\/04\/xmlenc#rsa-oaep-mgf1p"/);
    // Another key, or none, and the SP cannot read it.
    const lenient = { validateInResponseTo: ValidateInResponseTo.never };
    await assert.rejects(sp({ ...lenient, decryptionPvk: (await spKeyPair()).privateKey }).validatePostResponseAsync(fields));
    await assert.rejects(sp(lenient).validatePostResponseAsync(fields), /decryption key/i);
    const { profile } = await saml.validatePostResponseAsync(fields);
    assert.equal(profile?.nameID, user.user_id);
    assert.equal(profile?.[`${CLAIMS}/emailaddress`], EMAIL);
  } finally {
    await setAddon({ logout: { callback: SLO } });
  }
});

test('encryptionPublicKey with aes256-gcm and signResponse: the SP decrypts, and checks the Response signature over the encrypted assertion', async () => {
  const spKeys = await spKeyPair();
  const publicKey = createPublicKey(spKeys.privateKey).export({ type: 'spki', format: 'pem' }) as string;
  await setAddon({ encryptionCert: spKeys.cert, encryptionPublicKey: publicKey, encryptionAlgorithm: 'aes256-gcm', signResponse: true, logout: { callback: SLO } });
  try {
    const saml = sp({ decryptionPvk: spKeys.privateKey, wantAuthnResponseSigned: true });
    const { fields } = await samlLogin(await saml.getAuthorizeUrlAsync('', undefined, {}));
    const xml = xmlOf(fields.SAMLResponse);
    assert.match(xml, /xmlenc11#aes256-gcm/);
    assert.match(xml, /^<samlp:Response [^>]*>\s*<saml:Issuer>[^<]*<\/saml:Issuer>\s*<ds:Signature /);
    const tampered = xml.replace(/<xenc:CipherValue>./, (m) => `${m.slice(0, -1)}${m.endsWith('A') ? 'B' : 'A'}`);
    await assert.rejects(sp({ decryptionPvk: spKeys.privateKey, wantAuthnResponseSigned: true, validateInResponseTo: ValidateInResponseTo.never })
      .validatePostResponseAsync({ SAMLResponse: Buffer.from(tampered).toString('base64') }), /signature/i);
    assert.equal((await saml.validatePostResponseAsync(fields)).profile?.nameID, user.user_id);
  } finally {
    await setAddon({ logout: { callback: SLO } });
  }
});

test('unusable encryption settings stop the login with a 4xx page rather than send the assertion in the clear', async () => {
  const spKeys = await spKeyPair();
  const publicKey = createPublicKey(spKeys.privateKey).export({ type: 'spki', format: 'pem' }) as string;
  for (const [addon, message] of [
    [{ encryptionPublicKey: publicKey }, /encryptionPublicKey is set without the encryptionCert/],
    [{ encryptionCert: 'not a certificate' }, /encryptionCert is not valid/],
  ] as const) {
    await setAddon({ ...addon, logout: { callback: SLO } });
    try {
      const r = await scriptedLogin(s, await sp().getAuthorizeUrlAsync('', undefined, {}), EMAIL, PW);
      assert.equal(r.res.status, 400);
      const text = decodeEntities(await r.res.text());
      assert.match(text, message);
      assert.ok(!text.includes('SAMLResponse'));
    } finally {
      await setAddon({ logout: { callback: SLO } });
    }
  }
});

// --- Signed requests ----------------------------------------------------------

/** An SP key pair, with the addon asking for signed requests from it for the duration of `body`. */
async function withSigningCert(extra: Record<string, unknown>, body: (spKeys: { privateKey: string; cert: string }) => Promise<void>) {
  const spKeys = await spKeyPair();
  await setAddon({ signingCert: spKeys.cert, logout: { callback: SLO }, ...extra });
  try {
    await body(spKeys);
  } finally {
    await setAddon({ logout: { callback: SLO } });
  }
}

const refused = async (r: Response | Promise<Response>, message: RegExp) => {
  const res = await r;
  const text = decodeEntities(await res.text());
  assert.equal(res.status, 400, text.slice(0, 300));
  assert.match(text, message);
  assert.doesNotMatch(text, /SAMLResponse/);
};

test('signingCert, HTTP-Redirect: only AuthnRequests signed by the SP\'s key over the exact query are accepted', async () => {
  await withSigningCert({}, async (spKeys) => {
    assert.equal((await idpMetadata(s, app.client_id)).wantSigned, 'true');
    // Unsigned: refused.
    await refused(fetch(await sp().getAuthorizeUrlAsync('r', undefined, {}), { redirect: 'manual' }), /must be signed/);
    // Signed with rsa-sha256 and with rsa-sha1: the login goes through.
    for (const signatureAlgorithm of ['sha256', 'sha1'] as const) {
      const signer = sp({ privateKey: spKeys.privateKey, signatureAlgorithm });
      const url = await signer.getAuthorizeUrlAsync(`relay-${signatureAlgorithm}`, undefined, {});
      assert.ok(new URL(url).searchParams.get('Signature'));
      const { fields } = await samlLogin(url);
      assert.equal(fields.RelayState, `relay-${signatureAlgorithm}`);
      assert.equal((await signer.validatePostResponseAsync(fields)).profile?.nameID, user.user_id);
    }
    const url = await sp({ privateKey: spKeys.privateKey, signatureAlgorithm: 'sha256' }).getAuthorizeUrlAsync('relay', undefined, {});
    const q = new URL(url).searchParams;
    const at = (mutate: (p: URLSearchParams) => void) => {
      const p = new URLSearchParams(q);
      mutate(p);
      return fetch(`${md.ssoRedirect}?${p}`, { redirect: 'manual' });
    };
    // The RelayState is part of what is signed; so is the SigAlg.
    await refused(at((p) => p.set('RelayState', 'other')), /signature of the SAML message is invalid/);
    await refused(at((p) => p.delete('RelayState')), /signature of the SAML message is invalid/);
    await refused(at((p) => p.set('SigAlg', 'http://www.w3.org/2000/09/xmldsig#rsa-sha1')), /signature of the SAML message is invalid/);
    await refused(at((p) => p.set('SigAlg', 'http://www.w3.org/2000/09/xmldsig#hmac-sha1')), /not supported/);
    await refused(at((p) => p.delete('SigAlg')), /no SigAlg/);
    await refused(at((p) => p.append('Signature', 'AAAA')), /repeated/);
    // Signed by another key: refused.
    const other = await spKeyPair();
    await refused(fetch(await sp({ privateKey: other.privateKey, signatureAlgorithm: 'sha256' }).getAuthorizeUrlAsync('', undefined, {}), { redirect: 'manual' }), /invalid/);
    // A correctly encoded but re-encoded query (the same values, other octets) is not what was signed.
    const reencoded = url.replace(/%2B/g, '%2b');
    if (reencoded !== url) await refused(fetch(reencoded, { redirect: 'manual' }), /invalid/);
    // An IdP-initiated login has no request to sign, as at Auth0.
    assert.equal((await fetch(`${md.ssoRedirect}?RelayState=idp`, { redirect: 'manual' })).status, 302);
  });
});

const DSIG = 'http://www.w3.org/2000/09/xmldsig#';

/** The AuthnRequest of an SP with a key, signed in the XML as the HTTP-POST binding carries it. */
async function postSignedRequest(privateKey: string) {
  const msg = await sp({ privateKey, signatureAlgorithm: 'sha256', digestAlgorithm: 'sha256', skipRequestCompression: true }).getAuthorizeMessageAsync('relay-post-signed');
  return xmlOf(msg.SAMLRequest as string);
}
const postRequest = (xml: string, jar = new Jar()) => go(jar, md.ssoPost, {
  method: 'POST', body: new URLSearchParams({ SAMLRequest: Buffer.from(xml).toString('base64'), RelayState: 'relay-post-signed' }),
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
});

test('signingCert, HTTP-POST: the enveloped signature must hold, sign the request itself, and be the only one', async () => {
  await withSigningCert({}, async (spKeys) => {
    const signed = await postSignedRequest(spKeys.privateKey);
    assert.match(signed, /<ds:Signature|<Signature/);
    const jar = new Jar();
    const r = await postRequest(signed, jar);
    assert.equal(r.status, 302);
    const { fields, action } = await samlLogin(new URL(r.headers.get('location')!, s.baseUrl).toString(), jar);
    assert.equal(action, ACS);
    assert.equal(fields.RelayState, 'relay-post-signed');

    // Unsigned (the same request without its signature), and altered after signing.
    const doc = new DOMParser().parseFromString(signed, 'text/xml');
    const root = doc.documentElement!;
    const sig = root.getElementsByTagNameNS(DSIG, 'Signature')[0];
    const bare = new DOMParser().parseFromString(signed, 'text/xml');
    bare.documentElement!.removeChild(bare.documentElement!.getElementsByTagNameNS(DSIG, 'Signature')[0]);
    await refused(postRequest(new XMLSerializer().serializeToString(bare)), /must be signed/);
    const evilAcs = 'https://sp.example.com/saml/other-acs';
    await refused(postRequest(signed.replace(`AssertionConsumerServiceURL="${ACS}"`, `AssertionConsumerServiceURL="${evilAcs}"`)), /invalid/);

    // Wrapping: a new request around the signed one, reusing its signature (which references the inner request).
    const inner = new XMLSerializer().serializeToString(bare.documentElement!);
    const id = root.getAttribute('ID')!;
    const wrapped = signed.replace(`ID="${id}"`, 'ID="_evil"').replace(`AssertionConsumerServiceURL="${ACS}"`, `AssertionConsumerServiceURL="${evilAcs}"`)
      .replace(/<\/samlp:AuthnRequest>$/, `<samlp:Extensions>${inner}</samlp:Extensions></samlp:AuthnRequest>`);
    await refused(postRequest(wrapped), /sign the message itself/);
    // Two signatures, or one that is not the request's own child.
    const sigXml = new XMLSerializer().serializeToString(sig);
    await refused(postRequest(signed.replace(/<\/samlp:AuthnRequest>$/, `<samlp:Extensions>${sigXml}</samlp:Extensions></samlp:AuthnRequest>`)), /exactly one signature/);
    const moved = new XMLSerializer().serializeToString(bare).replace(/<\/samlp:AuthnRequest>$/, `<samlp:Extensions>${sigXml}</samlp:Extensions></samlp:AuthnRequest>`);
    await refused(postRequest(moved), /sign the message itself/);
    // Signed by another key.
    await refused(postRequest(await postSignedRequest((await spKeyPair()).privateKey)), /invalid/);
  });
});

test('a signingCert that is not a certificate refuses requests with a 4xx page', async () => {
  await setAddon({ signingCert: 'garbage', logout: { callback: SLO } });
  try {
    await refused(fetch(await sp().getAuthorizeUrlAsync('', undefined, {}), { redirect: 'manual' }), /signingCert is not a valid certificate/);
  } finally {
    await setAddon({ logout: { callback: SLO } });
  }
});

// --- Logout -------------------------------------------------------------------

test('signingCert: LogoutRequests must be signed too; HTTP-Redirect binding for the LogoutResponse, checked by the SP', async () => {
  await withSigningCert({ binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect' }, async (spKeys) => {
    const saml = sp({ privateKey: spKeys.privateKey, signatureAlgorithm: 'sha256', logoutCallbackUrl: SLO });
    const { fields, jar } = await samlLogin(await saml.getAuthorizeUrlAsync('', undefined, {}));
    const { profile } = await saml.validatePostResponseAsync(fields);
    assert.ok(profile);
    // Unsigned: refused, and the session stays.
    await refused(go(jar, await sp().getLogoutUrlAsync(profile, 'bye', {})), /must be signed/);
    assert.equal((await follow(jar, await saml.getAuthorizeUrlAsync('', undefined, {}), s.baseUrl)).res.status, 200, 'still signed in');
    // Signed by another key: refused.
    await refused(go(jar, await sp({ privateKey: (await spKeyPair()).privateKey, signatureAlgorithm: 'sha256' }).getLogoutUrlAsync(profile, 'bye', {})), /invalid/);
    // Signed: the session ends, and the LogoutResponse comes back by redirect with a query signature.
    const r = await go(jar, await saml.getLogoutUrlAsync(profile, 'bye', {}));
    assert.equal(r.status, 302);
    const back = new URL(r.headers.get('location')!);
    assert.equal(`${back.origin}${back.pathname}`, SLO);
    assert.equal(back.searchParams.get('RelayState'), 'bye');
    assert.equal(back.searchParams.get('SigAlg'), 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
    const query = Object.fromEntries(back.searchParams);
    const result = await saml.validateRedirectAsync(query, back.search.slice(1));
    assert.equal(result.loggedOut, true);
    // The SP's check is real: another query signature fails.
    const forged = back.search.slice(1).replace(/RelayState=bye/, 'RelayState=byebye');
    await assert.rejects(saml.validateRedirectAsync({ ...query, RelayState: 'byebye' }, forged), /signature/i);
    assert.match((await follow(jar, await saml.getAuthorizeUrlAsync('', undefined, {}), s.baseUrl)).url, /\/u\/login/);
  });
});

test('single logout: the session\'s other SAML applications with slo_enabled get a signed LogoutRequest in turn, then the SP that asked gets its LogoutResponse', async () => {
  const SLO2 = 'https://sp2.example.com/saml/logout';
  const ACS2 = 'https://sp2.example.com/saml/acs';
  const SP2 = 'https://sp2.example.com/metadata';
  const other = await createApp(s, { name: 'SAML SP 2', app_type: 'regular_web', callbacks: [ACS2], addons: { samlp: { logout: { callback: SLO2 } } } });
  const md2 = await idpMetadata(s, other.client_id);
  const sp2Keys = await spKeyPair();
  const sp2 = (opts: Partial<SamlConfig> = {}) => serviceProvider(md2, { issuer: SP2, audience: SP2, callbackUrl: ACS2, logoutCallbackUrl: SLO2, ...opts });

  /** Logs in to both SPs with one browser session; SP 1's profile is what its LogoutRequest names. */
  async function loginToBoth(sp2Options: Partial<SamlConfig> = {}) {
    const saml1 = sp({ logoutCallbackUrl: SLO });
    const first = await samlLogin(await saml1.getAuthorizeUrlAsync('', undefined, {}));
    const { profile } = await saml1.validatePostResponseAsync(first.fields);
    const second = await samlLogin(await sp2(sp2Options).getAuthorizeUrlAsync('', undefined, {}), first.jar);
    assert.equal(second.action, ACS2);
    return { saml1, profile: profile!, jar: first.jar };
  }

  // SP 1 logs out; SP 2 is sent a LogoutRequest naming the subject and session it was given.
  const { saml1, profile, jar } = await loginToBoth();
  const logoutUrl = await saml1.getLogoutUrlAsync(profile, 'sp1-relay', {});
  const logoutId = /ID="([^"]+)"/.exec(inflateRawSync(Buffer.from(new URL(logoutUrl).searchParams.get('SAMLRequest')!, 'base64')).toString())![1];
  const toSp2 = await go(jar, logoutUrl);
  assert.equal(toSp2.status, 200);
  const html = await toSp2.text();
  assert.equal(decodeEntities(/<form[^>]*action="([^"]*)"/.exec(html)![1]), SLO2);
  const request = formFields(html);
  assert.ok(request.SAMLRequest && request.RelayState && request.RelayState !== 'sp1-relay');
  const got = await sp2().validatePostRequestAsync({ SAMLRequest: request.SAMLRequest });
  assert.equal(got.profile?.nameID, user.user_id);
  assert.equal(got.profile?.sessionIndex, profile.sessionIndex);
  // The signature is Postern's: altered, SP 2 refuses it.
  const altered = xmlOf(request.SAMLRequest).replace(user.user_id, 'auth0|someone-else');
  await assert.rejects(sp2().validatePostRequestAsync({ SAMLRequest: Buffer.from(altered).toString('base64') }), /signature/i);
  // SP 2 answers (to its own logout URL at Postern); SP 1 then gets Success for its request.
  const answer = await sp2().getLogoutResponseUrlAsync(got.profile!, request.RelayState, {}, true);
  assert.ok(answer.startsWith(md2.sloRedirect));
  // Only the application that was asked may answer.
  const elsewhere = answer.replace(md2.sloRedirect, md.sloRedirect);
  await refused(go(jar, elsewhere), /expired or is invalid/);
  const toSp1 = await go(jar, answer);
  assert.equal(toSp1.status, 200);
  const back = await toSp1.text();
  assert.equal(decodeEntities(/<form[^>]*action="([^"]*)"/.exec(back)![1]), SLO);
  const out = formFields(back);
  assert.equal(out.RelayState, 'sp1-relay');
  assert.match(xmlOf(out.SAMLResponse), new RegExp(`InResponseTo="${logoutId}"`));
  assert.match(xmlOf(out.SAMLResponse), /status:Success/);
  assert.equal((await sp({ validateInResponseTo: ValidateInResponseTo.ifPresent }).validatePostResponseAsync(out)).loggedOut, true);
  // The same answer again finds no logout under way; the session is gone.
  await refused(go(jar, answer), /expired or is invalid/);
  assert.match((await follow(jar, await saml1.getAuthorizeUrlAsync('', undefined, {}), s.baseUrl)).url, /\/u\/login/);

  // SP 2 reports a failure: SP 1 hears PartialLogout.
  const again = await loginToBoth();
  const r2 = formFields(await (await go(again.jar, await again.saml1.getLogoutUrlAsync(again.profile, '', {}))).text());
  const got2 = await sp2().validatePostRequestAsync({ SAMLRequest: r2.SAMLRequest });
  const failed = await go(again.jar, await sp2().getLogoutResponseUrlAsync(got2.profile!, r2.RelayState, {}, false));
  assert.match(xmlOf(formFields(await failed.text()).SAMLResponse), /status:PartialLogout/);

  // With signingCert, SP 2's answer must be signed by SP 2; with slo_enabled false, SP 2 is left out.
  await setAddonOf(s, other.client_id, { logout: { callback: SLO2 }, signingCert: sp2Keys.cert });
  const signingSp2 = { privateKey: sp2Keys.privateKey, signatureAlgorithm: 'sha256' } as const;
  const third = await loginToBoth(signingSp2);
  const r3 = formFields(await (await go(third.jar, await third.saml1.getLogoutUrlAsync(third.profile, '', {}))).text());
  const got3 = await sp2().validatePostRequestAsync({ SAMLRequest: r3.SAMLRequest });
  await refused(go(third.jar, await sp2().getLogoutResponseUrlAsync(got3.profile!, r3.RelayState, {}, true)), /must be signed/);
  const signedAnswer = await go(third.jar, await sp2(signingSp2).getLogoutResponseUrlAsync(got3.profile!, r3.RelayState, {}, true));
  assert.match(xmlOf(formFields(await signedAnswer.text()).SAMLResponse), /status:Success/);

  await setAddonOf(s, other.client_id, { logout: { callback: SLO2, slo_enabled: false } });
  const fourth = await loginToBoth();
  const direct = await go(fourth.jar, await fourth.saml1.getLogoutUrlAsync(fourth.profile, 'direct', {}));
  const directHtml = await direct.text();
  assert.equal(decodeEntities(/<form[^>]*action="([^"]*)"/.exec(directHtml)![1]), SLO);
  assert.equal(formFields(directHtml).RelayState, 'direct');
});

test('IdP-initiated single logout: /v2/logout sends each SAML application of the session with slo_enabled a signed LogoutRequest, then goes to returnTo', async () => {
  const SLO3 = 'https://sp3.example.com/saml/logout';
  const ACS3 = 'https://sp3.example.com/saml/acs';
  const SP3 = 'https://sp3.example.com/metadata';
  const BYE = 'https://portal.example.com/bye';
  const portal = await createApp(s, { name: 'Portal', app_type: 'regular_web', callbacks: ['https://portal.example.com/cb'], allowed_logout_urls: [BYE] });
  const third = await createApp(s, { name: 'SAML SP 3', app_type: 'regular_web', callbacks: [ACS3], addons: { samlp: { logout: { callback: SLO3 } } } });
  const md3 = await idpMetadata(s, third.client_id);
  const saml3 = serviceProvider(md3, { issuer: SP3, audience: SP3, callbackUrl: ACS3, logoutCallbackUrl: SLO3 });
  const saml1 = sp({ logoutCallbackUrl: SLO });
  const logout = `${s.baseUrl}/v2/logout?client_id=${portal.client_id}&returnTo=${encodeURIComponent(BYE)}`;

  async function loginToBoth() {
    const first = await samlLogin(await saml1.getAuthorizeUrlAsync('', undefined, {}));
    const { profile } = await saml1.validatePostResponseAsync(first.fields);
    const second = await samlLogin(await saml3.getAuthorizeUrlAsync('', undefined, {}), first.jar);
    const mine = await saml3.validatePostResponseAsync(second.fields);
    return { jar: first.jar, sessions: [profile!.sessionIndex, mine.profile!.sessionIndex] };
  }
  /** The auto-posting page's target and fields. */
  const formOf = async (r: Response) => {
    assert.equal(r.status, 200);
    const html = await r.text();
    return { action: decodeEntities(/<form[^>]*action="([^"]*)"/.exec(html)![1]), fields: formFields(html) };
  };

  const { jar, sessions } = await loginToBoth();
  // A returnTo outside the allowlist still refuses before anything ends.
  assert.equal((await go(jar, `${s.baseUrl}/v2/logout?client_id=${portal.client_id}&returnTo=https://evil.example.com/`)).status, 400);
  const toSp1 = await formOf(await go(jar, logout));
  assert.equal(toSp1.action, SLO);
  const got1 = await saml1.validatePostRequestAsync({ SAMLRequest: toSp1.fields.SAMLRequest });
  assert.equal(got1.profile?.nameID, user.user_id);
  assert.equal(got1.profile?.sessionIndex, sessions[0]);
  const toSp3 = await formOf(await go(jar, await saml1.getLogoutResponseUrlAsync(got1.profile!, toSp1.fields.RelayState, {}, true)));
  assert.equal(toSp3.action, SLO3);
  const got3 = await saml3.validatePostRequestAsync({ SAMLRequest: toSp3.fields.SAMLRequest });
  assert.equal(got3.profile?.sessionIndex, sessions[1]);
  const answer3 = await saml3.getLogoutResponseUrlAsync(got3.profile!, toSp3.fields.RelayState, {}, true);
  // SP 1 cannot answer in SP 3's place.
  await refused(go(jar, answer3.replace(md3.sloRedirect, md.sloRedirect)), /expired or is invalid/);
  const done = await go(jar, answer3);
  assert.equal(done.status, 302);
  assert.equal(done.headers.get('location'), BYE);
  assert.match((await follow(jar, await saml1.getAuthorizeUrlAsync('', undefined, {}), s.baseUrl)).url, /\/u\/login/);

  // Without a session, /v2/logout goes straight on; an application with slo_enabled false is not told.
  const straight = await go(jar, logout);
  assert.equal(straight.status, 302);
  assert.equal(straight.headers.get('location'), BYE);
  await setAddonOf(s, third.client_id, { logout: { callback: SLO3, slo_enabled: false } });
  const again = await loginToBoth();
  const only = await formOf(await go(again.jar, `${s.baseUrl}/v2/logout`));
  assert.equal(only.action, SLO);
  const last = await saml1.validatePostRequestAsync({ SAMLRequest: only.fields.SAMLRequest });
  const end = await go(again.jar, await saml1.getLogoutResponseUrlAsync(last.profile!, only.fields.RelayState, {}, true));
  assert.equal(end.status, 200);
  assert.match(await end.text(), /You are signed out/);
});
