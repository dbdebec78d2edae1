// One core's worth of raw work, in a loop for the given time: RS256 JWT signing
// or a bcrypt verify (what login costs).
import { parentPort, workerData } from 'node:worker_threads';
import { jwtSigner } from './raw-sign.mjs';

const { kind, seconds, pkcs8, payload, hash, password } = workerData;
let n = 0;
let until;
if (kind === 'rs256') {
  const signJwt = jwtSigner(pkcs8, payload);
  until = performance.now() + seconds * 1000; // the clock starts once the worker is ready
  while (performance.now() < until) {
    signJwt();
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
