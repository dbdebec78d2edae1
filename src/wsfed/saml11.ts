import { nameIdentifier } from '../samlp/attributes.ts';
import type { AuthnFacts } from '../samlp/response.ts';
import { samlId } from '../samlp/response.ts';
import type { SamlpSettings } from '../samlp/settings.ts';
import { signRoot, type SigningKey } from '../samlp/sign.ts';
import { x } from '../samlp/xml.ts';

// The SAML 1.1 assertion Auth0's WS-Fed endpoint issues (its node-wsfed and
// node-saml): the issuer as an attribute, the audience in an
// AudienceRestrictionCondition, the subject in both the AttributeStatement and
// the AuthenticationStatement, each attribute split at its last "/" into
// AttributeNamespace and AttributeName, and the enveloped signature last,
// referencing AssertionID.

export const SAML11_NS = 'urn:oasis:names:tc:SAML:1.0:assertion';
const BEARER = 'urn:oasis:names:tc:SAML:1.0:cm:bearer';
const PASSWORD = 'urn:oasis:names:tc:SAML:1.0:am:password';

const iso = (ms: number) => new Date(ms).toISOString();

function splitName(name: string) {
  const i = name.lastIndexOf('/');
  return i < 0 ? { ns: '', local: name } : { ns: name.slice(0, i), local: name.slice(i + 1) };
}

function subject(nameId: string, format: string) {
  return `<saml:Subject><saml:NameIdentifier Format="${x(format)}">${x(nameId)}</saml:NameIdentifier>`
    + `<saml:SubjectConfirmation><saml:ConfirmationMethod>${BEARER}</saml:ConfirmationMethod></saml:SubjectConfirmation></saml:Subject>`;
}

export function saml11Assertion(now: number, audience: string, who: AuthnFacts, s: SamlpSettings, key: SigningKey): string {
  const nameId = nameIdentifier(who.attributes, s, who.userId);
  const attributes = [...who.attributes].map(([name, vals]) => {
    const { ns, local } = splitName(name);
    return `<saml:Attribute AttributeNamespace="${x(ns)}" AttributeName="${x(local)}">${vals.map((v) => `<saml:AttributeValue>${x(v)}</saml:AttributeValue>`).join('')}</saml:Attribute>`;
  }).join('');
  const xml = `<saml:Assertion xmlns:saml="${SAML11_NS}" MajorVersion="1" MinorVersion="1" AssertionID="${samlId()}" IssueInstant="${iso(now)}" Issuer="${x(s.issuer)}">`
    + `<saml:Conditions NotBefore="${iso(now)}" NotOnOrAfter="${iso(now + s.lifetimeInSeconds * 1000)}"><saml:AudienceRestrictionCondition><saml:Audience>${x(audience)}</saml:Audience></saml:AudienceRestrictionCondition></saml:Conditions>`
    + `<saml:AttributeStatement>${subject(nameId, s.nameIdentifierFormat)}${attributes}</saml:AttributeStatement>`
    + `<saml:AuthenticationStatement AuthenticationMethod="${PASSWORD}" AuthenticationInstant="${iso((who.authTime ?? now / 1000) * 1000)}">${subject(nameId, s.nameIdentifierFormat)}</saml:AuthenticationStatement>`
    + `</saml:Assertion>`;
  return signRoot(xml, 'Assertion', key, s, { after: 'AuthenticationStatement', idAttribute: 'AssertionID' });
}
