import { createPublicKey, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import xmlenc from 'xml-encryption';
import { ApiError } from '../lib/errors.ts';
import type { SamlpSettings } from './settings.ts';
import { NS } from './xml.ts';

// Encrypted assertions, as Auth0 makes them when the SP gave its certificate:
// the signed Assertion becomes the EncryptedData of an EncryptedAssertion,
// its content key wrapped with RSA-OAEP (MGF1 with SHA-1) to the SP's key.

const CONTENT = {
  // Auth0's default; it has no integrity of its own, which is why Auth0 recommends aes256-gcm.
  'aes256-cbc': 'http://www.w3.org/2001/04/xmlenc#aes256-cbc',
  'aes256-gcm': 'http://www.w3.org/2009/xmlenc11#aes256-gcm',
} as const satisfies Record<SamlpSettings['encryptionAlgorithm'], string>;
const KEY_TRANSPORT = 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p';

const encrypt = promisify(xmlenc.encrypt);

/** A misconfigured encryption setting: the login stops here rather than send the assertion in the clear. */
const misconfigured = (message: string) => new ApiError(400, `The SAML assertion could not be encrypted: ${message}`, 'invalid_request');

const asPem = (cert: string) => (cert.includes('-----BEGIN')
  ? cert
  : `-----BEGIN CERTIFICATE-----\n${cert.replace(/\s+/g, '').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`);

function rsaKey(source: string, what: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(source);
  } catch {
    throw misconfigured(`the ${what} is not valid`);
  }
  if (key.asymmetricKeyType !== 'rsa') throw misconfigured(`the ${what} is not an RSA key`);
  return key;
}

/** Whether the settings ask for an encrypted assertion. */
export const wantsEncryption = (s: SamlpSettings) => Boolean(s.encryptionCert || s.encryptionPublicKey);

/**
 * The EncryptedAssertion for a signed Assertion. The certificate goes into the
 * KeyInfo the SP reads; the key it is encrypted to is encryptionPublicKey, or
 * the certificate's own key when only the certificate is given.
 */
export async function encryptAssertion(signedAssertion: string, s: SamlpSettings): Promise<string> {
  if (!s.encryptionCert) throw misconfigured('encryptionPublicKey is set without the encryptionCert it belongs to');
  const pem = asPem(s.encryptionCert);
  const certKey = rsaKey(pem, 'encryptionCert');
  const key = s.encryptionPublicKey ? rsaKey(s.encryptionPublicKey, 'encryptionPublicKey') : certKey;
  const encrypted = await encrypt(signedAssertion, {
    rsa_pub: key.export({ type: 'spki', format: 'pem' }) as string,
    pem,
    encryptionAlgorithm: CONTENT[s.encryptionAlgorithm],
    keyEncryptionAlgorithm: KEY_TRANSPORT,
    // aes256-cbc stays available because Auth0 still defaults to it; the library would refuse it otherwise.
    disallowEncryptionWithInsecureAlgorithm: false,
    warnInsecureAlgorithm: false,
  }).catch(() => { throw misconfigured('the key could not be used'); });
  return `<saml:EncryptedAssertion xmlns:saml="${NS.assertion}">${encrypted.replace(/>\s+</g, '><').trim()}</saml:EncryptedAssertion>`;
}
