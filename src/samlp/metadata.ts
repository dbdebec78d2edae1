import { DEFAULT_MAPPINGS, UPN_ATTRIBUTE, type SamlpSettings } from './settings.ts';
import { certBody } from './sign.ts';
import { NS, x } from './xml.ts';

// GET /samlp/metadata/{client_id}: the IdP metadata an SP imports: the
// signing certificate, where to send AuthnRequests and LogoutRequests (both
// bindings), the NameID formats, and the attributes the default mappings give.

const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const NAMEID_FORMATS = [
  'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
];

export function idpMetadata(s: SamlpSettings, ssoUrl: string, logoutUrl: string, certPems: string[]): string {
  const keys = certPems.map((pem) =>
    `<KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="${NS.dsig}"><ds:X509Data><ds:X509Certificate>${certBody(pem)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></KeyDescriptor>`).join('');
  const services = (tag: string, url: string) => [REDIRECT, POST].map((b) => `<${tag} Binding="${b}" Location="${x(url)}"/>`).join('');
  const names = new Set([...Object.values(DEFAULT_MAPPINGS).flat(), UPN_ATTRIBUTE]);
  const attributes = [...names].map((n) => `<saml:Attribute xmlns:saml="${NS.assertion}" Name="${x(n)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri"/>`).join('');
  return `<?xml version="1.0"?>\n<EntityDescriptor xmlns="${NS.metadata}" entityID="${x(s.issuer)}">`
    // An SP that reads this knows its requests must be signed once the addon has its signingCert.
    + `<IDPSSODescriptor protocolSupportEnumeration="${NS.protocol}"${s.signingCert ? ' WantAuthnRequestsSigned="true"' : ''}>${keys}`
    + services('SingleLogoutService', logoutUrl)
    + NAMEID_FORMATS.map((f) => `<NameIDFormat>${f}</NameIDFormat>`).join('')
    + services('SingleSignOnService', ssoUrl)
    + attributes
    + `</IDPSSODescriptor></EntityDescriptor>`;
}
