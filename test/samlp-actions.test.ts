import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { decodeJwt } from 'jose';
import { ValidateInResponseTo, type SamlConfig } from '@node-saml/node-saml';
import { startServer, type TestServer } from './helpers/server.ts';
import { createApp, createUser, decodeEntities, exchangeCode, scriptedLogin } from './helpers/login-flow.ts';
import { ACS, SLO, bindPostLogin, idpMetadata, samlLogin, serviceProvider, setAddon, spKeyPair, xmlOf, type IdpMetadata } from './helpers/saml-sp.ts';

// Post-login actions customize the SAML response through api.samlResponse, as
// at Auth0: over the addon's settings, for SAML logins only. @node-saml/node-saml
// is the SP that checks the result; an OIDC application logs in with the same
// actions bound and is not affected.

let s: TestServer;
let app: { client_id: string };
let oidc: { client_id: string; client_secret?: string };
let user: any;
let md: IdpMetadata;
const EMAIL = 'ada@example.com';
const PW = 'Ada-pw-123!';
const CB = 'https://rp.example.com/callback';
const CLAIMS = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims';

before(async () => {
  s = await startServer();
  app = await createApp(s, { name: 'SAML SP', app_type: 'regular_web', callbacks: [ACS] });
  oidc = await createApp(s, { name: 'OIDC RP', app_type: 'regular_web', callbacks: [CB], grant_types: ['authorization_code'] });
  user = await createUser(s, EMAIL, PW, { email_verified: true, name: 'Ada L' });
  await setAddon(s, app.client_id, { logout: { callback: SLO } });
  md = await idpMetadata(s, app.client_id);
});
after(async () => { await s?.close(); });

const sp = (opts: Partial<SamlConfig> = {}) => serviceProvider(md, opts);
const loginAt = async (saml: InstanceType<typeof import('@node-saml/node-saml').SAML>) => samlLogin(s, await saml.getAuthorizeUrlAsync('sp-relay', undefined, {}), EMAIL, PW);

/** An OIDC login of the other application with whatever is bound; its ID token's claims. */
async function oidcLogin() {
  const q = new URLSearchParams({ client_id: oidc.client_id, redirect_uri: CB, response_type: 'code', scope: 'openid email', state: 'st' });
  const { url } = await scriptedLogin(s, `${s.baseUrl}/authorize?${q}`, EMAIL, PW);
  assert.ok(url.startsWith(CB), url);
  return decodeJwt((await exchangeCode(s, oidc, CB, url)).id_token);
}

test('api.samlResponse: attributes, NameID, lifetime, audience, issuer, RelayState, signResponse and attribute formats, for SAML logins only', async () => {
  await bindPostLogin(s, `exports.onExecutePostLogin = async (event, api) => {
    api.idToken.setCustomClaim('https://rp.example/protocol', event.transaction.protocol);
    api.samlResponse.setAttribute('http://example.com/claims/protocol', event.transaction.protocol);
    api.samlResponse.setAttribute('http://example.com/claims/roles', ['reader', 'writer']);
    api.samlResponse.setAttribute('${CLAIMS}/upn', null);
    api.samlResponse.setNameIdentifierFormat('urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress');
    api.samlResponse.setNameIdentifierProbes(['${CLAIMS}/emailaddress']);
    api.samlResponse.setLifetimeInSeconds(300);
    api.samlResponse.setAuthnContextClassRef('urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport');
    api.samlResponse.setAudience('urn:example:other-audience');
    api.samlResponse.setIssuer('urn:example:custom-idp');
    api.samlResponse.setRelayState('from-action');
    api.samlResponse.setSignResponse(true);
    api.samlResponse.setTypedAttributes(false);
    api.samlResponse.setIncludeAttributeNameFormat(false);
    api.samlResponse.setMapIdentities(false);
  };`);
  try {
    const strict = sp({ audience: 'urn:example:other-audience', idpIssuer: 'urn:example:custom-idp', wantAuthnResponseSigned: true });
    const { fields } = await loginAt(strict);
    assert.equal(fields.RelayState, 'from-action');
    const xml = xmlOf(fields.SAMLResponse);
    assert.equal(xml.match(/<ds:Signature /g)?.length, 2, 'the Response is signed too');
    assert.match(xml, /PasswordProtectedTransport/);
    assert.doesNotMatch(xml, /xsi:type=|NameFormat=/);
    const until = Date.parse(/<saml:Conditions NotBefore="([^"]+)" NotOnOrAfter="([^"]+)"/.exec(xml)![2]);
    assert.ok(Math.abs(until - Date.now() - 300_000) < 30_000);
    const { profile } = await strict.validatePostResponseAsync(fields);
    assert.ok(profile);
    assert.equal(profile.nameID, EMAIL);
    assert.equal(profile.nameIDFormat, 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress');
    assert.equal(profile['http://example.com/claims/protocol'], 'samlp');
    assert.deepEqual(profile['http://example.com/claims/roles'], ['reader', 'writer']);
    assert.equal(profile[`${CLAIMS}/upn`], undefined);
    assert.equal(profile['http://schemas.auth0.com/identities/default/provider'], undefined);
    // The SP that expects the addon's own audience and issuer refuses this response: the overrides are real.
    await assert.rejects(sp({ validateInResponseTo: ValidateInResponseTo.never }).validatePostResponseAsync(fields));

    // The same actions leave an OIDC login alone.
    const claims = await oidcLogin();
    assert.equal(claims['https://rp.example/protocol'], 'oidc-basic-profile');
  } finally {
    await bindPostLogin(s);
  }
  // With nothing bound, the addon's settings are back.
  const plain = sp();
  const { fields } = await loginAt(plain);
  assert.equal(fields.RelayState, 'sp-relay');
  assert.equal((await plain.validatePostResponseAsync(fields)).profile?.nameID, user.user_id);
});

test('api.samlResponse: the action\'s own signing key pair and encryption to the SP (aes256-gcm)', async () => {
  const idpKeys = await spKeyPair();
  const spKeys = await spKeyPair();
  const spPublicKey = createPublicKey(spKeys.privateKey).export({ type: 'spki', format: 'pem' }) as string;
  await bindPostLogin(s, `exports.onExecutePostLogin = async (event, api) => {
    if (event.client.client_id !== ${JSON.stringify(app.client_id)}) return;
    api.samlResponse.setCert(${JSON.stringify(idpKeys.cert)});
    api.samlResponse.setKey(${JSON.stringify(idpKeys.privateKey)});
    api.samlResponse.setEncryptionCert(${JSON.stringify(spKeys.cert)});
    api.samlResponse.setEncryptionPublicKey(${JSON.stringify(spPublicKey)});
    api.samlResponse.setEncryptionAlgorithm('aes256-gcm');
  };`);
  try {
    const saml = sp({ idpCert: idpKeys.cert, decryptionPvk: spKeys.privateKey });
    const { fields } = await loginAt(saml);
    const xml = xmlOf(fields.SAMLResponse);
    assert.match(xml, /<saml:EncryptedAssertion /);
    assert.match(xml, /xmlenc11#aes256-gcm/);
    assert.ok(!xml.includes(EMAIL));
    // Signed with the action's key, not the tenant's.
    await assert.rejects(sp({ decryptionPvk: spKeys.privateKey, validateInResponseTo: ValidateInResponseTo.never }).validatePostResponseAsync(fields), /signature/i);
    const { profile } = await saml.validatePostResponseAsync(fields);
    assert.equal(profile?.nameID, user.user_id);
    assert.equal(profile?.[`${CLAIMS}/emailaddress`], EMAIL);
  } finally {
    await bindPostLogin(s);
  }
});

test('api.samlResponse: setSigningCert makes the AuthnRequest\'s signature required; a half key pair stops only the SAML login', async () => {
  const spKeys = await spKeyPair();
  await bindPostLogin(s, `exports.onExecutePostLogin = async (event, api) => {
    api.samlResponse.setSigningCert(${JSON.stringify(spKeys.cert)});
  };`);
  try {
    // The request was read before the login; the action's certificate still decides whether it is answered.
    const unsigned = await scriptedLogin(s, await sp().getAuthorizeUrlAsync('', undefined, {}), EMAIL, PW);
    assert.equal(unsigned.res.status, 400);
    const text = decodeEntities(await unsigned.res.text());
    assert.match(text, /must be signed/);
    assert.doesNotMatch(text, /SAMLResponse/);
    const signer = sp({ privateKey: spKeys.privateKey, signatureAlgorithm: 'sha256' });
    const { fields } = await loginAt(signer);
    assert.equal((await signer.validatePostResponseAsync(fields)).profile?.nameID, user.user_id);
  } finally {
    await bindPostLogin(s);
  }

  await bindPostLogin(s, `exports.onExecutePostLogin = async (event, api) => {
    api.samlResponse.setCert('-----BEGIN CERTIFICATE-----\\nnot really\\n-----END CERTIFICATE-----\\n');
  };`);
  try {
    const half = await scriptedLogin(s, await sp().getAuthorizeUrlAsync('', undefined, {}), EMAIL, PW);
    assert.equal(half.res.status, 400);
    assert.match(decodeEntities(await half.res.text()), /setCert and setKey must be used together/);
    assert.ok((await oidcLogin()).sub, 'the OIDC login is not affected');
  } finally {
    await bindPostLogin(s);
  }
});
