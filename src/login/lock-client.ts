import type Router from '@koa/router';
import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';
import type { Engine } from '../oidc/provider.ts';
import { ENTERPRISE_STRATEGIES } from '../tenant/federated-users.ts';

// Lock learns an application's connections from a script it loads from
// `{configurationBaseUrl}/client/{client_id}.js` (by default this server):
// `Auth0.setClient({...})`, connections grouped by strategy. Auth0 serves it
// from its CDN; here it is made from the enabled connections on each request.

function connectionEntry(c: { data: any }) {
  const o = c.data.options ?? {};
  const entry: Record<string, unknown> = { name: c.data.name, ...(c.data.display_name ? { display_name: c.data.display_name } : {}) };
  if (c.data.strategy === 'auth0') {
    Object.assign(entry, {
      passwordPolicy: o.passwordPolicy ?? 'none',
      ...(o.password_complexity_options ? { password_complexity_options: o.password_complexity_options } : {}),
      showSignup: !o.disable_signup, showForgot: true, requires_username: Boolean(o.requires_username),
      ...(o.validation ? { validation: o.validation } : {}),
    });
  } else if (ENTERPRISE_STRATEGIES.has(c.data.strategy)) {
    const aliases: string[] = (o.domain_aliases ?? []).filter((d: unknown) => typeof d === 'string');
    Object.assign(entry, { ...(aliases[0] ? { domain: aliases[0] } : {}), domain_aliases: aliases.slice(1) });
  }
  return entry;
}

async function clientSettings(env: Env, client: { id: string; data: any }) {
  const strategies = new Map<string, Record<string, unknown>[]>();
  for (const c of (await env.store.connections.list()).items) {
    if (!(c.data.enabled_clients ?? []).includes(client.id)) continue;
    strategies.set(c.data.strategy, [...(strategies.get(c.data.strategy) ?? []), connectionEntry(c)]);
  }
  const tenant = await env.store.getTenant();
  return {
    id: client.id, tenant: tenant?.name,
    authorize: new URL('authorize', env.issuer).href,
    callback: (client.data.callbacks ?? [])[0],
    hasAllowedOrigins: (client.data.allowed_origins ?? []).length > 0,
    strategies: [...strategies].map(([name, connections]) => ({ name, connections })),
  };
}

/** JSON that stays inert inside a script, whatever the connection names hold. */
const scriptJson = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');

export function lockClientRoutes(router: Router, env: Env, engine: Engine) {
  router.get('/client/:file', async (ctx: Koa.Context) => {
    const id = /^([\w.-]{1,128})\.js$/.exec(ctx.params.file)?.[1];
    const client = id ? await engine.clients.get(id) : undefined;
    if (!client) {
      ctx.status = 404;
      ctx.body = { error: 'not_found', error_description: 'Unknown client.' };
      return;
    }
    ctx.type = 'application/javascript; charset=utf-8';
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = `Auth0.setClient(${scriptJson(await clientSettings(env, client))});`;
  });
}
