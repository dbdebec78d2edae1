import { availableParallelism } from 'node:os';
import { generateKeyPairSync } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { hashPassword } from '../../src/lib/passwords.ts';
import { jwtSigner } from './raw-sign.mjs';

// The machine's ceiling for the work a request cannot avoid, measured on all
// cores in this run, so throughput is reported as a ratio and not as a number
// that only means something on one machine.

async function onAllCores(kind: 'rs256' | 'bcrypt', seconds: number, data: Record<string, unknown>): Promise<number> {
  const cores = availableParallelism();
  const url = new URL('./raw-worker.mjs', import.meta.url);
  const counts = await Promise.all(Array.from({ length: cores }, () => new Promise<number>((res, rej) => {
    const w = new Worker(url, { workerData: { kind, seconds, ...data } });
    w.once('message', res);
    w.once('error', rej);
  })));
  return counts.reduce((a, b) => a + b, 0) / seconds;
}

/**
 * Runs the load between two measurements of the raw rate and compares it with
 * their mean: on a shared machine the speed drifts over a phase, and a ceiling
 * taken only before the load would credit or blame the server for that drift.
 */
export async function bracketed<T>(raw: () => Promise<number>, load: () => Promise<T>) {
  const before = await raw();
  const result = await load();
  const after = await raw();
  return { result, raw: (before + after) / 2, before, after };
}

/** The scope claim of the token measured, or that many made-up scopes. */
export type ScopeClaim = string | number;

/** A client_credentials payload carrying the given scope claim (the Management API grants ~250 scopes). */
export function tokenPayload(scope: ScopeClaim = 100) {
  return {
    iss: 'https://localhost:8443/', sub: 'client@clients', aud: 'https://localhost:8443/api/v2/',
    azp: 'abcdefghijklmnopqrstuvwxyz012345', gty: 'client-credentials',
    scope: typeof scope === 'string' ? scope : Array.from({ length: scope }, (_, i) => `read:resource_${i}`).join(' '),
  };
}

/** RS256 (2048-bit, as the KeyRing generates) JWT signatures per second on all cores. */
export function rawSigningRate(seconds: number, scope?: ScopeClaim) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'pem' });
  return onAllCores('rs256', seconds, { pkcs8, payload: tokenPayload(scope) });
}

/** bcrypt cost-10 verifies per second on all cores. */
export async function rawBcryptRate(seconds: number) {
  const password = 'Bench-password-1!';
  return onAllCores('bcrypt', seconds, { password, hash: await hashPassword(password) });
}

/**
 * CPU milliseconds one operation costs, measured on this (otherwise idle) process:
 * unlike a rate, it barely moves when other jobs share the machine.
 */
export async function rawCpuMs(kind: 'rs256' | 'bcrypt', seconds = 1, scope?: ScopeClaim): Promise<number> {
  let op: () => Promise<unknown> | unknown;
  if (kind === 'rs256') {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    op = jwtSigner(privateKey.export({ type: 'pkcs8', format: 'pem' }), tokenPayload(scope));
  } else {
    const { verifySync } = await import('@node-rs/bcrypt');
    const h = await hashPassword('Bench-password-1!');
    op = () => verifySync('Bench-password-1!', h);
  }
  await op(); // warm
  const c0 = process.cpuUsage();
  const until = performance.now() + seconds * 1000;
  let n = 0;
  while (performance.now() < until) { await op(); n++; }
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000 / n;
}
