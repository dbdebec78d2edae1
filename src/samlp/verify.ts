import { createPublicKey, createVerify, type KeyObject } from 'node:crypto';
import type Koa from 'koa';
import { SignedXml } from 'xml-crypto';
import type { Element } from '@xmldom/xmldom';
import { decodeMessage } from './messages.ts';
import { badSaml, NS, parseXml } from './xml.ts';

// Signed requests from the SP, checked against the addon's signingCert (as
// Auth0 requires once it is set): on HTTP-Redirect the Signature over the
// query's own octets, otherwise the XML's enveloped signature. What an
// embedded signature covers is read from what was signed, never from the
// document around it, so a wrapped copy cannot smuggle in other values.

/** A SAML message as it came: its XML, and the query-string signature of the HTTP-Redirect binding when there is one. */
export interface RequestEvidence {
  xml: string;
  query?: { signed: string; sigAlg: string; signature: string };
}

const SIG_ALGS: Record<string, string> = {
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256': 'RSA-SHA256',
  'http://www.w3.org/2000/09/xmldsig#rsa-sha1': 'RSA-SHA1',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512': 'RSA-SHA512',
};

const formDecode = (v: string) => {
  try { return decodeURIComponent(v.replace(/\+/g, ' ')); } catch { throw badSaml('The query string is not properly encoded'); }
};

/** Each parameter's raw (still URL-encoded) value; a repeated one is refused, since which copy was signed is unknowable. */
function rawQuery(querystring: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of querystring.split('&')) {
    if (!part) continue;
    const at = part.indexOf('=');
    const name = formDecode(at < 0 ? part : part.slice(0, at));
    if (out.has(name)) throw badSaml(`The parameter ${name} is repeated`);
    out.set(name, at < 0 ? '' : part.slice(at + 1));
  }
  return out;
}

/** A message (`SAMLRequest`, or a participant's `SAMLResponse`), with the HTTP-Redirect signature when its query carries one. */
export function requestEvidence(ctx: Koa.Context, encoded: string, param: 'SAMLRequest' | 'SAMLResponse' = 'SAMLRequest'): RequestEvidence {
  const xml = decodeMessage(encoded);
  if (ctx.method !== 'GET') return { xml };
  const q = rawQuery(ctx.querystring);
  const signature = q.get('Signature');
  if (signature === undefined) return { xml };
  const sigAlg = q.get('SigAlg');
  if (!sigAlg) throw badSaml('The SAML message has a Signature but no SigAlg');
  // The binding signs these three, in this order, as they were encoded (SAML bindings 3.4.4.1).
  const relay = q.get('RelayState');
  const signed = `${param}=${q.get(param)}${relay !== undefined ? `&RelayState=${relay}` : ''}&SigAlg=${sigAlg}`;
  return { xml, query: { signed, sigAlg: formDecode(sigAlg), signature: formDecode(signature) } };
}

/** The SP's certificate: PEM, or the bare base64 body Auth0's dashboard also takes. */
export function certificateKey(cert: string): KeyObject {
  const pem = cert.includes('-----BEGIN') ? cert : `-----BEGIN CERTIFICATE-----\n${cert.replace(/\s+/g, '')}\n-----END CERTIFICATE-----\n`;
  try {
    return createPublicKey(pem);
  } catch {
    throw badSaml('The application\'s signingCert is not a valid certificate');
  }
}

function checkQuerySignature(q: NonNullable<RequestEvidence['query']>, key: KeyObject) {
  const alg = SIG_ALGS[q.sigAlg];
  if (!alg) throw badSaml(`The signature algorithm ${q.sigAlg} is not supported`);
  const ok = createVerify(alg).update(q.signed).verify(key, Buffer.from(q.signature, 'base64'));
  if (!ok) throw badSaml('The signature of the SAML message is invalid');
}

const localName = (n: any) => n?.localName;
function signaturesIn(el: Element): Element[] {
  return Array.from(el.getElementsByTagNameNS(NS.dsig, 'Signature')) as unknown as Element[];
}

/** The XML the enveloped signature covers: the root element itself, signed once, by this key. */
function checkXmlSignature(xml: string, key: KeyObject): string {
  const root = parseXml(xml).documentElement!;
  const all = signaturesIn(root);
  if (all.length === 0) throw badSaml('The SAML message must be signed');
  if (all.length > 1) throw badSaml('The SAML message must carry exactly one signature');
  const sig = all[0];
  if (sig.parentNode !== root) throw badSaml('The signature of the SAML message must sign the message itself');
  const id = root.getAttribute('ID');
  const verifier = new SignedXml({ publicCert: key.export({ type: 'spki', format: 'pem' }) as string });
  try {
    verifier.loadSignature(sig as any);
  } catch {
    throw badSaml('The signature of the SAML message could not be read');
  }
  const refs = verifier.getReferences();
  if (refs.length !== 1 || !id || refs[0].uri !== `#${id}`) throw badSaml('The signature of the SAML message must sign the message itself');
  let valid = false;
  try {
    valid = verifier.checkSignature(xml);
  } catch {
    valid = false;
  }
  const signed = verifier.getSignedReferences();
  if (!valid || signed.length !== 1) throw badSaml('The signature of the SAML message is invalid');
  // What was signed must be the same element: reparsed, it is the same kind of message with the same ID.
  const covered = parseXml(signed[0]).documentElement;
  if (!covered || covered.namespaceURI !== root.namespaceURI || localName(covered) !== localName(root) || covered.getAttribute('ID') !== id) {
    throw badSaml('The signature of the SAML message must sign the message itself');
  }
  return signed[0];
}

/**
 * The request's XML to read: as received when no certificate is required,
 * otherwise only once its signature holds, and then what the signature covers.
 */
export function verifiedXml(e: RequestEvidence, signingCert: string | undefined): string {
  if (!signingCert) return e.xml;
  const key = certificateKey(signingCert);
  if (e.query) {
    checkQuerySignature(e.query, key);
    return e.xml;
  }
  return checkXmlSignature(e.xml, key);
}
