import { inflateRawSync } from 'node:zlib';
import type { Element } from '@xmldom/xmldom';
import { badSaml, child, NS, parseXml, textOf } from './xml.ts';

// The SP's messages as they arrive: base64, deflated on the HTTP-Redirect
// binding and plain on HTTP-POST (either is accepted on both, as Auth0 does),
// with a ceiling on both the encoded and the inflated size.

const MAX_ENCODED = 64 * 1024;
const MAX_XML = 256 * 1024;

export function decodeMessage(value: string): string {
  if (value.length > MAX_ENCODED) throw badSaml('The SAML message is too large');
  if (!/^[A-Za-z0-9+/=\s_-]+$/.test(value)) throw badSaml('The SAML message is not base64');
  const raw = Buffer.from(value.replace(/\s+/g, ''), 'base64');
  if (!raw.length) throw badSaml('The SAML message is empty');
  if (raw[0] === 0x3c) return checkedText(raw); // '<': not deflated
  try {
    return checkedText(inflateRawSync(raw, { maxOutputLength: MAX_XML }));
  } catch {
    throw badSaml('The SAML message could not be inflated');
  }
}

function checkedText(buf: Buffer) {
  if (buf.length > MAX_XML) throw badSaml('The SAML message is too large');
  return buf.toString('utf8');
}

function rootOf(xml: string, local: string): Element {
  const root = parseXml(xml).documentElement;
  if (!root || root.namespaceURI !== NS.protocol || root.localName !== local) throw badSaml(`Expected a SAML 2.0 ${local}`);
  return root;
}

const ID = /^[A-Za-z_][\w.-]{0,255}$/;
function requestId(root: Element) {
  const id = root.getAttribute('ID') ?? '';
  if (!ID.test(id)) throw badSaml('The SAML request has no valid ID');
  return id;
}

export interface AuthnRequest { id: string; issuer?: string; acsUrl?: string; forceAuthn: boolean }

/** An AuthnRequest's XML (decoded, and verified where the addon asks for signed requests). */
export function readAuthnRequest(xml: string): AuthnRequest {
  const root = rootOf(xml, 'AuthnRequest');
  return {
    id: requestId(root),
    issuer: textOf(child(root, NS.assertion, 'Issuer')),
    acsUrl: root.getAttribute('AssertionConsumerServiceURL') || undefined,
    forceAuthn: root.getAttribute('ForceAuthn') === 'true' || root.getAttribute('ForceAuthn') === '1',
  };
}

export interface LogoutRequest { id: string; issuer?: string; nameId?: string; sessionIndex?: string }

export function readLogoutRequest(xml: string): LogoutRequest {
  const root = rootOf(xml, 'LogoutRequest');
  return {
    id: requestId(root),
    issuer: textOf(child(root, NS.assertion, 'Issuer')),
    nameId: textOf(child(root, NS.assertion, 'NameID')),
    sessionIndex: textOf(child(root, NS.protocol, 'SessionIndex')),
  };
}

export interface LogoutResponse { inResponseTo?: string; status?: string }

/** A participant's answer to the LogoutRequest Postern sent it during single logout. */
export function readLogoutResponse(xml: string): LogoutResponse {
  const root = rootOf(xml, 'LogoutResponse');
  const status = child(root, NS.protocol, 'Status');
  const code = status && child(status, NS.protocol, 'StatusCode');
  return { inResponseTo: root.getAttribute('InResponseTo') || undefined, status: code?.getAttribute('Value') || undefined };
}
