import Router from '@koa/router';
import type Koa from 'koa';
import compose from 'koa-compose';
import type { Env } from '../tenant/env.ts';
import { scimAuth } from './auth.ts';
import { asScimError, ScimError, send } from './errors.ts';
import { createGroup, deleteGroup, getGroup, listGroups, patchGroup, replaceGroup } from './groups.ts';
import { createUser, deleteUser, getUser, listUsers, patchUser, replaceUser } from './users.ts';

// Inbound SCIM 2.0, as Auth0 serves it for enterprise connections: the base
// URL handed to the identity provider is https://{domain}/scim/v2/connections/{connection_id}/
// (with /Users and /Groups below it) and every request carries one of that connection's SCIM tokens. Every
// answer under /scim/, errors included, is SCIM-shaped.

const BASE = '/scim/v2/connections/:connectionId';

type Handler = (env: Env, ctx: Koa.Context) => Promise<void>;

/**
 * The SCIM endpoint. The base URL ends in a slash, and IdPs that append
 * `/Users` to it send `…/{id}//Users`: repeated slashes are one.
 */
export function scimEndpoint(env: Env): Koa.Middleware {
  const collapse: Koa.Middleware = (ctx, next) => {
    if (ctx.path.includes('//')) ctx.path = ctx.path.replace(/\/{2,}/g, '/');
    return next();
  };
  return compose([collapse, scimRouter(env).routes() as unknown as Koa.Middleware]);
}

function scimRouter(env: Env): Router {
  const router = new Router();
  router.use(async (ctx, next) => {
    try {
      await next();
    } catch (e) {
      const err = asScimError(e);
      if (err) {
        if (err.status === 401) ctx.set('WWW-Authenticate', 'Bearer realm="SCIM"');
        return send(ctx, err.status, err.toJSON());
      }
      env.log.error({ err: { message: (e as Error)?.message, stack: (e as Error)?.stack } }, 'scim request failed');
      send(ctx, 500, new ScimError(500, 'Internal Server Error').toJSON());
    }
  });
  const auth = scimAuth(env, 'users');
  const serve = (h: Handler): Koa.Middleware => (ctx) => h(env, ctx);
  router.get(`${BASE}/Users`, auth, serve(listUsers));
  router.post(`${BASE}/Users`, auth, serve(createUser));
  router.get(`${BASE}/Users/:userId`, auth, serve(getUser));
  router.put(`${BASE}/Users/:userId`, auth, serve(replaceUser));
  router.patch(`${BASE}/Users/:userId`, auth, serve(patchUser));
  router.delete(`${BASE}/Users/:userId`, auth, serve(deleteUser));
  const groupAuth = scimAuth(env, 'groups');
  router.get(`${BASE}/Groups`, groupAuth, serve(listGroups));
  router.post(`${BASE}/Groups`, groupAuth, serve(createGroup));
  router.get(`${BASE}/Groups/:groupId`, groupAuth, serve(getGroup));
  router.put(`${BASE}/Groups/:groupId`, groupAuth, serve(replaceGroup));
  router.patch(`${BASE}/Groups/:groupId`, groupAuth, serve(patchGroup));
  router.delete(`${BASE}/Groups/:groupId`, groupAuth, serve(deleteGroup));
  // Schemas and the rest are not served; say so in SCIM's shape.
  router.all('/scim/{*rest}', async () => { throw new ScimError(404, 'Not Found'); });
  return router;
}
