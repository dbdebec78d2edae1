import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import type { Env } from './env.ts';

// Short numeric codes sent to a person (passwordless logins, MFA by SMS or
// email). A code lives in an oidc_payloads row under a key its caller
// chooses; the row holds only an HMAC of the code, keyed by the master key,
// so the database alone does not give a six-digit code away. Each try first
// takes one of the code's attempts by compare-and-swap, so concurrent guesses
// cannot share one; the right code is then claimed once.

export interface CodeKey { model: string; id: string }

interface Stored<T> { code: string; attempts: number; data: T }

/** Why a code was not accepted. */
export class CodeNotAccepted extends Error {
  constructor(readonly reason: 'wrong' | 'expired' | 'too_many_attempts') { super(reason); }
}

export const keyedMac = (env: Env, label: string, value: string, enc: 'base64url' | 'hex' = 'base64url') =>
  createHmac('sha256', env.box.derive(label)).update(value).digest(enc);
const codeMac = (env: Env, code: string) => keyedMac(env, 'postern one-time code', code);

export function newDigits(length: number) {
  let out = '';
  while (out.length < length) out += String(randomInt(0, 1e9)).padStart(9, '0');
  return out.slice(0, length);
}

/** A new code under `key`, replacing whatever code was pending there; answers the code. */
export async function issueCode<T>(env: Env, key: CodeKey, opts: { length: number; ttlSeconds: number }, data: T): Promise<string> {
  const code = newDigits(opts.length);
  const stored: Stored<T> = { code: codeMac(env, code), attempts: 0, data };
  await env.store.upsertPayload({
    model: key.model, id: key.id, payload: JSON.stringify(stored), grant_id: null, uid: null, user_code: null,
    account_id: null, expires_at: Math.floor(Date.now() / 1000) + opts.ttlSeconds, consumed_at: null,
  });
  return code;
}

/** Uses the code up when it is the one pending under `key`, and answers its data; throws CodeNotAccepted otherwise. */
export async function spendCode<T>(env: Env, key: CodeKey, code: string, maxAttempts: number): Promise<T> {
  let stored: Stored<T> | undefined;
  for (let tries = 0; !stored; tries++) {
    const row = await env.store.findPayload(key.model, 'id', key.id);
    if (!row || row.consumed_at) throw new CodeNotAccepted('wrong');
    // So many tries at once that this one keeps losing: it is one too many.
    if (tries >= 20) throw new CodeNotAccepted('too_many_attempts');
    if (row.expires_at && row.expires_at <= Date.now() / 1000) throw new CodeNotAccepted('expired');
    const read = JSON.parse(row.payload) as Stored<T>;
    if (read.attempts >= maxAttempts) throw new CodeNotAccepted('too_many_attempts');
    if (await env.store.swapPayload(key.model, key.id, row.payload, JSON.stringify({ ...read, attempts: read.attempts + 1 }))) stored = read;
  }
  const given = Buffer.from(codeMac(env, String(code).trim()));
  const expected = Buffer.from(stored.code);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new CodeNotAccepted('wrong');
  // Two requests with the right code: one gets it.
  if (!(await env.store.claimPayload(key.model, key.id))) throw new CodeNotAccepted('wrong');
  return stored.data;
}
