import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { DOMParser } from '@xmldom/xmldom';
import { SAML, ValidateInResponseTo, type SamlConfig } from '@node-saml/node-saml';
import type { TestServer } from './server.ts';
import { Jar, decodeEntities, formFields, scriptedLogin } from './login-flow.ts';
import { managementClient } from './sdk.ts';
import { generateSigningKey } from '../../src/tenant/keys.ts';

// A SAML service provider for the SAML2 Web App addon's tests: Postern's IdP
// metadata read as an SP imports it, @node-saml/node-saml configured from it,
// and a login through Universal Login that ends at the page posting to the SP.

export const SP_ENTITY = 'https://sp.example.com/metadata';
export const ACS = 'https://sp.example.com/saml/acs';
export const SLO = 'https://sp.example.com/saml/logout';
const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';

export interface IdpMetadata { entityID: string; cert: string; ssoRedirect: string; ssoPost: string; sloRedirect: string; nameIdFormats: string[]; wantSigned: string | null }

/** The IdP metadata of an application, read the way an SP imports it. */
export async function idpMetadata(s: TestServer, clientId: string): Promise<IdpMetadata> {
  const r = await fetch(`${s.baseUrl}/samlp/metadata/${clientId}`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /xml/);
  const doc = new DOMParser().parseFromString(await r.text(), 'text/xml');
  const root = doc.documentElement!;
  const idp = root.getElementsByTagNameNS(MD, 'IDPSSODescriptor')[0];
  const service = (tag: string, binding: string) => [...idp.getElementsByTagNameNS(MD, tag)].find((e) => e.getAttribute('Binding')?.endsWith(binding))?.getAttribute('Location') ?? '';
  return {
    entityID: root.getAttribute('entityID')!,
    cert: idp.getElementsByTagNameNS('http://www.w3.org/2000/09/xmldsig#', 'X509Certificate')[0].textContent!.trim(),
    ssoRedirect: service('SingleSignOnService', 'HTTP-Redirect'), ssoPost: service('SingleSignOnService', 'HTTP-POST'),
    sloRedirect: service('SingleLogoutService', 'HTTP-Redirect'),
    nameIdFormats: [...idp.getElementsByTagNameNS(MD, 'NameIDFormat')].map((e) => e.textContent!),
    wantSigned: idp.getAttribute('WantAuthnRequestsSigned'),
  };
}

/** The service provider, configured from Postern's metadata. */
export const serviceProvider = (md: IdpMetadata, opts: Partial<SamlConfig> = {}) => new SAML({
  entryPoint: md.ssoRedirect, logoutUrl: md.sloRedirect, idpIssuer: md.entityID, idpCert: md.cert,
  issuer: SP_ENTITY, callbackUrl: ACS, audience: SP_ENTITY, wantAssertionsSigned: true, wantAuthnResponseSigned: false,
  validateInResponseTo: ValidateInResponseTo.always, ...opts,
});

/** Logs in through Universal Login (or the SSO session) and returns the page that posts to the SP. */
export async function samlLogin(s: TestServer, url: string, email: string, password: string, jar = new Jar()) {
  const r = await scriptedLogin(s, url, email, password, jar);
  const html = await r.res.text();
  assert.equal(r.res.status, 200, `ended at ${r.url} with ${r.res.status}: ${decodeEntities(html).replace(/<style[^]*?<\/style>|<[^>]+>/g, ' ').replace(/\s+/g, ' ').slice(0, 300)}`);
  const action = decodeEntities(/<form[^>]*action="([^"]*)"/.exec(html)?.[1] ?? '');
  return { jar, action, fields: formFields(html), url: r.url, html };
}

export const xmlOf = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');

export async function setAddon(s: TestServer, clientId: string, samlp: Record<string, unknown>) {
  const r = await s.api('PATCH', `/clients/${clientId}`, { body: { addons: { samlp } } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

/** A key pair of the SP's own (for signing its requests, or decrypting assertions): PKCS#8 PEM and its certificate. */
export async function spKeyPair() {
  const k = await generateSigningKey('sp.example.com');
  return { privateKey: createPrivateKey({ key: k.jwk as any, format: 'jwk' }).export({ type: 'pkcs8', format: 'pem' }) as string, cert: k.cert };
}

/** Creates, deploys and binds these post-login actions, in this order, replacing what was bound (none: unbinds all). */
export async function bindPostLogin(s: TestServer, ...codes: string[]) {
  const mc = managementClient(s);
  const bindings: unknown[] = [];
  for (const code of codes) {
    const a: any = await mc.actions.create({ name: `saml-${Math.random().toString(36).slice(2, 8)}`, supported_triggers: [{ id: 'post-login', version: 'v3' }], code } as any);
    await mc.actions.deploy(a.id);
    bindings.push({ ref: { type: 'action_id', value: a.id } });
  }
  await mc.actions.triggers.bindings.updateMany('post-login', { bindings } as any);
}
