import type Koa from 'koa';
import { jwtVerify } from 'jose';
import type { Env } from '../tenant/env.ts';
import { CLAIMS_BY_SCOPE, profileClaims } from './account.ts';

// /userinfo for Auth0 API access tokens: a JWT whose aud includes
// https://{domain}/userinfo answers there too (the engine itself only
// accepts its opaque tokens). Everything else goes on to the engine.

export function jwtUserinfo(env: Env): Koa.Middleware {
  const userinfoAud = `${env.issuer}userinfo`;
  return async (ctx, next) => {
    if (ctx.path !== '/userinfo' || (ctx.method !== 'GET' && ctx.method !== 'POST')) return next();
    const m = /^Bearer\s+([\w-]+\.[\w-]+\.[\w-]+)$/i.exec(ctx.get('authorization'));
    if (!m) return next();
    let payload: any;
    try {
      ({ payload } = await jwtVerify(m[1], env.keys.verifier, { issuer: env.issuer, audience: userinfoAud, algorithms: ['RS256'] }));
    } catch {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', 'Bearer realm="userinfo", error="invalid_token", error_description="invalid access token"');
      ctx.body = { error: 'invalid_token', error_description: 'invalid access token' };
      return;
    }
    const row = payload.sub ? await env.store.getUser(String(payload.sub)) : undefined;
    if (!row || row.blocked) {
      ctx.status = 401;
      ctx.body = { error: 'invalid_token', error_description: 'invalid access token' };
      return;
    }
    const scopes = String(payload.scope ?? '').split(' ');
    const all = profileClaims(row);
    const allowed = new Set(Object.entries(CLAIMS_BY_SCOPE).filter(([s]) => scopes.includes(s)).flatMap(([, c]) => c));
    ctx.set('Cache-Control', 'no-store');
    ctx.body = Object.fromEntries(Object.entries(all).filter(([k]) => allowed.has(k)));
  };
}
