import { SUSPICIOUS_IP_THROTTLING } from '../management/attack-protection.ts';
import { readSingleton } from '../management/singleton.ts';
import { blockIp, countIpAttempt, ipBlocked } from '../store/login-failures.ts';
import { allowlisted } from './brute-force.ts';
import type { Env } from './env.ts';

// Auth0's suspicious-IP throttling at its pre-login stage: failed logins from
// one address, whatever the account (credential stuffing), fill a bucket that
// drains by one attempt every `rate` ms; past `max_attempts` the `block`
// shield refuses every login from the address until an administrator lifts
// it (DELETE /anomaly/blocks/ips/{ip}).

export const SUSPICIOUS_MESSAGE = 'We have detected suspicious login behavior and further attempts will be blocked. Please contact the administrator.';
const STAGE = 'pre-login';

async function applies(env: Env, ip: string) {
  const s = await readSingleton(env, SUSPICIOUS_IP_THROTTLING);
  return s.enabled && !allowlisted(s.allowlist ?? [], ip) ? s : undefined;
}

/** Whether logins from the address are refused. */
export async function ipThrottled(env: Env, ip: string): Promise<boolean> {
  // Almost no address is blocked; only a blocked one costs a settings read.
  if (!(await ipBlocked(env.store, ip, STAGE))) return false;
  const s = await applies(env, ip);
  return !!s && (s.shields ?? []).includes('block');
}

/** Counts a failed login from the address; true when this attempt blocked it. */
export async function countFailedFromIp(env: Env, ip: string): Promise<boolean> {
  const s = await applies(env, ip);
  if (!s) return false;
  const { max_attempts = 100, rate = 864000 } = s.stage?.[STAGE] ?? {};
  const level = await countIpAttempt(env.store, ip, STAGE, Math.max(1, Number(rate)));
  if (level <= Number(max_attempts) || !(s.shields ?? []).includes('block')) return false;
  await blockIp(env.store, ip, STAGE);
  return true;
}
