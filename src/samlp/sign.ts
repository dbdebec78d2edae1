import { createPrivateKey } from 'node:crypto';
import { SignedXml } from 'xml-crypto';
import type { KeyRing } from '../tenant/keys.ts';
import type { SamlpSettings } from './settings.ts';

// Enveloped XML signatures with the tenant's current signing key; the
// certificate the KeyRing made for that key goes into KeyInfo.

export const SIGNATURE = {
  'rsa-sha256': 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'rsa-sha1': 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
} as const;
const DIGEST = {
  sha256: 'http://www.w3.org/2001/04/xmlenc#sha256',
  sha1: 'http://www.w3.org/2000/09/xmldsig#sha1',
} as const;
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';

export interface SigningKey { privateKey: string; cert: string }

/** The current key as PEM, and its certificate. */
export function currentSigningKey(keys: KeyRing): SigningKey {
  const k = keys.current();
  const privateKey = createPrivateKey({ key: k.privateJwk as any, format: 'jwk' }).export({ type: 'pkcs8', format: 'pem' }) as string;
  return { privateKey, cert: k.row.cert };
}

/** The certificate's base64 DER, as metadata and KeyInfo carry it. */
export const certBody = (pem: string) => pem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s+/g, '');

/** Where the Signature goes and which attribute the reference names; SAML 1.1 differs from SAML 2.0 in both. */
export interface Placement {
  /** The child of the root the Signature follows (SAML 2.0: `Issuer`). */
  after: string;
  /** The root's ID attribute (SAML 2.0: `ID`; SAML 1.1: `AssertionID`). */
  idAttribute?: string;
}

/**
 * Signs the document's root element (`Response`, `Assertion`, `LogoutResponse`),
 * placing the Signature right after its Issuer as the SAML schema orders it,
 * or where `place` says.
 */
export function signRoot(xml: string, rootLocalName: string, key: SigningKey, s: Pick<SamlpSettings, 'signatureAlgorithm' | 'digestAlgorithm'>, place: Placement = { after: 'Issuer' }): string {
  const sig = new SignedXml({
    privateKey: key.privateKey,
    publicCert: key.cert,
    signatureAlgorithm: SIGNATURE[s.signatureAlgorithm],
    canonicalizationAlgorithm: EXC_C14N,
    ...(place.idAttribute ? { idAttribute: place.idAttribute } : {}),
  });
  sig.addReference({ xpath: `/*[local-name(.)='${rootLocalName}']`, transforms: [ENVELOPED, EXC_C14N], digestAlgorithm: DIGEST[s.digestAlgorithm] });
  sig.computeSignature(xml, {
    prefix: 'ds',
    location: { reference: `/*[local-name(.)='${rootLocalName}']/*[local-name(.)='${place.after}']`, action: 'after' },
  });
  return sig.getSignedXml();
}
