import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { UserRow } from '../store/schema.ts';
import type { Env } from '../tenant/env.ts';
import { mfaOf } from '../tenant/authenticators.ts';
import { MFA_API_UNAVAILABLE, MFA_UNAVAILABLE, factorOf, isMfaApiFactor, mfaNeed, usableAuthenticators, type MfaApiFactor } from '../tenant/mfa-policy.ts';
import { OtpRefused } from '../tenant/otp.ts';
import { OTP_FACTOR, RECOVERY_CODE_FACTOR, oobFactor, spendSecondFactor, type Factor } from '../tenant/second-factor.ts';
import { requestFacts } from '../tenant/logs.ts';
import { Auth0GrantError } from './errors.ts';
import { openMfaToken, sealMfaToken, type MfaContext } from './mfa-token.ts';
import { holdsScope, openMfaBearer, type MfaCaller } from './mfa-access-token.ts';
import { mfaApiNeed } from './mfa-audience.ts';
import { ApiError } from '../lib/errors.ts';
import { insufficientScope } from '../tenant/access-tokens.ts';
import { issueUserTokens, type UserTokenDeps } from './user-tokens.ts';

// The Resource Owner Password grant with a second factor, as Auth0's MFA API
// does it: the password grant answers `mfa_required` with an mfa_token, and
// the application trades that token and a code for the tokens through the
// grants below. The post-login actions ran once, at the password; their
// claims ride in the mfa_token to the tokens issued here.

export const MFA_OTP = 'http://auth0.com/oauth/grant-type/mfa-otp';
export const MFA_RECOVERY_CODE = 'http://auth0.com/oauth/grant-type/mfa-recovery-code';
export const MFA_OOB = 'http://auth0.com/oauth/grant-type/mfa-oob';

/** How mfa_requirements names each factor. */
const REQUIREMENT_TYPE: Record<MfaApiFactor, string> = { otp: 'otp', sms: 'phone', email: 'email' };

/**
 * After the password: the tokens wait for a second factor when the tenant's
 * policy or a post-login action asks for one. Throws Auth0's mfa_required
 * (or access_denied when no factor Postern offers is enabled).
 */
export async function demandSecondFactor(
  { env, postLogin }: UserTokenDeps, ctx: any, user: UserRow, login: Omit<MfaContext, 'sub' | 'claims' | 'exp'>,
) {
  const claims = await postLogin.run(ctx, user.user_id);
  let need = await mfaNeed(env, claims.mfa);
  if (need.kind === 'none') need = (await mfaApiNeed(env, login.audience, async () => mfaOf(user))) ?? need;
  if (need.kind === 'none') return;
  if (need.kind === 'unavailable') throw new Auth0GrantError(403, 'access_denied', MFA_UNAVAILABLE);
  // A security key is not asked for here; a user with only one is refused enrolling another factor (/mfa/associate).
  const factors = need.factors.filter(isMfaApiFactor);
  if (!factors.length) throw new Auth0GrantError(403, 'access_denied', MFA_API_UNAVAILABLE);
  // A user with no authenticator for the offered factors enrolls one (/mfa/associate) before the first code.
  const usable = usableAuthenticators(mfaOf(user), factors).map(factorOf) as MfaApiFactor[];
  const step = usable.length ? 'challenge' : 'enroll';
  const types = [...new Set(usable.length ? usable : factors)].map((f) => ({ type: REQUIREMENT_TYPE[f] }));
  throw new Auth0GrantError(403, 'mfa_required', 'Multifactor authentication required', {
    mfa_token: sealMfaToken(env, { ...login, sub: user.user_id, claims, factors }),
    mfa_requirements: { [step]: types },
  });
}

/** A factor's grant: its code's parameter, the factor that spends it, and Auth0's word for a wrong code. */
interface GrantFactor { param: 'otp' | 'recovery_code' | 'binding_code'; factor: (params: any, clientId: string) => Factor; invalid: string; notEnrolled: string }
const OTP: GrantFactor = {
  param: 'otp', factor: () => OTP_FACTOR, invalid: 'Invalid otp_code.',
  notEnrolled: 'The user has no authenticator app enrolled; enroll one with /mfa/associate first.',
};
const RECOVERY_CODE: GrantFactor = {
  param: 'recovery_code', factor: () => RECOVERY_CODE_FACTOR, invalid: 'MFA Authorization rejected.', notEnrolled: 'The user has no recovery code.',
};
const OOB: GrantFactor = {
  param: 'binding_code', factor: (params, clientId) => oobFactor(String(params.oob_code), clientId), invalid: 'Invalid binding_code.', notEnrolled: '',
};

function refusal(reason: OtpRefused['reason'], factor: GrantFactor): Auth0GrantError {
  switch (reason) {
    case 'too_many_attempts': return new Auth0GrantError(429, 'too_many_attempts', 'Too many failed attempts, please try again later.');
    case 'not_enrolled': return new Auth0GrantError(403, 'invalid_grant', factor.notEnrolled);
    case 'expired': return new Auth0GrantError(403, 'expired_token', 'The code has expired; ask for a new one with /mfa/challenge.');
    default: return new Auth0GrantError(403, 'invalid_grant', factor.invalid);
  }
}

/** The user an mfa_token names, still there and not blocked since the password was checked. */
async function userOf(env: Env, sub: string): Promise<UserRow> {
  const row = await env.store.getUser(sub);
  if (!row) throw new Auth0GrantError(403, 'invalid_grant', 'The user does not exist.');
  if (row.blocked) throw new Auth0GrantError(401, 'unauthorized', 'user is blocked');
  return row;
}

/**
 * Whose code this is. The mfa-otp and mfa-oob grants also confirm an
 * enrollment made with an MFA API access token, which Auth0 then takes as
 * the mfa_token if it holds `enroll`; a recovery code needs an mfa_token.
 */
async function grantCaller(env: Env, factor: GrantFactor, token: unknown): Promise<MfaCaller> {
  if (factor === RECOVERY_CODE) return openMfaToken(env, token);
  let caller: MfaCaller;
  try {
    caller = await openMfaBearer(env, token);
  } catch (e) {
    throw e instanceof ApiError ? new Auth0GrantError(403, 'invalid_grant', e.message) : e;
  }
  if (!holdsScope(caller, 'enroll')) throw new Auth0GrantError(403, 'insufficient_scope', insufficientScope(['enroll']).message);
  return caller;
}

export function registerMfaGrants(provider: Provider, deps: UserTokenDeps) {
  const { env, postLogin } = deps;
  const grant = (factor: GrantFactor) => async (ctx: any) => {
    const { params, client } = ctx.oidc;
    const needed = factor === OOB ? ['mfa_token', 'oob_code', 'binding_code'] : ['mfa_token', factor.param];
    // Every code Postern sends is typed back (binding method `prompt`): there is no push to wait for.
    const missing = needed.filter((p) => !params[p]);
    if (missing.length) throw new errors.InvalidRequest(`missing required parameter(s) (${missing.join(', ')})`);
    const mfa = await grantCaller(env, factor, params.mfa_token);
    if (mfa.client_id !== client.clientId) throw new Auth0GrantError(403, 'invalid_grant', 'The mfa_token was issued to another application.');
    await userOf(env, mfa.sub);
    const facts = { ...requestFacts(ctx), client_id: client.clientId, client_name: client.clientName };
    let spent: Awaited<ReturnType<Factor['spend']>>;
    try {
      spent = await spendSecondFactor(env, factor.factor(params, client.clientId), mfa.sub, String(params[factor.param]), facts);
    } catch (e) {
      throw e instanceof OtpRefused ? refusal(e.reason, factor) : e;
    }
    postLogin.adopt(ctx, mfa.claims ?? {});
    // What the password grant asked for is this request's scope; the access token's claims read it from the parameters.
    params.scope = mfa.scope.join(' ');
    await issueUserTokens(provider, deps, ctx, mfa.sub, {
      // An access token's holder gets that API's tokens again, not another API's.
      requested: new Set(mfa.scope), audience: mfa.accessToken ? mfa.audience : params.audience || mfa.audience, gty: mfa.gty, amr: ['mfa'],
    });
    // auth0-auth-js reads the next recovery code from the token response.
    if (spent.successor) ctx.body.recovery_code = spent.successor;
  };
  provider.registerGrantType(MFA_OTP, grant(OTP), ['mfa_token', 'otp', 'audience']);
  provider.registerGrantType(MFA_RECOVERY_CODE, grant(RECOVERY_CODE), ['mfa_token', 'recovery_code', 'audience']);
  provider.registerGrantType(MFA_OOB, grant(OOB), ['mfa_token', 'oob_code', 'binding_code', 'audience']);
}
