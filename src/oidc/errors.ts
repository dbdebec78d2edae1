import type Koa from 'koa';
import { errors } from 'oidc-provider';

/** An OAuth error with Auth0's status and body, thrown by the compatibility layer. */
export class OAuthError extends Error {
  constructor(public status: number, public error: string, public description: string) { super(description); }
}

/** An Auth0 error thrown inside the engine (a grant's handler), which the engine renders. */
export class Auth0GrantError extends errors.CustomOIDCProviderError {
  /** `fields`: what Auth0's body says besides error and error_description (mfa_required's mfa_token); see keepErrorFields. */
  constructor(status: number, error: string, description: string, readonly fields?: Record<string, unknown>) {
    super(error, description);
    (this as any).status = status;
    (this as any).statusCode = status;
    (this as any).expose = true;
  }
}

export function sendOAuthError(ctx: Koa.Context, e: OAuthError) {
  ctx.status = e.status;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error: e.error, error_description: e.description };
}

/** Where a grant's error leaves the body fields the engine's error renderer drops. */
const ERROR_FIELDS = 'posternErrorFields';

/**
 * Auth0 answers some grant errors with more than error and error_description
 * (mfa_required carries mfa_token and mfa_requirements). The engine renders
 * only those two, so a grant's error lends its `fields` (Auth0GrantError) to
 * the request, where auth0ErrorBody adds them back.
 */
export function keepErrorFields(provider: { on(event: string, listener: (...args: any[]) => void): unknown }) {
  provider.on('grant.error', (ctx: any, err: any) => {
    if (err?.fields && typeof err.fields === 'object') ctx.state[ERROR_FIELDS] = err.fields;
  });
}

/** The grant type asked for: the engine's parsed parameters, else the form body the front handed it. */
function grantType(ctx: Koa.Context): string | null {
  const parsed = (ctx as any).oidc?.params?.grant_type;
  if (parsed) return parsed;
  const body = (ctx.request as any).body;
  return typeof body === 'string' ? new URLSearchParams(body).get('grant_type') : body?.grant_type ?? null;
}

/** Whether the client authenticated with an assertion (private_key_jwt). */
function usedAssertion(ctx: Koa.Context): boolean {
  if ((ctx as any).oidc?.params?.client_assertion) return true;
  const body = (ctx.request as any).body;
  return typeof body === 'string' ? new URLSearchParams(body).has('client_assertion') : Boolean(body?.client_assertion);
}

/**
 * Rewrites the engine's error bodies into Auth0's: client authentication
 * failures are 401 access_denied "Unauthorized", as Auth0 answers them for
 * secrets, and 401 invalid_client for assertions.
 */
export function auth0ErrorBody(ctx: Koa.Context) {
  const body = ctx.body as any;
  if (!body || typeof body !== 'object' || !body.error) return;
  if (body.error === 'invalid_client') {
    ctx.status = 401;
    if (!usedAssertion(ctx)) ctx.body = { error: 'access_denied', error_description: 'Unauthorized' };
  } else if (body.error === 'unauthorized_client' && /grant_type/.test(body.error_description ?? '')) {
    ctx.status = 403;
  } else if (body.error === 'invalid_request' && body.error_description === 'requested grant type is not allowed for this client') {
    ctx.status = 403;
    ctx.body = { error: 'unauthorized_client', error_description: `Grant type '${grantType(ctx)}' not allowed for the client.` };
  } else if (body.error === 'invalid_grant' && ctx.status === 400) {
    ctx.status = 403;
  }
  const { error, error_description } = ctx.body as any;
  ctx.body = { error, error_description, ...(ctx.state as any)[ERROR_FIELDS] };
}
