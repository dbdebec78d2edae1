import type Koa from 'koa';
import type { Env } from './env.ts';
import type { MfaState } from './authenticators.ts';
import { keyedMac } from './one-time-codes.ts';

// "Remember this browser" after a second factor: a user who ticks the box is
// not asked for one again in this browser while Guardian's MFA session lasts
// (30 days in all, 7 days unused, Auth0's defaults). The cookie is sealed
// with the master key and names its user, so any node can read it and no one
// can forge it; the Management API's invalidate-remember-browser forgets every
// browser of the user at once.

export const MFA_SESSION_DEFAULTS = {
  display_remember_me_checkbox: true, remember_me_default_value: false,
  mfa_session_inactivity_timeout: 604800, mfa_session_overall_timeout: 2592000,
};
type Settings = typeof MFA_SESSION_DEFAULTS;

export async function mfaSessionSettings(env: Env): Promise<Settings> {
  return { ...MFA_SESSION_DEFAULTS, ...(await env.store.getTenantDoc<Partial<Settings>>('guardian.settings')) };
}

/** Times in milliseconds, so a browser remembered just after an invalidation is not taken for one before it. */
interface Remembered { use: 'mfa_rb'; sub: string; iat: number; seen: number }

// One cookie per user, so people sharing a browser are remembered apart; the name does not reveal the user.
const cookieName = (env: Env, sub: string) => `postern_mfa_rb_${keyedMac(env, 'postern remember browser', sub, 'hex').slice(0, 16)}`;
const now = () => Date.now();

function setCookie(env: Env, ctx: Koa.Context, c: Remembered, s: Settings) {
  const maxAge = Math.max(0, c.iat + s.mfa_session_overall_timeout * 1000 - now());
  ctx.cookies.set(cookieName(env, c.sub), env.box.seal(JSON.stringify(c)), { httpOnly: true, secure: true, sameSite: 'lax', path: '/', maxAge, signed: false });
}

/** Remembers this browser for the user, from now. */
export async function rememberBrowser(env: Env, ctx: Koa.Context, sub: string) {
  const t = now();
  setCookie(env, ctx, { use: 'mfa_rb', sub, iat: t, seen: t }, await mfaSessionSettings(env));
}

/**
 * Whether this browser is remembered for the user: within both lifetimes and
 * not forgotten since. A remembered use restarts the inactivity window.
 */
export async function browserRemembered(env: Env, ctx: Koa.Context, sub: string, mfaOf: () => Promise<MfaState>): Promise<boolean> {
  const raw = ctx.cookies.get(cookieName(env, sub), { signed: false });
  if (!raw) return false;
  let c: Remembered;
  try {
    c = JSON.parse(env.box.open(raw));
  } catch {
    return false;
  }
  if (c?.use !== 'mfa_rb' || c.sub !== sub) return false;
  const s = await mfaSessionSettings(env);
  const t = now();
  if (t >= c.iat + s.mfa_session_overall_timeout * 1000 || t >= c.seen + s.mfa_session_inactivity_timeout * 1000) return false;
  const forgotten = (await mfaOf()).remember_browser_invalidated_at;
  if (forgotten && c.iat <= Date.parse(forgotten)) return false;
  setCookie(env, ctx, { ...c, seen: t }, s);
  return true;
}
