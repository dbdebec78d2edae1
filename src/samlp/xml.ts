import { DOMParser, type Document, type Element } from '@xmldom/xmldom';
import { ApiError } from '../lib/errors.ts';

// XML from outside (AuthnRequest, LogoutRequest) is parsed strictly: a DTD is
// refused before parsing, so no entity (external or expanding) is ever read,
// and every parser complaint ends the parse.

/** Characters escaped in text and attribute values of the XML we write. */
export const x = (v: unknown) => String(v ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export const NS = {
  protocol: 'urn:oasis:names:tc:SAML:2.0:protocol',
  assertion: 'urn:oasis:names:tc:SAML:2.0:assertion',
  metadata: 'urn:oasis:names:tc:SAML:2.0:metadata',
  dsig: 'http://www.w3.org/2000/09/xmldsig#',
} as const;

export const badSaml = (message: string) => new ApiError(400, message, 'invalid_request');

export function parseXml(text: string): Document {
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw badSaml('SAML messages must not contain a document type declaration');
  try {
    return new DOMParser({ onError: (level, msg) => { throw new Error(`${level}: ${msg}`); } }).parseFromString(text, 'text/xml');
  } catch {
    throw badSaml('The SAML message is not well-formed XML');
  }
}

/** The first direct child of `el` with this namespace and local name. */
export function child(el: Element, ns: string, local: string): Element | undefined {
  for (let n = el.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as Element).namespaceURI === ns && (n as Element).localName === local) return n as Element;
  }
  return undefined;
}

export const textOf = (el: Element | undefined) => el?.textContent?.trim() || undefined;
