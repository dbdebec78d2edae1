import { randomBytes } from 'node:crypto';
import { nameIdentifier, type Attributes, type AttributeValue } from './attributes.ts';
import type { SamlpSettings } from './settings.ts';
import { signRoot, type SigningKey } from './sign.ts';
import { NS, x } from './xml.ts';
import { encryptAssertion, wantsEncryption } from './encrypt.ts';

// The SAML 2.0 Response the SP receives: a signed Assertion about the user
// inside a Response that is signed too when the addon asks for signResponse.

export const samlId = () => `_${randomBytes(20).toString('hex')}`;
const iso = (ms: number) => new Date(ms).toISOString();
const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';

/** Who the response is for, and about which request. */
export interface Addressing { acsUrl: string; audience?: string; inResponseTo?: string }
export interface AuthnFacts { userId: string; attributes: Attributes; authTime?: number; sessionIndex: string }

function attributeValue(v: AttributeValue, typed: boolean) {
  const type = typeof v === 'boolean' ? 'xs:boolean' : typeof v === 'number' ? 'xs:double' : 'xs:string';
  return `<saml:AttributeValue${typed ? ` xsi:type="${type}"` : ''}>${x(v)}</saml:AttributeValue>`;
}

function attributeStatement(attrs: Attributes, s: SamlpSettings) {
  if (!attrs.size) return '';
  const format = s.includeAttributeNameFormat ? ' NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri"' : '';
  const items = [...attrs].map(([name, vals]) =>
    `<saml:Attribute Name="${x(name)}"${format}>${vals.map((v) => attributeValue(v, s.typedAttributes)).join('')}</saml:Attribute>`);
  return `<saml:AttributeStatement>${items.join('')}</saml:AttributeStatement>`;
}

function assertion(now: number, to: Addressing, who: AuthnFacts, s: SamlpSettings) {
  const until = iso(now + s.lifetimeInSeconds * 1000);
  const inResponseTo = to.inResponseTo ? ` InResponseTo="${x(to.inResponseTo)}"` : '';
  const audience = to.audience ? `<saml:AudienceRestriction><saml:Audience>${x(to.audience)}</saml:Audience></saml:AudienceRestriction>` : '';
  return `<saml:Assertion xmlns:saml="${NS.assertion}" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="${samlId()}" Version="2.0" IssueInstant="${iso(now)}">`
    + `<saml:Issuer>${x(s.issuer)}</saml:Issuer>`
    + `<saml:Subject><saml:NameID Format="${x(s.nameIdentifierFormat)}">${x(nameIdentifier(who.attributes, s, who.userId))}</saml:NameID>`
    + `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${until}" Recipient="${x(s.recipient ?? to.acsUrl)}"${inResponseTo}/></saml:SubjectConfirmation></saml:Subject>`
    + `<saml:Conditions NotBefore="${iso(now)}" NotOnOrAfter="${until}">${audience}</saml:Conditions>`
    + `<saml:AuthnStatement AuthnInstant="${iso((who.authTime ?? now / 1000) * 1000)}" SessionIndex="${x(who.sessionIndex)}"><saml:AuthnContext><saml:AuthnContextClassRef>${x(s.authnContextClassRef)}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`
    + attributeStatement(who.attributes, s)
    + `</saml:Assertion>`;
}

/** The signed SAML 2.0 Assertion alone, as a Response carries it (and as WS-Federation does, in its own envelope). */
export const signedAssertion = (now: number, to: Addressing, who: AuthnFacts, s: SamlpSettings, key: SigningKey) =>
  signRoot(assertion(now, to, who, s), 'Assertion', key, s);

function envelope(now: number, to: Addressing, s: SamlpSettings, status: string, inner: string) {
  const inResponseTo = to.inResponseTo ? ` InResponseTo="${x(to.inResponseTo)}"` : '';
  return `<samlp:Response xmlns:samlp="${NS.protocol}" xmlns:saml="${NS.assertion}" ID="${samlId()}" Version="2.0" IssueInstant="${iso(now)}" Destination="${x(s.destination ?? to.acsUrl)}"${inResponseTo}>`
    + `<saml:Issuer>${x(s.issuer)}</saml:Issuer>${status}${inner}</samlp:Response>`;
}

/**
 * A successful login: the signed assertion, encrypted to the SP when it gave
 * its key (signed first, as Auth0 does), in a Response signed when signResponse is on.
 */
export async function loginResponse(to: Addressing, who: AuthnFacts, s: SamlpSettings, key: SigningKey): Promise<string> {
  const now = Date.now();
  const signed = signedAssertion(now, to, who, s, key);
  const inner = wantsEncryption(s) ? await encryptAssertion(signed, s) : signed;
  const xml = envelope(now, to, s, `<samlp:Status><samlp:StatusCode Value="${SUCCESS}"/></samlp:Status>`, inner);
  return s.signResponse ? signRoot(xml, 'Response', key, s) : xml;
}

/** A login that ended without a user (refused by an action, or cancelled): an error status and no assertion. */
export function errorResponse(to: Addressing, message: string, s: SamlpSettings, key: SigningKey): string {
  const status = `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"/><samlp:StatusMessage>${x(message)}</samlp:StatusMessage></samlp:Status>`;
  const xml = envelope(Date.now(), to, s, status, '');
  return s.signResponse ? signRoot(xml, 'Response', key, s) : xml;
}
