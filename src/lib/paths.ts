import type Koa from 'koa';

/**
 * Runs `mw` only for paths under one of `prefixes`. A router matches every
 * request against each of its routes; the token endpoint and the engine should
 * not pay for the Management API's hundreds of patterns on every call.
 */
export function under(prefixes: readonly string[], mw: Koa.Middleware<any, any>): Koa.Middleware {
  return (ctx, next) => (prefixes.some((p) => ctx.path.startsWith(p)) ? mw(ctx, next) : next());
}
