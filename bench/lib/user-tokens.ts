import { bench } from './config.ts';
import { cannon, closedLoop, type LoadResult, type Meter } from './load.ts';
import { passwordLogin, type LoginApp } from './login-flow.ts';
import type { BenchServer } from './server.ts';

// Getting user tokens for the refresh and RBAC benches: through the real login
// flow when it works, else through the password-realm grant, else not at all
// (the caller then prints SKIPPED with both reasons).

const PASSWORD_REALM = 'http://auth0.com/oauth/grant-type/password-realm';

export async function passwordRealm(app: LoginApp, email: string, password: string, audience?: string, scope = 'openid profile email offline_access') {
  const res = await fetch(new URL('/oauth/token', app.baseUrl), {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: PASSWORD_REALM, realm: 'Username-Password-Authentication', username: email, password, scope,
      client_id: app.clientId, client_secret: app.clientSecret, ...(audience ? { audience } : {}),
    }),
  });
  const body = await res.json() as any;
  if (res.status !== 200 || !body.access_token) throw new Error(`password-realm answered ${res.status}: ${JSON.stringify(body).slice(0, 200)}`);
  return body;
}

/** Tokens for a user; with `refresh`, only a response that carries a refresh token counts. */
export async function userTokens(app: LoginApp, email: string, password: string, opts: { audience?: string; scope?: string; refresh?: boolean } = {}) {
  let flowError: string;
  try {
    const tokens = await passwordLogin(app, { email, password, ...opts });
    if (!opts.refresh || tokens.refresh_token) return { tokens, via: 'login flow' };
    flowError = `no refresh_token for offline_access (got ${Object.keys(tokens).join(', ')})`;
  } catch (e) { flowError = (e as Error).message; }
  try {
    const tokens = await passwordRealm(app, email, password, opts.audience, opts.scope);
    if (opts.refresh && !tokens.refresh_token) throw new Error(`no refresh_token for offline_access (got ${Object.keys(tokens).join(', ')})`);
    return { tokens, via: `password-realm grant (login flow: ${flowError})` };
  } catch (e) {
    throw new Error(`no user tokens: login flow: ${flowError}; password-realm: ${(e as Error).message}`);
  }
}

export const refreshBody = (app: LoginApp, rt: string) => new URLSearchParams({
  grant_type: 'refresh_token', refresh_token: rt, client_id: app.clientId, client_secret: app.clientSecret,
}).toString();

/** One refresh, checked: returns the response (with id_token when openid was granted). */
export async function refreshOnce(app: LoginApp, rt: string) {
  const res = await fetch(new URL('/oauth/token', app.baseUrl), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: refreshBody(app, rt) });
  const body = await res.json() as any;
  if (res.status !== 200 || !body.access_token) throw new Error(`refresh answered ${res.status}: ${JSON.stringify(body).slice(0, 200)}`);
  return body;
}

/**
 * Refresh grants per second at 32 connections, each connection using its own
 * refresh token. Non-rotating tokens go through autocannon; if the server rotates
 * anyway, each virtual user follows its own chain through fetch instead.
 */
export async function refreshLoad(s: BenchServer, app: LoginApp, tokens: string[], rotating: boolean, seconds = bench.duration, meter?: Meter): Promise<LoadResult & { via: string }> {
  if (!rotating) {
    let n = 0;
    const bodies = tokens.map((t) => refreshBody(app, t));
    const r = await cannon({
      url: `${s.baseUrl}/oauth/token`, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, ca: s.ca,
      setupClient: (client: any) => client.setBody(bodies[n++ % bodies.length]), meter,
    }, seconds);
    return { ...r, via: 'autocannon' };
  }
  const chains = [...tokens];
  const r = await closedLoop(bench.connections, seconds, async (vu) => {
    const body = await refreshOnce(app, chains[vu % chains.length]);
    if (body.refresh_token) chains[vu % chains.length] = body.refresh_token;
  }, meter);
  return { rps: r.rps, total: r.done, non2xx: r.failed, errors: 0, p50: r.p50, p99: r.p95, cpuMsPer: r.cpuMsPer, clientCpuMsPer: r.clientCpuMsPer, via: 'fetch chains (rotating tokens; p99 column is p95)' };
}

export const decodeJwt = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
