import Router from '@koa/router';
import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';
import type { Engine } from '../oidc/provider.ts';
import { ApiError } from '../lib/errors.ts';
import { samlpHandler, samlpParams } from '../samlp/context.ts';
import { wsfedApp } from './application.ts';
import { metadataRoutes } from './metadata.ts';
import { continueRoute, startSignin } from './signin.ts';
import { signout } from './signout.ts';

// Auth0's WS-Federation endpoints: Postern as the identity provider (security
// token service) of a WS-Fed relying party, at /wsfed/{client_id} or /wsfed
// with the wtrealm naming the application; `wa` says what is asked.

export function wsfedEndpoint(env: Env, engine: Engine): Koa.Middleware {
  const router = new Router();
  const appOf = (id: string) => wsfedApp(env, engine, id, undefined);
  metadataRoutes(router, env, engine, appOf);
  continueRoute(router, env, engine, appOf);
  const request = samlpHandler(engine, async (ctx) => {
    const p = await samlpParams(ctx);
    const wa = p.wa ?? 'wsignin1.0';
    const clientId: string | undefined = ctx.params.clientId;
    if (wa === 'wsignin1.0') return startSignin(ctx, env, await wsfedApp(env, engine, clientId, p.wtrealm), p);
    if (wa === 'wsignout1.0' || wa === 'wsignoutcleanup1.0') {
      // Without an application, the tenant's Allowed Logout URLs apply, as at /v2/logout.
      const client = clientId !== undefined || p.wtrealm !== undefined ? await wsfedApp(env, engine, clientId, p.wtrealm) : undefined;
      return signout(ctx, env, engine, client, p.wreply);
    }
    throw new ApiError(400, `The wa parameter "${wa}" is not supported.`, 'invalid_request');
  });
  for (const path of ['/wsfed', '/wsfed/:clientId']) {
    router.get(path, request);
    router.post(path, request);
  }
  return router.routes() as Koa.Middleware;
}
