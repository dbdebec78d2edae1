// The raw RS256 operation every target ratio divides by: one JWT signed with
// Node's synchronous RSA signature, the fastest way this machine signs. (jose's
// WebCrypto path, one signature in flight per core, reached only about two
// thirds of this rate here, so it would make every ratio look better.)
import { createPrivateKey, sign } from 'node:crypto';

const b64u = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
const HEADER = b64u({ alg: 'RS256', typ: 'JWT', kid: 'bench' });

/** Returns a function that signs `payload` (with fresh iat, exp and jti) as a compact JWT. */
export function jwtSigner(pkcs8, payload) {
  const key = createPrivateKey(pkcs8);
  let n = 0;
  return () => {
    const iat = Math.floor(Date.now() / 1000);
    const input = `${HEADER}.${b64u({ ...payload, iat, exp: iat + 3600, jti: String(n++) })}`;
    return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
  };
}
