import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { ApiError } from '../lib/errors.ts';
import type { UserRow } from '../store/schema.ts';
import { accountFor } from '../tenant/account-linking.ts';
import { changeMfa } from '../tenant/authenticators.ts';
import { spendPasskeySession, type PasskeySession } from '../tenant/passkey-sessions.ts';
import { PasskeyRejected, assertedPasskey, passkeyOf, registeredPasskey, userIdOf, type Ceremony } from '../tenant/passkeys.ts';
import { requestFacts } from '../tenant/logs.ts';
import { RegistrationDenied, registerUser } from '../actions/registration.ts';
import { executionDetails } from '../actions/executions.ts';
import { attackRefusal, attemptFields, recordLogin, type LoginAttempt } from './account.ts';
import { Auth0GrantError, OAuthError } from './errors.ts';
import { demandSecondFactor } from './grants-mfa.ts';
import { endUserIp } from './grants-password.ts';
import { WEBAUTHN_GRANT, passkeyConnection, refuseOrganization } from './passkeys.ts';
import { issueUserTokens, type UserTokenDeps } from './user-tokens.ts';

// Auth0's passkey grant: the credential an authenticator made for the
// auth_session of /passkey/register (a signup: the user and their passkey are
// created) or of /passkey/challenge (a login: the assertion is checked against
// the user's stored passkey). Then the tokens, as the other user grants issue them.

type Credential = RegistrationResponseJSON & AuthenticationResponseJSON;
const invalid = (description: string) => new Auth0GrantError(400, 'invalid_request', description);
const rejected = (description: string) => new Auth0GrantError(403, 'invalid_grant', description);

/** The authn_response: a PublicKeyCredential in its JSON form, with what the session's ceremony answers. */
function credentialOf(raw: string, kind: PasskeySession['kind']): Credential {
  let c: any;
  try { c = JSON.parse(raw); } catch { throw invalid('authn_response must be a JSON object'); }
  if (!c || typeof c !== 'object' || Array.isArray(c)) throw invalid('authn_response must be a JSON object');
  for (const k of ['id', 'rawId']) if (typeof c[k] !== 'string' || !c[k]) throw invalid(`Missing required property: authn_response.${k}`);
  if (c.type !== 'public-key') throw invalid('authn_response.type must be public-key');
  if (!c.response || typeof c.response !== 'object') throw invalid('Missing required property: authn_response.response');
  const needed = kind === 'signup' ? ['clientDataJSON', 'attestationObject'] : ['clientDataJSON', 'authenticatorData', 'signature'];
  for (const k of needed) if (typeof c.response[k] !== 'string' || !c.response[k]) throw invalid(`Missing required property: authn_response.response.${k}`);
  return { ...c, clientExtensionResults: c.clientExtensionResults ?? {} };
}

/** What user-creation errors are at this grant. */
function signupRefusal(e: unknown): unknown {
  if (e instanceof RegistrationDenied) return new Auth0GrantError(403, 'access_denied', e.message);
  if (e instanceof ApiError && e.statusCode === 409) return invalid('The user already exists.');
  if (e instanceof ApiError && e.statusCode < 500) return invalid(e.message.replace(/^Payload validation error: /, ''));
  return e;
}

export function registerPasskeyGrant(provider: Provider, deps: UserTokenDeps) {
  const { env, settings, clients } = deps;

  async function signUp(ctx: any, s: Extract<PasskeySession, { kind: 'signup' }>, c: Ceremony & { client: { id: string; data: any } }, credential: Credential, conn: { id: string; data: any }) {
    const identityId = s.user_id.replace(/^auth0\|/, '');
    const passkey = await registeredPasskey(c, credential, { userId: s.user_id, identityId });
    let row: UserRow;
    try {
      row = await registerUser(env, { ctx, params: { client_id: s.client_id, realm: s.connection }, client: c.client },
        { connection: s.connection, ...s.profile, user_id: s.user_id, ...(s.user_metadata ? { user_metadata: s.user_metadata } : {}) }, { withoutPassword: true });
    } catch (e) {
      throw signupRefusal(e);
    }
    await changeMfa(env, row.user_id, (mfa) => ({ ...mfa, authenticators: [...mfa.authenticators, passkey] }));
    env.events.record({
      ...requestFacts(ctx), ...executionDetails(ctx), type: 'ss', description: 'Successful signup', user_id: row.user_id,
      user_name: row.email ?? row.username ?? undefined, client_id: s.client_id, client_name: c.client.data.name,
      connection: conn.data.name, connection_id: conn.id, strategy: 'auth0', strategy_type: 'database',
      details: { authentication_methods: ['passkey'] },
    });
    return row;
  }

  /** The user whose stored passkey made this assertion; a refusal is logged as a failed login (`f`). */
  async function logIn(c: Ceremony, credential: Credential, connection: string, attempt: LoginAttempt) {
    const userId = userIdOf(credential);
    const found = userId ? await env.store.getUser(userId, { linked: true }) : undefined;
    const identity = found?.connection === connection ? found : undefined;
    const who = { ...attempt, identifier: identity?.email ?? identity?.username ?? '' };
    const refusal = await attackRefusal(env, who, identity);
    if (refusal) throw new Auth0GrantError(429, 'too_many_attempts', refusal);
    const fail = (description: string) => {
      env.events.record({ ...attemptFields(who), type: 'f', description, user_id: identity?.user_id });
      return rejected(description);
    };
    const stored = identity && passkeyOf(identity, credential.id);
    if (!identity || !stored) throw fail('The passkey is not registered for a user of this connection.');
    try {
      await assertedPasskey(c, credential, identity.user_id, stored);
    } catch (e) {
      throw e instanceof PasskeyRejected ? fail(e.message) : e;
    }
    return identity;
  }

  provider.registerGrantType(WEBAUTHN_GRANT, async (ctx: any) => {
    const { params, client } = ctx.oidc;
    if (!params.auth_session || !params.authn_response) throw new errors.InvalidRequest('missing required parameter(s) (auth_session, authn_response)');
    try {
      refuseOrganization(params.organization);
      const session = await spendPasskeySession(env, String(params.auth_session));
      if (!session || session.client_id !== client.clientId) throw rejected('The auth_session is invalid, expired or already used.');
      if (params.realm && params.realm !== session.connection) throw rejected('The auth_session was issued for another realm.');
      const credential = credentialOf(String(params.authn_response), session.kind);
      const conn = await passkeyConnection(env, settings, client.clientId, session.connection);
      const cached = (await clients.get(client.clientId))!;
      const userAgent = ctx.get('user-agent') || undefined;
      const ceremony = { env, client: cached, challenge: session.challenge, userAgent };
      const attempt: LoginAttempt = {
        ip: endUserIp(ctx, client), userAgent, identifier: session.kind === 'signup' ? session.profile.email ?? session.profile.username ?? '' : '',
        client: { id: client.clientId, name: client.clientName }, connection: conn,
      };
      const identity = session.kind === 'signup'
        ? await signUp(ctx, session, ceremony, credential, conn)
        : await logIn(ceremony, credential, session.connection, attempt);
      const account = await accountFor(env, identity);
      if (!account || identity.blocked || account.blocked) throw new Auth0GrantError(401, 'unauthorized', 'user is blocked');
      await recordLogin(env, account, { ...attempt, identifier: identity.email ?? identity.username ?? attempt.identifier }, identity);
      const requested = new Set<string>(String(params.scope ?? '').split(' ').filter(Boolean));
      const audience: string | undefined = params.audience || params.resource || (await settings.load()).default_audience || undefined;
      await demandSecondFactor(deps, ctx, account, { client_id: client.clientId, scope: [...requested], audience, gty: 'passkey' });
      await issueUserTokens(provider, deps, ctx, account.user_id, { requested, audience, gty: 'passkey' });
    } catch (e) {
      if (e instanceof OAuthError) throw new Auth0GrantError(e.status, e.error, e.description);
      if (e instanceof PasskeyRejected) throw rejected(e.message);
      throw e;
    }
  }, ['auth_session', 'authn_response', 'realm', 'scope', 'audience', 'resource', 'organization']);
}
