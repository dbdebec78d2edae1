import type Koa from 'koa';
import { jwtVerify } from 'jose';
import type { Env } from '../tenant/env.ts';
import { CLAIMS_BY_SCOPE, profileClaims } from './account.ts';
import { userinfoClaims } from '../actions/userinfo-claims.ts';
import type Provider from 'oidc-provider';
import { proofHolds } from './sender-constraint.ts';
import { allowOrigin } from './cors.ts';

// /userinfo for Auth0 API access tokens: a JWT whose aud includes
// https://{domain}/userinfo answers there too (the engine itself only
// accepts its opaque tokens). Everything else goes on to the engine.

export function jwtUserinfo(env: Env, provider: Provider): Koa.Middleware {
  const userinfoAud = `${env.issuer}userinfo`;
  const refuse = (ctx: Koa.Context, scheme: string) => {
    ctx.status = 401;
    ctx.set('WWW-Authenticate', `${scheme} realm="userinfo", error="invalid_token", error_description="invalid access token"`);
    ctx.body = { error: 'invalid_token', error_description: 'invalid access token' };
  };
  return async (ctx, next) => {
    if (ctx.path !== '/userinfo' || (ctx.method !== 'GET' && ctx.method !== 'POST')) return next();
    const m = /^(Bearer|DPoP)\s+([\w-]+\.[\w-]+\.[\w-]+)$/i.exec(ctx.get('authorization'));
    if (!m) return withActionClaims(env, ctx, next);
    const [, scheme, token] = m;
    let payload: any;
    try {
      ({ payload } = await jwtVerify(token, env.keys.verifier, { issuer: env.issuer, audience: userinfoAud, algorithms: ['RS256'] }));
    } catch {
      return refuse(ctx, scheme);
    }
    // The engine's CORS never sees this answer: the token's application decides, as it would there.
    if (await allowOrigin(ctx, env, payload.azp)) ctx.set('Access-Control-Expose-Headers', 'WWW-Authenticate, DPoP-Nonce');
    // A key-bound token works only with the DPoP scheme and a proof by its key; a plain one only as Bearer.
    const jkt = payload.cnf?.jkt;
    const dpop = scheme.toLowerCase() === 'dpop';
    if (jkt || dpop || ctx.get('dpop')) {
      if (!jkt || !dpop || !(await proofHolds(provider, ctx, token, String(jkt), String(payload.azp), userinfoAud))) return refuse(ctx, 'DPoP');
    }
    const row = payload.sub ? await env.store.getUser(String(payload.sub)) : undefined;
    if (!row || row.blocked) return refuse(ctx, scheme);
    const scopes = String(payload.scope ?? '').split(' ');
    const all = profileClaims(row);
    const allowed = new Set(Object.entries(CLAIMS_BY_SCOPE).filter(([s]) => scopes.includes(s)).flatMap(([, c]) => c));
    ctx.set('Cache-Control', 'no-store');
    ctx.body = withCustom(Object.fromEntries(Object.entries(all).filter(([k]) => allowed.has(k))), userinfoClaims(row, payload.azp));
  };
}

/** Custom claims add to a userinfo answer; they never replace what it says. */
const withCustom = (out: Record<string, unknown>, custom: Record<string, unknown>) => ({ ...custom, ...out });

/** The engine's own /userinfo (opaque tokens), with the custom claims of the token's application. */
async function withActionClaims(env: Env, ctx: Koa.Context, next: Koa.Next) {
  await next();
  const body = ctx.body as any;
  const clientId = (ctx as any).oidc?.entities?.AccessToken?.clientId;
  if (ctx.status !== 200 || typeof body?.sub !== 'string' || !clientId) return;
  const row = (ctx as any).oidc?.entities?.Account?.row ?? await env.store.getUser(body.sub);
  if (row) ctx.body = withCustom(body, userinfoClaims(row, clientId));
}
