import type Router from '@koa/router';
import type Koa from 'koa';
import { readParams } from '../lib/body.ts';
import { ApiError } from '../lib/errors.ts';
import { ids } from '../lib/ids.ts';
import type { Env } from '../tenant/env.ts';
import type { Engine } from '../oidc/provider.ts';
import { requestFacts } from '../tenant/logs.ts';
import { OAuthError, sendOAuthError } from '../oidc/errors.ts';
import { allowOrigin, preflight } from '../oidc/cors.ts';
import { passkeyClient, passkeyConnection, refuseOrganization } from '../oidc/passkeys.ts';
import { isEmail } from '../connections/passwordless.ts';
import { openPasskeySession, type SignupProfile } from '../tenant/passkey-sessions.ts';
import { creationOptions, newChallenge, requestOptions } from '../tenant/passkeys.ts';

// Auth0's passkey challenges: POST /passkey/register (a signup's creation
// options) and POST /passkey/challenge (a login's request options), each with
// the auth_session the webauthn grant (oidc/grants-passkey.ts) then spends.

const PROFILE: (keyof SignupProfile)[] = ['email', 'phone_number', 'username', 'name', 'given_name', 'family_name', 'nickname', 'picture'];
const invalid = (description: string) => new OAuthError(400, 'invalid_request', description);

/** A JSON object, or (from a form) its JSON text. */
function objectParam(raw: unknown, name: string): Record<string, unknown> | undefined {
  if (raw === undefined || raw === '') return undefined;
  let v = raw;
  if (typeof v === 'string') { try { v = JSON.parse(v); } catch { throw invalid(`${name} must be an object`); } }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw invalid(`${name} must be an object`);
  return v as Record<string, unknown>;
}

function signupProfile(raw: unknown): SignupProfile {
  const given = objectParam(raw, 'user_profile');
  if (!given) throw invalid('Missing required parameter: user_profile');
  const profile: SignupProfile = {};
  for (const [k, v] of Object.entries(given)) {
    if (!PROFILE.includes(k as keyof SignupProfile)) throw invalid(`user_profile.${k} is not a signup attribute`);
    if (typeof v !== 'string') throw invalid(`user_profile.${k} must be a string`);
    if (v.trim()) profile[k as keyof SignupProfile] = v.trim();
  }
  if (profile.email && (!isEmail(profile.email) || profile.email.length > 320)) throw invalid('invalid email address');
  return profile;
}

function userMetadata(raw: unknown): Record<string, string> | undefined {
  const v = objectParam(raw, 'user_metadata');
  if (v && !Object.values(v).every((x) => typeof x === 'string')) throw invalid('user_metadata values must be strings');
  return v as Record<string, string> | undefined;
}

/** Whether the profile names someone the connection already has. */
async function taken(env: Env, connection: string, p: SignupProfile): Promise<boolean> {
  if (p.email && await env.store.userByConnectionEmail(connection, p.email)) return true;
  return Boolean(p.username && await env.store.usersQuery({ linked: true }).select('user_id')
    .where('connection', '=', connection).where('username', '=', p.username).executeTakeFirst());
}

async function register(env: Env, engine: Engine, ctx: Koa.Context, body: Record<string, any>) {
  const client = await passkeyClient(env, engine.clients, body);
  refuseOrganization(body.organization);
  const conn = await passkeyConnection(env, engine.settings, client.id, body.realm);
  const profile = signupProfile(body.user_profile);
  const user_metadata = userMetadata(body.user_metadata);
  // The identifiers createUser will require, asked for now rather than after the ceremony.
  if (conn.data.options?.requires_username && !profile.username) throw invalid('Missing required property: user_profile.username');
  if (!profile.email && !(conn.data.options?.requires_username && profile.username)) throw invalid('Missing required property: user_profile.email');
  if (conn.data.options?.disable_signup) throw new OAuthError(403, 'access_denied', 'Public signup is disabled');
  if (await taken(env, conn.data.name, profile)) throw invalid('The user already exists.');
  const session = {
    kind: 'signup' as const, client_id: client.id, connection: conn.data.name, challenge: newChallenge(),
    user_id: `auth0|${ids.user()}`, profile, ...(user_metadata ? { user_metadata } : {}),
  };
  const rpName = (await engine.settings.load()).friendly_name || new URL(env.issuer).hostname;
  return { conn, body: { auth_session: await openPasskeySession(env, session), authn_params_public_key: creationOptions(env, rpName, session) } };
}

async function challenge(env: Env, engine: Engine, _ctx: Koa.Context, body: Record<string, any>) {
  const client = await passkeyClient(env, engine.clients, body);
  refuseOrganization(body.organization);
  const conn = await passkeyConnection(env, engine.settings, client.id, body.realm);
  const session = { kind: 'login' as const, client_id: client.id, connection: conn.data.name, challenge: newChallenge() };
  return { conn, body: { auth_session: await openPasskeySession(env, session), authn_params_public_key: requestOptions(env, session.challenge) } };
}

type Step = (env: Env, engine: Engine, ctx: Koa.Context, body: Record<string, any>) => Promise<{ conn: { id: string; data: any }; body: object }>;

/** One challenge endpoint: its body, its answer or Auth0's error shape, and its log event. */
const endpoint = (env: Env, engine: Engine, step: Step): Koa.Middleware => async (ctx) => {
  let body: Record<string, any> = {};
  try {
    try { body = await readParams(ctx); } catch (e) { throw e instanceof ApiError ? invalid(e.message) : e; }
    if (!(await allowOrigin(ctx, env, body.client_id))) throw new OAuthError(403, 'access_denied', `Origin ${ctx.get('Origin')} is not allowed for this client.`);
    const { conn, body: answer } = await step(env, engine, ctx, body);
    env.events.record({
      ...requestFacts(ctx), type: 'passkey_challenge_started', description: 'A native passkey challenge was successfully initiated',
      client_id: body.client_id, connection: conn.data.name, connection_id: conn.id, strategy: 'auth0', strategy_type: 'database',
    });
    ctx.set('Cache-Control', 'no-store');
    ctx.body = answer;
  } catch (e) {
    if (!(e instanceof OAuthError)) throw e;
    env.events.record({ ...requestFacts(ctx), type: 'passkey_challenge_failed', description: e.description, client_id: typeof body.client_id === 'string' ? body.client_id : undefined });
    sendOAuthError(ctx, e);
  }
};

export function passkeyRoutes(router: Router, env: Env, engine: Engine) {
  router.options('/passkey/:operation', preflight('POST'));
  router.post('/passkey/register', endpoint(env, engine, register));
  router.post('/passkey/challenge', endpoint(env, engine, challenge));
}
