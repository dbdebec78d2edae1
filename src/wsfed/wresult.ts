import { signedAssertion, type AuthnFacts } from '../samlp/response.ts';
import type { SigningKey } from '../samlp/sign.ts';
import { x } from '../samlp/xml.ts';
import { saml11Assertion } from './saml11.ts';
import type { WsfedSettings } from './settings.ts';

// What the browser posts to the relying party as `wresult`: the signed token
// in a WS-Trust (2005/02, as Auth0's node-wsfed writes it)
// RequestSecurityTokenResponse whose Context is the `wctx`; or, for a login
// that ended without a user, a SOAP 1.2 fault, as node-wsfed's sendError.

const TRUST = 'http://schemas.xmlsoap.org/ws/2005/02/trust';

export function tokenResponse(reply: string, audience: string, who: AuthnFacts, s: WsfedSettings, key: SigningKey, wctx: string | undefined): string {
  const now = Date.now();
  const token = s.samlVersion === '2.0'
    ? signedAssertion(now, { acsUrl: reply, audience }, who, s.saml, key)
    : saml11Assertion(now, audience, who, s.saml, key);
  const context = wctx !== undefined ? ` Context="${x(wctx)}"` : '';
  return `<t:RequestSecurityTokenResponse${context} xmlns:t="${TRUST}"><t:RequestedSecurityToken>${token}</t:RequestedSecurityToken></t:RequestSecurityTokenResponse>`;
}

export function faultResponse(code: string, message: string): string {
  return '<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:fed="http://schemas.xmlsoap.org/ws/2006/12/federation"><env:Body><env:Fault>'
    + `<env:Code><env:Value>env:Sender</env:Value><env:Subcode><env:Value>${x(code)}</env:Value></env:Subcode></env:Code>`
    + `<env:Reason><env:Text xml:lang="en">${x(message)}</env:Text></env:Reason>`
    + '</env:Fault></env:Body></env:Envelope>';
}
