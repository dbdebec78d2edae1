import Provider, { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import compose from 'koa-compose';
import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';
import { adapterFactory } from './adapter.ts';
import { ClientCache, engineMetadata, type CachedClient } from './clients.ts';
import { ResourceServerCache } from './resource-servers.ts';
import { refuseMfaApiCaller } from './mfa-audience.ts';
import { AUTH0_PATHS } from './paths.ts';
import { CLAIMS_BY_SCOPE, findAccountFor } from './account.ts';
import { userAccessTokenClaims } from './claims.ts';
import { applyRbacClaims } from '../tenant/rbac.ts';
import { clientBasedCORS } from './cors.ts';
import { registerPasswordGrants } from './grants-password.ts';
import { registerPasswordlessGrant } from './grants-passwordless.ts';
import { registerTokenExchangeGrant } from './grants-token-exchange.ts';
import { registerMfaGrants } from './grants-mfa.ts';
import { registerPasskeyGrant } from './grants-passkey.ts';
import { registerLegacyRoGrants } from './legacy-ro.ts';
import { registerLegacyDelegationGrants } from './legacy-delegation.ts';
import { keepErrorFields } from './errors.ts';
import { interactionUrl, loadExistingGrantFor, restoreOfflineAccess } from './interactions.ts';
import { installRedirectUriRule } from './redirect-uri.ts';
import { issueRefreshTokenFor, refreshTokenTTL, rotateRefreshToken, withAuth0Consumption } from './refresh.ts';
import { TenantSettingsCache } from './settings.ts';
import { withSessionLimits } from './session-limits.ts';
import { jwtUserinfo } from './userinfo.ts';
import { webMessage } from './web-message.ts';
import { ORG_CLAIMS, organizationInteractionUrl, organizationParam, organizationPolicy, organizationTokenClaims, persistGrantOrganization, withOrganizationClaims } from './organization.ts';
import { grantServesOrganization, organizationGrant } from './organization-grant.ts';
import { requestFacts } from '../tenant/logs.ts';
import { logoutSource, postLogoutSuccessSource } from './logout-pages.ts';
import { revokeParams } from './revoke-endpoint.ts';
import { engineFetch } from './backchannel-logout.ts';
import { CC_ACTION_CLAIMS, DEFAULT_SCOPE } from './token-endpoint.ts';
import { assertionLifetime } from './client-assertion.ts';
import { userGrantableScopes } from '../tenant/current-user-scopes.ts';
import { addCustomClaims, PostLoginActions, redirectInteractionUrl } from './action-claims.ts';
import { withMfaPrompt } from './mfa-prompt.ts';
import { refuseUnprovenToken } from './sender-constraint.ts';
import { DEVICE_CODE_TTL, deviceFlowFeature } from './device-flow.ts';
import { cibaFeature, cibaTtl } from './ciba.ts';
import { activatePrefill, devicePages } from '../login/device.ts';
import { loginTicketPrompt } from '../login/cross-origin.ts';
import { continueUrl } from '../samlp/engine-login.ts';
import { continueUrl as wsfedContinueUrl } from '../wsfed/urls.ts';

export interface EngineDeps { env: Env; clients: ClientCache; apis: ResourceServerCache; settings: TenantSettingsCache }

/** Auth0's access-token claims, applied to every JWT the engine signs. */
async function customizeJwt(deps: EngineDeps, actions: PostLoginActions, ctx: KoaContextWithOIDC, token: any, jwt: { header?: any; payload: any }) {
  const p = jwt.payload;
  const clientId = p.client_id;
  const api = token.resourceServer ? await deps.apis.get(token.resourceServer.audience) : undefined;
  // The RFC 9068 profile keeps client_id and jti (and typ at+jwt); Auth0's own profile names the client azp.
  if (api?.data.token_dialect !== 'rfc9068_profile' && api?.data.token_dialect !== 'rfc9068_profile_authz') {
    delete p.client_id;
    delete p.jti;
    p.azp = clientId;
    jwt.header = { typ: 'JWT' };
  }
  if (token.kind === 'ClientCredentials') {
    p.sub = `${clientId}@clients`;
    p.gty = 'client-credentials';
    const granted = (ctx as any).state?.[DEFAULT_SCOPE];
    if (!p.scope && granted) p.scope = granted;
    addCustomClaims(p, (ctx as any).state?.[CC_ACTION_CLAIMS], deps.env.mgmtAudience);
  }
  userAccessTokenClaims(deps.env.issuer, ctx, token, p);
  await applyRbacClaims(deps.env, api, token, p);
  if (token.kind === 'AccessToken') await actions.accessTokenClaims(ctx, p, deps.env.mgmtAudience);
}


const LONG_TTL = 10 * 365 * 24 * 3600;
const validUrl = (u: unknown) => typeof u === 'string' && !u.includes('#') && URL.canParse(u);

/** Engine metadata plus the Auth0 settings the hooks below read from the client. */
function clientMetadata(env: Env, c: CachedClient) {
  const base: any = engineMetadata(c);
  const callbacks: string[] = (c.data.callbacks ?? []).filter(validUrl);
  // A SAML2 Web App addon logs in through the engine with Postern's own redirect URI (samlp/engine-login.ts).
  const samlp = c.data.addons?.samlp ? [continueUrl(env, c.id)] : [];
  // Every application with a callback URL has a WS-Fed endpoint, as at Auth0, which logs in the same way (wsfed/signin.ts).
  const wsfed = callbacks.length ? [wsfedContinueUrl(env, c.id)] : [];
  return {
    ...base,
    redirect_uris: [...callbacks, ...samlp, ...wsfed],
    response_types: callbacks.length || samlp.length ? base.response_types : [],
    callbacks: [...callbacks, ...samlp, ...wsfed],
    allowed_logout_urls: (c.data.allowed_logout_urls ?? []).filter((u: unknown) => typeof u === 'string'),
    web_origins: c.data.web_origins ?? [],
    allowed_origins: c.data.allowed_origins ?? [],
    is_first_party: c.data.is_first_party !== false,
    refresh_token: c.data.refresh_token ?? {},
    jwt_configuration: c.data.jwt_configuration ?? {},
    is_token_endpoint_ip_header_trusted: c.data.is_token_endpoint_ip_header_trusted === true,
  };
}

export function buildProvider(deps: EngineDeps): Provider {
  const { env, clients, apis, settings } = deps;
  // One metadata object per cached application, rebuilt only when the cache
  // entry is: memoizeClientFind keeps the engine's Client instance per object.
  const metadata = new WeakMap<CachedClient, any>();
  const metadataFor = async (id: string) => {
    const c = await clients.get(id);
    if (!c) return undefined;
    let m = metadata.get(c);
    if (!m) metadata.set(c, m = clientMetadata(env, c));
    return m;
  };
  const Base = adapterFactory(env.store, metadataFor);
  const Adapter = withSessionLimits(withAuth0Consumption(Base, env, clients), () => settings.value);
  const postLogin = new PostLoginActions(env);
  const accounts = withOrganizationClaims(findAccountFor(env));
  // A refresh or password grant logs the user in again: its post-login actions run once the account is known.
  const findAccount = async (ctx: any, sub: string, token?: unknown) => {
    const account = await accounts(ctx, sub, token);
    if (account) await postLogin.beforeGrant(ctx, sub);
    return account;
  };

  const resourceInfo = async (ctx: any, indicator: string, client: any) => {
    const api = await apis.get(indicator);
    // Auth0 answers an unknown audience with access_denied, at /authorize too.
    if (!api) throw new errors.AccessDenied(`Service not found: ${indicator}`);
    const cached = await clients.get(client.clientId);
    const cc = ctx.oidc.route === 'token' && ctx.oidc.params?.grant_type === 'client_credentials';
    refuseMfaApiCaller(env, indicator, cached, cc);
    refuseUnprovenToken(ctx, cached?.data, api.data);
    // Client credentials may carry only what a client grant allows; a request
    // that names no scope gets all of them later (DEFAULT_SCOPE), and the
    // engine need not filter an empty request against hundreds of scopes.
    const scope = cc
      ? (ctx.state?.[DEFAULT_SCOPE] ? '' : cached?.grantScope.get(indicator) ?? '')
      : userGrantableScopes(api.data).join(' ');
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
  };

  const secure = { httpOnly: true, secure: true };
  const config: Configuration = {
    adapter: Adapter as any,
    jwks: { keys: env.keys.published().map((k) => k.privateJwk) as any },
    routes: AUTH0_PATHS,
    clientDefaults: { id_token_signed_response_alg: 'RS256', grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_post' },
    responseTypes: ['code', 'id_token', 'id_token token', 'none'],
    scopes: ['openid', 'offline_access', 'profile', 'email', 'address', 'phone'],
    claims: { ...CLAIMS_BY_SCOPE, openid: [...CLAIMS_BY_SCOPE.openid, ...ORG_CLAIMS, 'amr'], acr: null, sid: null, auth_time: null, iss: null } as any,
    conformIdTokenClaims: false,
    extraParams: {
      audience: restoreOfflineAccess as any,
      connection: null, passwordless_ticket: null, login_ticket: null, screen_hint: null, auth0Client: null, organization: organizationParam(env, clients), invitation: null, access_type: null, federated: null,
    } as any,
    extraClientMetadata: { properties: ['callbacks', 'allowed_logout_urls', 'web_origins', 'allowed_origins', 'is_first_party', 'refresh_token', 'jwt_configuration', 'is_token_endpoint_ip_header_trusted'] },
    cookies: {
      keys: [env.box.derive('postern oidc cookies')],
      long: { ...secure, sameSite: 'none' },
      short: { ...secure, sameSite: 'lax' },
    } as any,
    interactions: { url: redirectInteractionUrl(organizationInteractionUrl(env, interactionUrl)), policy: withMfaPrompt(env, postLogin, postLogin.withRedirectPrompt(organizationPolicy(clients))) },
    loadExistingGrant: organizationGrant(env, apis, loadExistingGrantFor(clients, grantServesOrganization)),
    extraTokenClaims: organizationTokenClaims,
    clientBasedCORS,
    // private_key_jwt: the algorithms of Auth0's credentials, and Auth0's ceiling on an assertion's lifetime.
    // DPoP proofs: ES256 only, as Auth0 lists.
    enabledJWA: { clientAuthSigningAlgValues: ['RS256', 'RS384', 'PS256'], dPoPSigningAlgValues: ['ES256'] },
    assertJwtClientAuthClaimsAndHeader: assertionLifetime,
    issueRefreshToken: issueRefreshTokenFor(apis),
    rotateRefreshToken,
    allowOmittingSingleRegisteredRedirectUri: false,
    ttl: {
      AccessToken: (_ctx: any, token: any) => token.resourceServer?.accessTokenTTL ?? 86400,
      AuthorizationCode: 600,
      DeviceCode: DEVICE_CODE_TTL,
      BackchannelAuthenticationRequest: cibaTtl,
      ClientCredentials: (_ctx: any, token: any) => token.resourceServer?.accessTokenTTL ?? 86400,
      IdToken: (_ctx: any, _token: any, client: any) => Number(client.jwt_configuration?.lifetime_in_seconds) || 36000,
      Interaction: 3600,
      Grant: LONG_TTL,
      RefreshToken: refreshTokenTTL,
      Session: (_ctx: any, session: any) => {
        const now = Math.floor(Date.now() / 1000);
        const absolute = (session.loginTs ?? now) + settings.sessionLifetime - now;
        return Math.max(1, Math.min(absolute, settings.idleLifetime));
      },
    } as any,
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      introspection: { enabled: false },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
      backchannelLogout: { enabled: true },
      // User codes as the tenant's device_flow settings say (Auth0's default: eight letters without vowels, XXXX-XXXX).
      deviceFlow: deviceFlowFeature(settings, devicePages(env, settings)),
      ciba: cibaFeature(env, clients),
      // Nonces are stateless (an HMAC of the time under this secret), so every node accepts every node's.
      // Public applications must use one at the token endpoint, as at Auth0.
      dPoP: {
        enabled: true,
        nonceSecret: Buffer.from(env.box.derive('postern dpop nonces'), 'base64url'),
        requireNonce: (ctx: any) => ctx.oidc?.route === 'token' && ctx.oidc.client?.clientAuthMethod === 'none',
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (ctx) => {
          const p: any = ctx.oidc.params ?? {};
          if (p.resource) return p.resource;
          if (ctx.oidc.route !== 'authorization' && ctx.oidc.route !== 'resume') return undefined as any;
          return p.audience || (await settings.load()).default_audience || undefined as any;
        },
        useGrantedResource: () => true,
        getResourceServerInfo: resourceInfo,
      },
    },
    formats: { customizers: { jwt: (ctx, token, jwt) => customizeJwt(deps, postLogin, ctx, token, jwt as any) } },
    pkce: { required: (_ctx, client) => client.tokenEndpointAuthMethod === 'none' },
    findAccount: findAccount as any,
    fetch: engineFetch as any,
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
      ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
      ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Error</title></head><body><main><h1>Something went wrong</h1><p><strong>${esc(out.error)}</strong>: ${esc(out.error_description)}</p></main></body></html>`;
    },
  };
  const provider = new Provider(env.issuer, config);
  if (env.config.http) provider.proxy = true;
  memoizeClientFind(provider, metadataFor);
  relaxImplicitLocalhost(provider);
  persistGrantOrganization(provider);
  postLogin.install(provider);
  // Auth0 puts the session id into every ID token.
  (provider as any).Client.prototype.includeSid = () => true;
  // ...and it is the session's own id, the one the Management API shows
  // (Session.uid), not the engine's random per-application value.
  (provider as any).Session.prototype.ensureClientContainer = function (this: any, clientId: string) {
    if (!this.sidFor(clientId)) this.sidFor(clientId, this.uid);
  };
  installRedirectUriRule(provider, (c) => c.callbacks ?? c.redirectUris ?? [], (c) => c.allowed_logout_urls ?? []);
  provider.registerResponseMode('web_message', webMessage);
  const userTokens = { env, apis, clients, settings, resourceInfo, findAccount, postLogin };
  registerPasswordGrants(provider, userTokens);
  registerPasswordlessGrant(provider, userTokens);
  registerMfaGrants(provider, userTokens);
  registerTokenExchangeGrant(provider, userTokens);
  registerPasskeyGrant(provider, userTokens);
  registerLegacyRoGrants(provider, userTokens);
  registerLegacyDelegationGrants(provider, userTokens);
  keepErrorFields(provider);
  // RP-initiated logout reaches the tenant log as /v2/logout does.
  provider.on('end_session.success', (ctx: any) => env.events.record({
    ...requestFacts(ctx), type: 'slo', description: 'User successfully logged out',
    user_id: ctx.oidc.session?.accountId, client_id: ctx.oidc.client?.clientId,
  }));
  return provider;
}

/**
 * The engine finds an adapter client's instance by hashing the JSON of its
 * metadata on every lookup. Our metadata objects already change exactly when
 * the application does, so the instance is remembered per object instead.
 */
function memoizeClientFind(provider: any, metadataFor: (id: string) => Promise<object | undefined>) {
  const Client = provider.Client;
  const find = Client.find;
  const instances = new WeakMap<object, unknown>();
  Client.find = async function (id: unknown) {
    const m = typeof id === 'string' && id ? await metadataFor(id) : undefined;
    if (!m) return find.call(this, id);
    let client = instances.get(m);
    if (!client) {
      client = await find.call(this, id);
      if (client) instances.set(m, client);
    }
    return client;
  };
}

/** Auth0 lets implicit-capable applications use http://localhost callbacks; the engine's schema would refuse them. */
function relaxImplicitLocalhost(provider: any) {
  const proto = provider.Client.Schema.prototype;
  const invalidate = proto.invalidate;
  proto.invalidate = function (message: string, code?: string) {
    if (code === 'implicit-force-https' || code === 'implicit-forbid-localhost') return;
    return invalidate.call(this, message, code);
  };
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
  readonly settings: TenantSettingsCache;

  constructor(readonly env: Env) {
    this.clients = new ClientCache(env);
    this.apis = new ResourceServerCache(env);
    this.settings = new TenantSettingsCache(env);
    this.rebuild();
  }

  rebuild() {
    this.settings.clear();
    this.provider = buildProvider({ env: this.env, clients: this.clients, apis: this.apis, settings: this.settings });
    const settings = this.settings;
    const loadSettings: Koa.Middleware = async (_ctx, next) => { await settings.load(); return next(); };
    this.run = compose([loadSettings, jwtUserinfo(this.env, this.provider), revokeParams, activatePrefill, loginTicketPrompt, this.provider.middleware as any]);
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
