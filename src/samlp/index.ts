import Router from '@koa/router';
import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';
import type { Engine } from '../oidc/provider.ts';
import { allowContinueUri } from './engine-login.ts';
import { ssoRoutes } from './sso.ts';
import { metadataRoutes } from './metadata-route.ts';
import { logoutRoutes } from './logout.ts';

// Auth0's SAML2 Web App addon: Postern as the SAML 2.0 IdP of an application
// whose `addons.samlp` is set. Mounted before the engine: every request makes
// sure the current engine (rebuilt on key changes) accepts the addon's
// internal redirect URI, and /samlp/* is served here.

export function samlpEndpoint(env: Env, engine: Engine): Koa.Middleware {
  const router = new Router();
  metadataRoutes(router, env, engine);
  logoutRoutes(router, env, engine);
  ssoRoutes(router, env, engine);
  const routes = router.routes();
  return (ctx, next) => {
    allowContinueUri(env, engine.provider);
    return ctx.path.startsWith('/samlp/') ? routes(ctx as any, next) : next();
  };
}
