import { createHash, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { badRequest } from '../lib/errors.ts';

// What a client credential's `pem` may be: one public key (SPKI or PKCS#1) or
// one X.509 certificate. Anything holding a private key is refused outright, so
// key material a customer pasted by mistake is never parsed into a key or stored.

export interface PemFacts {
  /** The PEM block itself, without whatever text surrounded it. */
  pem: string;
  key: KeyObject;
  cert?: X509Certificate;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/;
/** Room for a certificate of a 16384-bit key; the body limit alone would let the block search run long. */
const MAX_LENGTH = 16384;
const invalid = (why: string) => badRequest(`Invalid pem: ${why}.`);

export function readPem(text: string): PemFacts {
  if (text.length > MAX_LENGTH) throw invalid(`it is longer than ${MAX_LENGTH} characters`);
  // Any line naming a private key (PKCS#8, PKCS#1, EC, encrypted), even in a stray or unterminated block.
  if (text.includes('PRIVATE KEY-----')) throw invalid('it contains a private key; send only the public key or certificate');
  // One BEGIN only, which also keeps the block search linear.
  if (text.split('-----BEGIN ').length > 2) throw invalid('it must hold exactly one public key or certificate');
  const block = BLOCK.exec(text);
  if (!block) throw invalid('no PEM encoded public key or certificate found');
  const [pem, label] = block;
  try {
    if (label === 'CERTIFICATE') {
      const cert = new X509Certificate(pem);
      return { pem, key: cert.publicKey, cert };
    }
    if (label === 'PUBLIC KEY' || label === 'RSA PUBLIC KEY') {
      return { pem, key: createPublicKey({ key: pem, format: 'pem', type: label === 'PUBLIC KEY' ? 'spki' : 'pkcs1' }) };
    }
  } catch {
    throw invalid('the public key or certificate cannot be parsed');
  }
  throw invalid(`a ${label} block is neither a public key nor a certificate`);
}

/** Refuses what cannot verify Auth0's assertion algorithms (RS256, RS384, PS256): non-RSA keys and RSA keys under 2048 bits. */
export function requireRsa2048(key: KeyObject) {
  if (key.asymmetricKeyType !== 'rsa') throw invalid('the key must be an RSA key');
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < 2048) throw invalid(`the RSA key is ${bits} bits long; at least 2048 bits are required`);
}

/** RFC 8705's x5t#S256: base64url of the SHA-256 of the certificate's DER. */
export const certThumbprint = (cert: X509Certificate) => createHash('sha256').update(cert.raw).digest('base64url');
