import type Koa from 'koa';

// CORS for /dbconnections/* (auth0.js calls them from the browser). As on the
// engine's token endpoint, the preflight is answered for any origin because
// the application is only known once the body names it; the request itself
// is then refused unless the origin is one of that application's Allowed Web
// Origins or Allowed Origins (the rule of ../oidc/cors.ts).

export const dbConnectionsPreflight: Koa.Middleware = async (ctx, next) => {
  const origin = ctx.get('Origin');
  if (!origin || !ctx.get('Access-Control-Request-Method')) return next();
  ctx.vary('Origin');
  ctx.set('Access-Control-Allow-Origin', origin);
  ctx.set('Access-Control-Allow-Methods', 'POST');
  const headers = ctx.get('Access-Control-Request-Headers');
  if (headers) ctx.set('Access-Control-Allow-Headers', headers);
  ctx.set('Access-Control-Max-Age', '600');
  ctx.status = 204;
};
