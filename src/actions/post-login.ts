import { errors } from 'oidc-provider';
import type { Env } from '../tenant/env.ts';
import { updateUser, userJson } from '../tenant/users.ts';
import { listUserRoleIds } from '../store/rbac-store.ts';
import type { ActionEffects, Outcome, SandboxAction } from './sandbox.ts';
import { clientPart, requestPart, tenantPart, words } from './event-parts.ts';
import { failureOf } from './runtime.ts';
import { executionDetails } from './executions.ts';
import { requestFacts } from '../tenant/logs.ts';
import { rememberUserinfoClaims, userinfoClaims } from './userinfo-claims.ts';
import type { ActionMfa } from '../tenant/mfa-policy.ts';
import { continueUrl } from '../samlp/engine-login.ts';
import { continueUrl as wsfedContinueUrl } from '../wsfed/urls.ts';
import { mergeOverrides, sealOverrides, type SamlOverrides } from '../samlp/action-overrides.ts';

// The post-login trigger: the event Auth0 gives its actions, and what their
// outcome does to the login. It runs before the engine issues an authorization
// code or implicit tokens (interactive and silent logins alike), and on refresh
// and password grants, as Auth0 runs it; see oidc/action-claims.ts for where.
// An action may send the browser away (api.redirect); the login then resumes
// at /continue (login/continue.ts).

/** What the tokens of this login get from its actions; `redirect` when one sent the browser away first. */
export interface LoginClaims {
  id?: Record<string, unknown>; at?: Record<string, unknown>; add?: string[]; remove?: string[]; executions?: string[];
  redirect?: PendingRedirect;
  /** What an action asked of MFA (api.multifactor.enable); the last run's word wins. */
  mfa?: ActionMfa;
  /** What api.samlResponse set, kept for a SAML2 Web App login only. */
  saml?: SamlOverrides;
}
/** Where an action sent the browser, and which action resumes at /continue. */
export interface PendingRedirect { url: string; query: Record<string, string>; actionId: string }

/** What a post-login event is made of: the engine's request, or a login back at /continue after a redirect. */
export interface LoginFacts {
  userId: string; params: Record<string, any>; clientId?: string; clientName?: string; orgId?: string;
  authTime?: number; sessionId?: string; protocol: string; token: boolean;
  request: ReturnType<typeof requestPart>;
  /** Where the browser comes back after a redirect (the interaction's id), when this login can redirect. */
  redirectState?: string; canRedirect: boolean;
}

const PROTOCOLS: Record<string, string> = {
  refresh_token: 'oauth2-refresh-token', password: 'oauth2-password',
  'http://auth0.com/oauth/grant-type/password-realm': 'oauth2-password',
  'http://auth0.com/oauth/grant-type/passwordless/otp': 'oauth2-password',
  'urn:ietf:params:oauth:grant-type:token-exchange': 'oauth2-token-exchange',
};
/** A login for the device flow, at /activate: the engine's routes, or the interaction that continues it. */
const DEVICE_PROTOCOL = 'oauth2-device-code';
const DEVICE_ROUTES = new Set(['code_verification', 'device_resume']);

function protocolOf(params: Record<string, any>, token: boolean): string {
  if (token) return PROTOCOLS[params.grant_type] ?? 'oauth2-access-token';
  const types = words(params.response_type);
  if (types.length === 1 && types[0] === 'code') return 'oidc-basic-profile';
  return types.includes('code') ? 'oidc-hybrid-profile' : 'oidc-implicit-profile';
}

/** The facts of a login the engine is handling (authorization, or a refresh or password grant). */
export function engineFacts(ctx: any, userId: string): LoginFacts {
  const o = ctx.oidc;
  const params = o.params ?? {};
  const token = o.route === 'token';
  return {
    userId, params, clientId: o.client?.clientId, clientName: o.client?.clientName,
    orgId: o.grant?.organization?.org_id ?? o.entities?.RefreshToken?.organization ?? params.organization,
    authTime: o.session?.authTime?.() ?? o.entities?.RefreshToken?.authTime, sessionId: o.session?.uid,
    protocol: DEVICE_ROUTES.has(o.route) ? DEVICE_PROTOCOL : protocolOf(params, token), token, request: requestPart(ctx, params, token ? 'body' : 'query'),
    // Only a browser (at /authorize or /activate) can be sent away, and not when the application asked for no prompt.
    canRedirect: !token && !words(params.prompt).includes('none'),
  };
}

/** The facts of a login back at /continue: its interaction, and the parameters the browser brought back. */
export function interactionFacts(ctx: any, interaction: any, given: Record<string, unknown>, clientName?: string): LoginFacts {
  const params = interaction.params ?? {};
  return {
    userId: interaction.session?.accountId, params, clientId: params.client_id, clientName, orgId: params.organization,
    authTime: interaction.session?.authTime, sessionId: interaction.session?.uid, protocol: interaction.deviceCode ? DEVICE_PROTOCOL : protocolOf(params, false), token: false,
    request: requestPart(ctx, given, ctx.method === 'POST' ? 'body' : 'query'), redirectState: interaction.uid, canRedirect: true,
  };
}

async function roleNames(env: Env, userId: string): Promise<string[]> {
  const { ids } = await listUserRoleIds(env.store, userId, { offset: 0, limit: 1000 }, false);
  return (await env.store.roles.getMany(ids)).map((r) => r.data.name);
}

/** A login for the SAML2 Web App addon: its authorization comes back to the addon's own redirect URI (samlp/engine-login.ts). */
const isSamlLogin = (env: Env, f: LoginFacts) => !f.token && Boolean(f.clientId) && f.params.redirect_uri === continueUrl(env, f.clientId!);
/** A WS-Federation login, likewise at its own redirect URI (wsfed/signin.ts); its token is a SAML assertion too. */
const isWsfedLogin = (env: Env, f: LoginFacts) => !f.token && Boolean(f.clientId) && f.params.redirect_uri === wsfedContinueUrl(env, f.clientId!);

async function buildEvent(env: Env, f: LoginFacts) {
  const row = (await env.store.getUser(f.userId))!;
  const user = userJson(row);
  const identity = user.identities?.[0] ?? {};
  const params = f.params;
  const [client, roles, connection, org] = await Promise.all([
    f.clientId ? env.store.clients.get(f.clientId) : undefined,
    roleNames(env, f.userId),
    identity.connection ? env.store.connections.findBy('name', identity.connection) : undefined,
    typeof f.orgId === 'string' ? env.store.organizations.get(f.orgId) : undefined,
  ]);
  const audience = params.resource ?? params.audience;
  return {
    user: { ...user, app_metadata: user.app_metadata ?? {}, user_metadata: user.user_metadata ?? {} },
    authorization: { roles },
    client: clientPart(f.clientId, client?.data),
    connection: connection
      ? { id: connection.id, name: connection.data.name, strategy: connection.data.strategy, metadata: connection.data.metadata ?? {} }
      : { id: undefined, name: identity.connection, strategy: identity.provider },
    ...(org ? { organization: { id: org.id, name: org.data.name, display_name: org.data.display_name ?? org.data.name, metadata: org.data.metadata ?? {} } } : {}),
    request: f.request,
    transaction: {
      protocol: isSamlLogin(env, f) ? 'samlp' : isWsfedLogin(env, f) ? 'wsfed' : f.protocol, requested_scopes: words(params.scope), redirect_uri: params.redirect_uri,
      response_type: words(params.response_type), response_mode: params.response_mode, state: params.state,
      prompt: words(params.prompt), acr_values: words(params.acr_values), ui_locales: words(params.ui_locales), locale: 'en',
      login_hint: params.login_hint, ...(params.organization ? { organization: { id: org?.id, name: org?.data.name } } : {}),
    },
    ...(audience ? { resource_server: { identifier: String(audience) } } : {}),
    authentication: {
      methods: [{ name: identity.provider === 'auth0' ? 'pwd' : 'federated', timestamp: new Date((f.authTime ?? Math.floor(Date.now() / 1000)) * 1000).toISOString() }],
    },
    ...(f.sessionId ? { session: { id: f.sessionId } } : {}),
    stats: { logins_count: row.logins_count ?? 0 },
    tenant: tenantPart(env),
  };
}

/** Saves the metadata the actions set: one PATCH, with Auth0's merge (null removes a key). */
async function saveMetadata(env: Env, userId: string, e: ActionEffects) {
  const body: Record<string, unknown> = {};
  if (Object.keys(e.appMetadata).length) body.app_metadata = e.appMetadata;
  if (Object.keys(e.userMetadata).length) body.user_metadata = e.userMetadata;
  if (Object.keys(body).length) await updateUser(env, userId, body);
}

/** Claims of two runs of one login (before and after a redirect), in order. */
function mergeClaims(a: LoginClaims, b: LoginClaims): LoginClaims {
  const obj = (x?: Record<string, unknown>, y?: Record<string, unknown>) => (x || y ? { ...x, ...y } : undefined);
  const list = (x?: string[], y?: string[]) => (x || y ? [...(x ?? []), ...(y ?? [])] : undefined);
  const out: LoginClaims = { id: obj(a.id, b.id), at: obj(a.at, b.at), add: list(a.add, b.add), remove: list(a.remove, b.remove), executions: list(a.executions, b.executions), redirect: b.redirect, mfa: b.mfa ?? a.mfa, saml: mergeOverrides(a.saml, b.saml) };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
}

/**
 * What a run of the post-login actions does to its login: a denial or an
 * error throws AccessDenied (which the engine turns into `error=access_denied`);
 * otherwise the metadata is saved and the claims for the tokens answered, with
 * the pending redirect when an action sent the browser away.
 */
async function conclude(env: Env, ctx: any, f: LoginFacts, actions: SandboxAction[], out: Outcome & { executionId: string }, earlier: LoginClaims = {}): Promise<LoginClaims> {
  // Auth0 ends the login at the application's callback with the reason.
  const reason = failureOf(out) ?? out.effects.deny;
  if (reason !== undefined) {
    // A grant's failure has its own event (token-endpoint.ts); a login's is an `f`, as in Auth0.
    if (!f.token) {
      env.events.record({
        ...requestFacts(ctx), ...executionDetails(ctx), type: 'f', description: reason, user_id: f.userId,
        client_id: f.clientId, client_name: f.clientName,
      });
    }
    throw new errors.AccessDenied(reason);
  }
  await saveMetadata(env, f.userId, out.effects);
  const e = out.effects;
  const claims = mergeClaims(earlier, {
    ...(Object.keys(e.idToken).length ? { id: e.idToken } : {}),
    ...(Object.keys(e.accessToken).length ? { at: e.accessToken } : {}),
    ...(e.addScopes.length ? { add: e.addScopes } : {}),
    ...(e.removeScopes.length ? { remove: e.removeScopes } : {}),
    // An authorization code carries these to its exchange, whose log event names them.
    executions: [out.executionId],
    ...(e.multifactor ? { mfa: e.multifactor } : {}),
    // api.samlResponse changes nothing of any other login.
    ...(isSamlLogin(env, f) || isWsfedLogin(env, f) ? { saml: sealOverrides(env, e.samlResponse) } : {}),
    // The action that redirected is the last that ran; it resumes at /continue.
    ...(e.redirect ? { redirect: { ...e.redirect, actionId: actions[out.results.length - 1].id } } : {}),
  });
  if (!claims.redirect && f.clientId) await rememberUserinfoClaims(env, f.userId, f.clientId, claims.id ?? {});
  return claims;
}

/** Runs the post-login actions of a login the engine is handling; see conclude for the outcome. */
export async function runPostLogin(env: Env, ctx: any, userId: string): Promise<LoginClaims> {
  const actions = await env.actions.forTrigger('post-login');
  if (!actions.length) {
    // A login with nothing bound leaves /userinfo without the custom claims of an earlier one.
    const clientId = ctx.oidc.client?.clientId;
    const row = ctx.oidc.account?.row;
    if (ctx.oidc.route !== 'token' && clientId && (!row || Object.keys(userinfoClaims(row, clientId)).length)) {
      await rememberUserinfoClaims(env, userId, clientId, {});
    }
    return {};
  }
  const f = engineFacts(ctx, userId);
  const out = await env.actions.execute('post-login', actions, await buildEvent(env, f), ctx, { redirect: { can: f.canRedirect } });
  return conclude(env, ctx, f, actions, out);
}

/**
 * A login back at /continue after an action's redirect: that action resumes
 * (onContinuePostLogin), then the ones bound after it run. `earlier` is what
 * the run before the redirect gave. The browser can be sent away again.
 */
export async function continuePostLogin(env: Env, ctx: any, f: LoginFacts, pending: PendingRedirect, earlier: LoginClaims): Promise<LoginClaims> {
  const bound = await env.actions.forTrigger('post-login');
  const at = bound.findIndex((a) => a.id === pending.actionId);
  if (at < 0) throw new errors.AccessDenied('The action that redirected this login is no longer bound to post-login.');
  const actions = bound.slice(at);
  const out = await env.actions.execute('post-login', actions, await buildEvent(env, f), ctx, { resuming: true, redirect: { can: f.canRedirect, state: f.redirectState } });
  return conclude(env, ctx, f, actions, out, earlier);
}
