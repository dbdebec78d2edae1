import { createHash, randomBytes } from 'node:crypto';
import type { Env } from '../tenant/env.ts';
import type { Engine } from '../oidc/provider.ts';
import type { SamlOverrides } from './action-overrides.ts';

// A SAML login is an ordinary authorization through the engine, so Universal
// Login, SSO sessions, MFA, organizations and post-login actions all apply.
// Its redirect URI is Postern's own /samlp/{client_id}/continue, which the
// engine's metadata of an application with the addon adds to its callbacks
// (oidc/provider.ts): the code lands on this server, only a pending SAML
// request with the PKCE verifier can redeem it, and this file redeems it in-process.

export const continuePath = (clientId: string) => `/samlp/${encodeURIComponent(clientId)}/continue`;
export const continueUrl = (env: Env, clientId: string) => `${env.issuer.replace(/\/$/, '')}${continuePath(clientId)}`;

const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');
export const newVerifier = () => randomBytes(32).toString('base64url');

export interface LoginOptions {
  forceAuthn?: boolean; connection?: string; organization?: string;
  /** Another protocol's own continue URL (WS-Federation's), when it is not this SAML one. */
  redirectUri?: string;
}

/** The engine's authorization URL for this SAML login. */
export function authorizeUrl(env: Env, clientId: string, state: string, verifier: string, o: LoginOptions): string {
  const q = new URLSearchParams({
    client_id: clientId, response_type: 'code', response_mode: 'query', redirect_uri: o.redirectUri ?? continueUrl(env, clientId),
    scope: 'openid profile email', state, code_challenge: s256(verifier), code_challenge_method: 'S256',
  });
  if (o.forceAuthn) q.set('prompt', 'login');
  if (o.connection) q.set('connection', o.connection);
  if (o.organization) q.set('organization', o.organization);
  return `${env.issuer.replace(/\/$/, '')}/authorize?${q}`;
}

/** The login behind a code, and what its post-login actions asked of the SAML response. */
export interface Redeemed { accountId: string; sessionUid: string; authTime?: number; saml?: SamlOverrides }

/**
 * The login behind the code and its user, for the protocol's continue URL;
 * `fail` makes the protocol's refusal when the code is not this login's, or
 * the user has gone or been blocked since.
 */
export async function redeemedUser(env: Env, engine: Engine, clientId: string, code: unknown, verifier: string, fail: (message: string) => Error, redirectUri?: string) {
  const login = await redeemCode(env, engine, clientId, code, verifier, redirectUri);
  if (!login) throw fail('The login could not be completed. Please go back to the application and sign in again.');
  const user = await env.store.getUser(login.accountId);
  if (!user || user.blocked) throw fail('The user is blocked or no longer exists.');
  return { login, user };
}

/** The login behind an authorization code, spent once; undefined for any code this login (at this redirect URI) did not get. */
export async function redeemCode(env: Env, engine: Engine, clientId: string, code: unknown, verifier: string, redirectUri = continueUrl(env, clientId)): Promise<Redeemed | undefined> {
  if (typeof code !== 'string' || !code || code.length > 512) return undefined;
  const found: any = await (engine.provider as any).AuthorizationCode.find(code).catch(() => undefined);
  if (!found || !found.isValid || found.clientId !== clientId || found.redirectUri !== redirectUri) return undefined;
  if (found.codeChallengeMethod !== 'S256' || found.codeChallenge !== s256(verifier)) return undefined;
  if (!(await env.store.claimPayload('AuthorizationCode', found.jti))) return undefined;
  return { accountId: found.accountId, sessionUid: found.sessionUid, authTime: found.authTime, saml: found.actionClaims?.saml };
}
