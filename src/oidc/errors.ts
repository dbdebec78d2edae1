import type Koa from 'koa';

/** An OAuth error with Auth0's status and body, thrown by the compatibility layer. */
export class OAuthError extends Error {
  constructor(public status: number, public error: string, public description: string) { super(description); }
}

export function sendOAuthError(ctx: Koa.Context, e: OAuthError) {
  ctx.status = e.status;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error: e.error, error_description: e.description };
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
  ctx.body = { error, error_description };
}
