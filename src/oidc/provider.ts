import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import compose from 'koa-compose';
import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';
import { adapterFactory } from './adapter.ts';
import { ClientCache, engineMetadata } from './clients.ts';
import { ResourceServerCache } from './resource-servers.ts';
import { AUTH0_PATHS } from './paths.ts';

export interface EngineDeps { env: Env; clients: ClientCache; apis: ResourceServerCache }

/** Auth0's access-token claims, applied to every JWT the engine signs. */
async function customizeJwt(deps: EngineDeps, _ctx: KoaContextWithOIDC, token: any, jwt: { header?: any; payload: any }) {
  const p = jwt.payload;
  const clientId = p.client_id;
  delete p.client_id;
  delete p.jti;
  p.azp = clientId;
  const api = token.resourceServer ? await deps.apis.get(token.resourceServer.audience) : undefined;
  if (api?.data.token_dialect !== 'rfc9068_profile' && api?.data.token_dialect !== 'rfc9068_profile_authz') jwt.header = { typ: 'JWT' };
  if (token.kind === 'ClientCredentials') {
    p.sub = `${clientId}@clients`;
    p.gty = 'client-credentials';
  }
}

export function buildProvider(deps: EngineDeps): Provider {
  const { env, clients, apis } = deps;
  const Adapter = adapterFactory(env.store, async (id) => {
    const c = await clients.get(id);
    return c ? engineMetadata(c) as any : undefined;
  });

  const config: Configuration = {
    adapter: Adapter as any,
    jwks: { keys: env.keys.published().map((k) => k.privateJwk) as any },
    routes: AUTH0_PATHS,
    clientDefaults: { id_token_signed_response_alg: 'RS256', grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_post' },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      introspection: { enabled: false },
      rpInitiatedLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: (ctx) => (ctx.oidc.params?.resource as string | undefined) ?? undefined as any,
        useGrantedResource: () => true,
        getResourceServerInfo: async (ctx, indicator, client) => {
          const api = await apis.get(indicator);
          if (!api) throw new (Provider as any).errors.InvalidTarget(`Service not enabled within domain: ${indicator}`);
          const cached = await clients.get(client.clientId);
          // Client credentials may carry only what a client grant allows.
          const scope = ctx.oidc.route === 'token' && ctx.oidc.params?.grant_type === 'client_credentials'
            ? (cached?.grants.get(indicator) ?? []).join(' ')
            : (api.data.scopes ?? []).map((s: any) => s.value).join(' ');
          const current = env.keys.current();
          return {
            scope,
            audience: indicator,
            accessTokenTTL: api.data.token_lifetime ?? 86400,
            accessTokenFormat: 'jwt',
            jwt: api.data.signing_alg === 'HS256'
              ? { sign: { alg: 'HS256', key: Buffer.from(api.data.signing_secret) } }
              : { sign: { alg: 'RS256', kid: current.row.kid } },
          } as any;
        },
      },
    },
    formats: { customizers: { jwt: (ctx, token, jwt) => customizeJwt(deps, ctx, token, jwt as any) } },
    pkce: { required: (_ctx, client) => client.tokenEndpointAuthMethod === 'none' },
    findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
      ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Error</title></head><body><main><h1>Something went wrong</h1><p><strong>${esc(out.error)}</strong>: ${esc(out.error_description)}</p></main></body></html>`;
    },
  };
  const provider = new Provider(env.issuer, config);
  if (env.config.http) provider.proxy = true;
  return provider;
}

/**
 * The protocol engine, rebuilt when the signing keys change: oidc-provider
 * takes its keystore at construction.
 */
export class Engine {
  provider!: Provider;
  private run!: (ctx: any, next: Koa.Next) => Promise<unknown>;
  private keysVersion = '';
  readonly clients: ClientCache;
  readonly apis: ResourceServerCache;

  constructor(private env: Env) {
    this.clients = new ClientCache(env);
    this.apis = new ResourceServerCache(env);
    this.rebuild();
  }

  rebuild() {
    this.provider = buildProvider({ env: this.env, clients: this.clients, apis: this.apis });
    this.run = compose(this.provider.middleware as any);
    this.keysVersion = this.env.keys.version;
  }
  /** Picks up key changes made by this or another node. */
  async refreshKeys() {
    await this.env.keys.load();
    if (this.env.keys.version !== this.keysVersion) this.rebuild();
  }
  middleware(): Koa.Middleware {
    return (ctx, next) => this.run(ctx, next);
  }
}
