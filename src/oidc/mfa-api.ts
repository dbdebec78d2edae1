import Router from '@koa/router';
import type Koa from 'koa';
import { readParams } from '../lib/body.ts';
import { ApiError } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';
import { changeMfa, enrollmentIdOf, mfaOf, type Authenticator, type MfaState } from '../tenant/authenticators.ts';
import { channelOf, maskedAddress, newOobAuthenticator, sendOobCode } from '../tenant/mfa-oob.ts';
import { OFFERED, phoneChannelAllowed, usableAuthenticators, type Offered } from '../tenant/mfa-policy.ts';
import { firstRecoveryCode, mfaStateOf, pendingOtpEnrollment } from '../tenant/otp.ts';
import { loadUser } from '../tenant/users.ts';
import { secretMatches } from './clients.ts';
import { allowOrigin, preflight } from './cors.ts';
import { Auth0GrantError, OAuthError, sendOAuthError } from './errors.ts';
import { openMfaToken, type MfaContext } from './mfa-token.ts';
import { holdsScope, openMfaBearer, type MfaCaller } from './mfa-access-token.ts';
import type { MfaApiScope } from './mfa-audience.ts';
import { insufficientScope } from '../tenant/access-tokens.ts';
import type { Engine } from './provider.ts';

// Auth0's MFA API (/mfa/*): what the user has enrolled, enrolling an
// authenticator app, asking for a code, removing an authenticator. The caller
// holds the mfa_token of an mfa_required answer (a password login), or an
// access token for the MFA API's audience (mfa-audience.ts) with the
// operation's scope; /mfa/challenge takes only the mfa_token, as at Auth0.
// The code itself is then traded for tokens at /oauth/token (grants-mfa.ts).
// The factors are the authenticator app's one-time password (`otp`) and codes
// sent by SMS, voice call or email (`oob`, binding method `prompt`), with a
// recovery code beside them; push (`auth0` channel) is not offered.

export const MFA_API_PATHS = ['/mfa/'] as const;

const unsupported = (what: string) => new OAuthError(400, 'unsupported_challenge_type', `${what} is not offered: the tenant's enabled factors that Postern supports are an authenticator app (otp), SMS or voice (oob), and email (oob).`);
const ALREADY_ENROLLED = () => new OAuthError(403, 'access_denied', 'User is already enrolled.');
/** Tokens sealed before Postern offered several factors were for the app alone. */
const factorsOf = (mfa: MfaContext): Offered[] => mfa.factors ?? ['otp'];

/** Auth0's OAuth-style body for whatever a handler refuses with; anything else is a 500 for the outer boundary. */
function asOAuthError(e: unknown): OAuthError | undefined {
  if (e instanceof OAuthError) return e;
  if (e instanceof Auth0GrantError) return new OAuthError((e as any).status, (e as any).error, (e as any).error_description);
  if (e instanceof ApiError) return new OAuthError(e.statusCode, e.errorCode ?? 'invalid_request', e.message);
  return undefined;
}

type Handler = (ctx: Koa.Context) => Promise<void>;
const answering = (handler: Handler): Koa.Middleware => async (ctx) => {
  try {
    await handler(ctx);
  } catch (e) {
    const err = asOAuthError(e);
    if (!err) throw e;
    sendOAuthError(ctx, err);
  }
};

/**
 * The caller of `Authorization: Bearer` (an mfa_token or an MFA API access
 * token, mfa-access-token.ts); a bearer's refusals are 401s, as for any
 * bearer token, and an access token without the operation's scope is 403.
 */
async function bearerCaller(env: Env, ctx: Koa.Context, scope: MfaApiScope): Promise<MfaCaller> {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(ctx.get('authorization'));
  const refuse = (error: string, description: string) => {
    ctx.set('WWW-Authenticate', `Bearer error="${error}"`);
    return new OAuthError(401, error, description);
  };
  if (!m) throw refuse('invalid_token', 'An mfa_token or an access token for the MFA API is required in the Authorization header (Bearer).');
  let caller: MfaCaller;
  try {
    caller = await openMfaBearer(env, m[1]);
  } catch (e) {
    if (e instanceof ApiError && e.statusCode === 401) throw refuse('invalid_token', e.message);
    if (!(e instanceof Auth0GrantError)) throw e;
    throw refuse((e as any).error === 'expired_token' ? 'expired_token' : 'invalid_token', (e as any).error_description);
  }
  if (!holdsScope(caller, scope)) {
    ctx.set('WWW-Authenticate', `Bearer error="insufficient_scope", scope="${scope}"`);
    throw insufficientScope([scope]);
  }
  const user = await env.store.getUser(caller.sub);
  if (!user || user.blocked) throw refuse('invalid_token', `The user of this ${caller.accessToken ? 'access token' : 'mfa_token'} no longer exists or is blocked.`);
  return caller;
}

/** A browser's request is answered only for an origin the application allows (auth0-spa-js calls /mfa/* across origins). */
async function originAllowed(env: Env, ctx: Koa.Context, clientId: string) {
  if (!(await allowOrigin(ctx, env, clientId))) throw new OAuthError(403, 'access_denied', `Origin ${ctx.get('Origin')} is not allowed for this client.`);
}

/** An operation of the MFA API, for either bearer; `scope` is what an access token needs for it. */
const withBearer = (env: Env, scope: MfaApiScope, handler: (ctx: Koa.Context, mfa: MfaCaller) => Promise<void>) =>
  answering(async (ctx) => {
    const mfa = await bearerCaller(env, ctx, scope);
    await originAllowed(env, ctx, mfa.client_id);
    await handler(ctx, mfa);
  });

/** The MFA API names a phone `sms|dev_…` (or `voice|dev_…`) where the Management API says `phone|dev_…`. */
const apiId = (a: Authenticator) => (a.type === 'phone' ? `${channelOf(a)}|${enrollmentIdOf(a)}` : a.id);
const sameAuthenticator = (a: Authenticator, id: string) => a.id === id || apiId(a) === id;

/** How Auth0's MFA API lists one authenticator; undefined for kinds it does not list (WebAuthn, passkeys). */
function listed(a: Authenticator) {
  switch (a.type) {
    case 'totp': return { id: a.id, authenticator_type: 'otp', active: true };
    case 'recovery-code': return { id: a.id, authenticator_type: 'recovery-code', active: true };
    case 'phone': case 'email': return { id: apiId(a), authenticator_type: 'oob', active: true, oob_channel: channelOf(a), name: maskedAddress(a) };
    default: return undefined;
  }
}

function authenticatorList(mfa: MfaState) {
  const out: object[] = mfa.authenticators.map(listed).filter((a) => a !== undefined);
  // An app enrolled but not yet proven with a code.
  if (mfa.pending_totp) out.push({ id: mfa.pending_totp.id, authenticator_type: 'otp', active: false });
  return out;
}

/** A list parameter: a JSON array, or one value (a form field). */
function listParam(v: unknown, name: string): string[] {
  const list = Array.isArray(v) ? v : typeof v === 'string' && v ? [v] : [];
  if (!list.length || !list.every((x) => typeof x === 'string')) throw new OAuthError(400, 'invalid_request', `${name} must be a non-empty list of strings.`);
  return list;
}

const required = (body: Record<string, any>, name: string): string => {
  const v = body[name];
  if (typeof v !== 'string' || !v) throw new OAuthError(400, 'invalid_request', `Missing required parameter: ${name}`);
  return v;
};

export function mfaApi(env: Env, engine: Engine): Router {
  const router = new Router();
  router.options('/mfa/{*rest}', preflight('GET, POST, DELETE'));

  router.get('/mfa/authenticators', withBearer(env, 'read:authenticators', async (ctx, mfa) => {
    ctx.body = authenticatorList(await mfaStateOf(env, mfa.sub));
  }));

  const withRecoveryCode = async (userId: string) => {
    const code = await firstRecoveryCode(env, userId);
    return code ? { recovery_codes: [code] } : {};
  };

  router.post('/mfa/associate', withBearer(env, 'enroll', async (ctx, mfa) => {
    // An mfa_token enrolls a first factor only: with one enrolled, a password alone must not add another.
    if (!mfa.accessToken && usableAuthenticators(mfaOf(await loadUser(env, mfa.sub)), OFFERED).length) throw ALREADY_ENROLLED();
    const body = await readParams(ctx);
    const types = listParam(body.authenticator_types, 'authenticator_types');
    if (types.length !== 1 || (types[0] !== 'otp' && types[0] !== 'oob')) throw unsupported(`authenticator_types ${types.join(', ')}`);
    ctx.set('Cache-Control', 'no-store');
    if (types[0] === 'oob') {
      ctx.body = await associateOob(ctx, mfa, body);
      return;
    }
    if (!factorsOf(mfa).includes('otp')) throw unsupported('otp');
    const issuer = (await engine.settings.load()).friendly_name || env.config.domain;
    // A new secret each time: an app scanned from an earlier, unconfirmed associate is left behind.
    const enrollment = await pendingOtpEnrollment(env, mfa.sub, { issuer, fresh: true });
    if (!enrollment) throw ALREADY_ENROLLED();
    ctx.body = { authenticator_type: 'otp', secret: enrollment.secret, barcode_uri: enrollment.uri, ...(await withRecoveryCode(mfa.sub)) };
  }));

  /** Sends the first code to a phone number or address; it is enrolled when that code comes back (mfa-oob grant). */
  async function associateOob(ctx: Koa.Context, mfa: MfaCaller, body: Record<string, any>) {
    const channels = listParam(body.oob_channels, 'oob_channels');
    const channel = channels[0];
    if (channels.length !== 1 || (channel !== 'sms' && channel !== 'voice' && channel !== 'email')) throw unsupported(`oob_channels ${channels.join(', ')}`);
    const factor: Offered = channel === 'email' ? 'email' : 'sms';
    if (!factorsOf(mfa).includes(factor) || (channel !== 'email' && !(await phoneChannelAllowed(env, channel)))) throw unsupported(`oob channel ${channel}`);
    const user = await loadUser(env, mfa.sub);
    if (usableAuthenticators(mfaOf(user), [factor]).length) throw ALREADY_ENROLLED();
    const authenticator = newOobAuthenticator(channel, channel === 'email' ? body.email : body.phone_number);
    const client = await engine.clients.get(mfa.client_id);
    const oob_code = await sendOobCode(env, { user, authenticator, client, enrolling: true });
    return { authenticator_type: 'oob', oob_channel: channel, oob_code, binding_method: 'prompt', ...(await withRecoveryCode(mfa.sub)) };
  }

  router.post('/mfa/challenge', answering(async (ctx) => {
    const body = await readParams(ctx);
    const clientId = required(body, 'client_id');
    await originAllowed(env, ctx, clientId);
    if (body.client_secret !== undefined) {
      const client = await engine.clients.get(clientId);
      if (!client || !secretMatches(client, body.client_secret)) throw new OAuthError(401, 'access_denied', 'Unauthorized');
    }
    const mfa = openMfaToken(env, required(body, 'mfa_token'));
    if (mfa.client_id !== clientId) throw new OAuthError(403, 'invalid_grant', 'The mfa_token was issued to another application.');
    // A space-separated list of what the application can handle; none named means any.
    const accepted = typeof body.challenge_type === 'string' && body.challenge_type.trim() ? body.challenge_type.trim().split(/\s+/) : ['otp', 'oob'];
    if (!accepted.some((t) => t === 'otp' || t === 'oob')) throw unsupported(`challenge_type ${accepted.join(' ')}`);
    const user = await loadUser(env, mfa.sub);
    const usable = usableAuthenticators(mfaOf(user), factorsOf(mfa))
      .filter((a) => accepted.includes(a.type === 'totp' ? 'otp' : 'oob'))
      .filter((a) => body.oob_channel === undefined || a.type === 'totp' || channelOf(a) === body.oob_channel);
    const chosen = body.authenticator_id === undefined ? usable[0] : usable.find((a) => sameAuthenticator(a, String(body.authenticator_id)));
    if (!chosen) {
      if (body.authenticator_id !== undefined) throw new OAuthError(400, 'invalid_request', 'authenticator_id is not an authenticator of this user that this challenge can use.');
      throw new OAuthError(403, 'access_denied', 'User is not enrolled with an authenticator this challenge can use; enroll one with /mfa/associate.');
    }
    ctx.set('Cache-Control', 'no-store');
    // The app makes its code itself: nothing is sent, the code goes to the mfa-otp grant.
    if (chosen.type === 'totp') { ctx.body = { challenge_type: 'otp' }; return; }
    const client = await engine.clients.get(clientId);
    ctx.body = { challenge_type: 'oob', oob_code: await sendOobCode(env, { user, authenticator: chosen, client }), binding_method: 'prompt' };
  }));

  router.delete('/mfa/authenticators/:id', withBearer(env, 'remove:authenticators', async (ctx, mfa) => {
    const id = ctx.params.id;
    await changeMfa(env, mfa.sub, (state) => {
      if (state.pending_totp?.id === id) return { ...state, pending_totp: undefined };
      const kept = state.authenticators.filter((a) => !sameAuthenticator(a, id));
      if (kept.length === state.authenticators.length) throw new OAuthError(404, 'not_found', 'The authenticator does not exist.');
      return { ...state, authenticators: kept };
    });
    ctx.status = 204;
  }));

  return router;
}
