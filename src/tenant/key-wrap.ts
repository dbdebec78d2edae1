import { constants, createDecipheriv, createPrivateKey, generateKeyPair, privateDecrypt } from 'node:crypto';

// Bring-your-own-key import as Auth0 on AWS asks for it (PKCS#11
// CKM_RSA_AES_KEY_WRAP): the customer encrypts an ephemeral AES-256 key with
// the RSA wrapping key (OAEP, SHA-256 and MGF1-SHA-256), wraps their own
// AES-256 key under the ephemeral one with AES key wrap with padding (RFC 5649),
// and sends the base64 of both, RSA part first.

export const WRAPPING_ALGORITHM = 'CKM_RSA_AES_KEY_WRAP';
/** The modulus length of the wrapping keys Auth0 on AWS documents and hands out. */
const MODULUS_BITS = 3072;
/** RFC 5649's alternative initial value; OpenSSL appends the length itself. */
const KWP_AIV = Buffer.from('a65959a6', 'hex');
const AES_256_BYTES = 32;

export interface WrappingKey { publicKey: string; privateKey: string }

/** A new RSA wrapping key pair, in PEM (SPKI public, PKCS#8 private); generated off the event loop. */
export function newWrappingKey(): Promise<WrappingKey> {
  return new Promise((resolve, reject) => generateKeyPair('rsa', {
    modulusLength: MODULUS_BITS,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  }, (err, publicKey, privateKey) => (err ? reject(err) : resolve({ publicKey, privateKey }))));
}

/** The customer's AES-256 key, or undefined when `wrapped` is not one wrapped for this private key. */
export function unwrapCustomerKey(privateKeyPem: string, wrapped: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(wrapped)) return undefined;
  const raw = Buffer.from(wrapped, 'base64');
  const key = createPrivateKey(privateKeyPem);
  const rsaBytes = (key.asymmetricKeyDetails?.modulusLength ?? MODULUS_BITS) / 8;
  if (raw.length <= rsaBytes) return undefined;
  try {
    const ephemeral = privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, raw.subarray(0, rsaBytes));
    if (ephemeral.length !== AES_256_BYTES) return undefined;
    const d = createDecipheriv('id-aes256-wrap-pad', ephemeral, KWP_AIV);
    const material = Buffer.concat([d.update(raw.subarray(rsaBytes)), d.final()]);
    return material.length === AES_256_BYTES ? material : undefined;
  } catch {
    return undefined; // a wrong OAEP padding or a failed integrity check: not wrapped for this key
  }
}
