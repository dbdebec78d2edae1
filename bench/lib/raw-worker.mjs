// One core's worth of raw work, in a loop for the given time: RS256 JWT signing
// with jose (what oidc-provider signs with) or a bcrypt verify (what login costs).
import { parentPort, workerData } from 'node:worker_threads';

const { kind, seconds, pkcs8, payload, hash, password } = workerData;
let n = 0;
let until;
if (kind === 'rs256') {
  const { SignJWT, importPKCS8 } = await import('jose');
  const key = await importPKCS8(pkcs8, 'RS256');
  until = performance.now() + seconds * 1000; // the clock starts once the worker is ready
  while (performance.now() < until) {
    await new SignJWT({ ...payload, jti: String(n) }).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: 'bench' })
      .setIssuedAt().setExpirationTime('1h').sign(key);
    n++;
  }
} else {
  const { verifySync } = await import('@node-rs/bcrypt');
  until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    if (!verifySync(password, hash)) throw new Error('bcrypt verify failed');
    n++;
  }
}
parentPort.postMessage(n);
