import type Router from '@koa/router';
import type { Env } from '../tenant/env.ts';
import type { Engine } from '../oidc/provider.ts';
import { samlpApp, samlpHandler } from './context.ts';
import { idpMetadata } from './metadata.ts';

export function metadataRoutes(router: Router, env: Env, engine: Engine) {
  router.get('/samlp/metadata/:clientId', samlpHandler(engine, async (ctx) => {
    const { client, settings } = await samlpApp(env, engine, ctx.params.clientId);
    const base = `${env.issuer.replace(/\/$/, '')}/samlp/${encodeURIComponent(client.id)}`;
    ctx.type = 'application/xml';
    ctx.body = idpMetadata(settings, base, `${base}/logout`, [env.keys.current().row.cert]);
  }));
}
