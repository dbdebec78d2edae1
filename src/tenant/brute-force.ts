import { BlockList, isIP, isIPv6 } from 'node:net';
import { BRUTE_FORCE } from '../management/attack-protection.ts';
import { readSingleton } from '../management/singleton.ts';
import { block, clearFailures, countFailure, isBlocked } from '../store/login-failures.ts';
import type { UserRow } from '../store/schema.ts';
import type { Env } from './env.ts';

// Auth0's brute-force protection, as the tenant's attack-protection settings
// configure it: after `max_attempts` consecutive failed logins to one account
// (from one IP, in the default mode), the `block` shield refuses that account
// from that IP until a successful password reset or an administrator's
// unblock (DELETE /user-blocks). Only existing accounts are counted, as Auth0 does.

export const BLOCKED_MESSAGE = 'Your account has been blocked after multiple consecutive login attempts.';

/** The counter an attempt from `ip` lands in: its own per IP, or one for all IPs. */
const counterIp = (mode: string, ip: string) => (mode === 'count_per_identifier' ? '' : ip);

async function applies(env: Env, ip: string) {
  const s = await readSingleton(env, BRUTE_FORCE);
  return s.enabled && !allowlisted(s.allowlist ?? [], ip) ? s : undefined;
}

/** Whether the account is blocked for an attempt from `ip`. */
export async function loginBlocked(env: Env, user: UserRow | undefined, ip: string): Promise<boolean> {
  // Almost every login finds no block in either counter, and need not read the settings.
  if (!user || !(await isBlocked(env.store, user.user_id, [ip, '']))) return false;
  const s = await applies(env, ip);
  return !!s && (s.shields ?? []).includes('block') && isBlocked(env.store, user.user_id, [counterIp(s.mode, ip)]);
}

/** Counts a wrong password; true when this attempt blocked the account. */
export async function countFailedLogin(env: Env, user: UserRow | undefined, ip: string): Promise<boolean> {
  if (!user) return false;
  const s = await applies(env, ip);
  if (!s) return false;
  const key = counterIp(s.mode, ip);
  const n = await countFailure(env.store, user.user_id, key);
  if (n < Number(s.max_attempts ?? 10) || !(s.shields ?? []).includes('block')) return false;
  await block(env.store, user.user_id, key);
  return n === Number(s.max_attempts ?? 10);
}

/** A successful login ends the run of failures from where it came (in either counting mode). */
export async function resetFailedLogins(env: Env, userId: string, ip: string) {
  await clearFailures(env.store, [userId], [ip, '']);
}

/** Whether `ip` is in an attack-protection allowlist of addresses and CIDR blocks (node's BlockList does the matching). */
export function allowlisted(list: string[], ip: string): boolean {
  if (!list.length) return false;
  const bare = ip.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
  const family = (a: string) => (isIPv6(a) ? 'ipv6' : 'ipv4');
  const matcher = new BlockList();
  for (const entry of list) {
    const [net, bits] = entry.split('/');
    try {
      if (bits === undefined) matcher.addAddress(net, family(net));
      else matcher.addSubnet(net, Number(bits), family(net));
    } catch { /* the schema admits only addresses and blocks; skip anything else */ }
  }
  return isIP(bare) ? matcher.check(bare, family(bare)) : false;
}
