import type Koa from 'koa';
import { errors } from 'oidc-provider';
import type { Env } from '../tenant/env.ts';
import type { Engine } from './provider.ts';
import type { ClientCache } from './clients.ts';
import { OAuthError } from './errors.ts';
import { requestFacts } from '../tenant/logs.ts';
import { AUTH0_PATHS } from './paths.ts';
import { POLLED_GRANTS, POLL_INTERVAL, startEndpoint } from './polling.ts';
import { sendApprovalMail } from '../login/ciba.ts';

// Client-Initiated Backchannel Authentication as Auth0 runs it, on the
// engine's `ciba` feature (poll mode): POST /bc-authorize with Auth0's
// login_hint, binding message and expiry rules, Auth0's polling (polling.ts),
// and the person's side (login/ciba.ts). Of Auth0's two notification
// channels, Postern delivers `email`; `guardian-push` needs Auth0's Guardian
// app, so a request that can only go that way is refused.

export const CIBA_GRANT = 'urn:openid:params:grant-type:ciba';
POLLED_GRANTS.set(CIBA_GRANT, {
  model: 'BackchannelAuthenticationRequest', param: 'auth_req_id', pending: 'The end-user authorization is pending',
  expired: 'The auth_req_id has expired.', invalid: 'Invalid or expired auth_req_id.', denied: 'The end-user denied the authorization request',
});

/** Auth0's default expiry, and its longest by email (a push allows 300 seconds at most). */
export const CIBA_DEFAULT_EXPIRY = 300;
const MAX_EMAIL_EXPIRY = 259_200;
/** Auth0's binding messages: up to 64 of these characters. */
const BINDING_MESSAGE = /^[A-Za-z0-9 +\-_.,:#]{1,64}$/;

/** Auth0 keeps CIBA to first-party, confidential applications that list its grant. */
export function cibaAllowed(data: any): boolean {
  return Array.isArray(data?.grant_types) && data.grant_types.includes(CIBA_GRANT)
    && data.is_first_party !== false && data.token_endpoint_auth_method !== 'none' && data.oidc_conformant !== false;
}

/** The channels an application's requests may reach people through (Auth0's default is Guardian push alone). */
export const channelsOf = (data: any): string[] =>
  Array.isArray(data?.async_approval_notification_channels) && data.async_approval_notification_channels.length
    ? data.async_approval_notification_channels : ['guardian-push'];

const refuse = (description: string) => new errors.InvalidRequest(description);

/** The engine's `features.ciba` hooks. */
export function cibaFeature(env: Env, clients: ClientCache) {
  return {
    enabled: true,
    deliveryModes: ['poll'],
    /** Auth0's login_hint: `{"format":"iss_sub","iss":"https://{domain}/","sub":"<user_id>"}`, for a user the request can reach. */
    async processLoginHint(ctx: any, hint: string): Promise<string | undefined> {
      let parsed: any;
      try { parsed = JSON.parse(hint); } catch { throw refuse('login_hint must be a JSON object'); }
      if (parsed?.format !== 'iss_sub') throw refuse('login_hint format must be iss_sub');
      if (parsed.iss !== env.issuer) throw refuse(`login_hint iss must be ${env.issuer}`);
      if (typeof parsed.sub !== 'string' || !parsed.sub) throw refuse('login_hint sub must be a user id');
      const user = await env.store.getUser(parsed.sub);
      if (!user) return undefined;
      const client = await clients.get(ctx.oidc.client.clientId);
      const channels = channelsOf(client?.data);
      if (!channels.includes('email')) {
        throw refuse('The application can only notify users by Guardian push, which this server does not offer; add "email" to its async_approval_notification_channels');
      }
      if (!user.email || !user.email_verified) throw refuse('The user has no verified email address to notify');
      return user.user_id;
    },
    async verifyUserCode(_ctx: unknown, _account: unknown, userCode?: string) {
      if (userCode) throw refuse('user_code is not supported');
    },
    async validateBindingMessage(_ctx: unknown, message?: string) {
      if (message === undefined || message === '') throw refuse('Missing required parameter: binding_message');
      if (!BINDING_MESSAGE.test(message)) {
        throw new errors.InvalidBindingMessage('binding_message must be 1 to 64 characters: letters, digits, spaces and +-_.,:#');
      }
    },
    async validateRequestContext() {},
    async processLoginHintToken() { throw refuse('login_hint_token is not supported'); },
    async triggerAuthenticationDevice(ctx: any, request: any, account: any, client: any) {
      env.events.record({
        ...requestFacts(ctx), type: 'ciba_start_succeeded', description: 'Successful CIBA Start',
        client_id: client.clientId, client_name: client.clientName, user_id: account.accountId,
      });
      // The answer does not wait on mail delivery; a failure is logged, and the request simply expires.
      sendApprovalMail(env, request, account.row, client).catch((e) =>
        env.log.error({ err: { message: (e as Error).message } }, 'sending the CIBA approval mail failed'));
    },
  };
}

/** How long a request lives: what the application asked for, else Auth0's default. */
export const cibaTtl = (ctx: any) => Number(ctx?.oidc?.params?.requested_expiry) || CIBA_DEFAULT_EXPIRY;

/**
 * POST /bc-authorize in front of the engine: node-auth0's old `request_expiry`
 * name, and Auth0's answer, which adds `interval`.
 */
export function backchannelAuthenticationEndpoint(env: Env, engine: Engine): Koa.Middleware {
  return startEndpoint(env, engine, {
    path: AUTH0_PATHS.backchannel_authentication,
    failed: { type: 'ciba_start_failed', description: 'CIBA start failed' },
    prepare: (params) => {
      if (params.request_expiry !== undefined && params.requested_expiry === undefined) params.requested_expiry = params.request_expiry;
      delete params.request_expiry;
      if (params.requested_expiry !== undefined && !/^[1-9]\d{0,8}$/.test(params.requested_expiry)) {
        throw new OAuthError(400, 'invalid_request', `requested_expiry must be between 1 and ${MAX_EMAIL_EXPIRY}`);
      }
      // Rich authorization requests are not enabled in the engine, which would drop them unseen.
      if (params.authorization_details !== undefined) throw new OAuthError(400, 'invalid_request', 'authorization_details is not supported');
    },
    answer: (body) => body?.auth_req_id && { auth_req_id: body.auth_req_id, expires_in: body.expires_in, interval: POLL_INTERVAL },
    refusal: (ctx, body) => {
      if (body.error === 'unauthorized_client' || (body.error === 'invalid_request' && /not allowed for this client/.test(body.error_description ?? ''))) {
        ctx.status = 403;
        ctx.body = { error: 'unauthorized_client', error_description: `Grant type '${CIBA_GRANT}' not allowed for the client.` };
      }
    },
  });
}
