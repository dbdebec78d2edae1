import Router from '@koa/router';
import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';
import type { Engine } from '../oidc/provider.ts';
import { ssoRoutes } from './sso.ts';
import { metadataRoutes } from './metadata-route.ts';
import { logoutRoutes } from './logout.ts';

// Auth0's SAML2 Web App addon: Postern as the SAML 2.0 IdP of an application
// whose `addons.samlp` is set, served under /samlp/.

export function samlpEndpoint(env: Env, engine: Engine): Koa.Middleware {
  const router = new Router();
  metadataRoutes(router, env, engine);
  logoutRoutes(router, env, engine);
  ssoRoutes(router, env, engine);
  const routes = router.routes();
  return (ctx, next) => (ctx.path.startsWith('/samlp/') ? routes(ctx as any, next) : next());
}
