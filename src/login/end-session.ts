import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';
import type { Engine } from '../oidc/provider.ts';
import { requestFacts } from '../tenant/logs.ts';
import { sendBackchannelLogouts } from '../oidc/backchannel-logout.ts';
import { page } from './html.ts';
import { engineBranding } from './interaction.ts';

/**
 * Ends the engine session the browser holds, as every logout door does
 * (`/v2/logout`, a SAML LogoutRequest): the cookies go whether or not a
 * session was found; a live one gets the `slo` event and its back-channel
 * logouts. Returns the session it ended, whose uid and authorizations single
 * logout still reads.
 */
export async function endBrowserSession(ctx: Koa.Context, env: Env, engine: Engine, client?: { id: string; data: { name?: string } }, details?: Record<string, unknown>) {
  const provider = engine.provider as any;
  const session = await provider.Session.get(ctx);
  const name = provider.cookieName('session');
  for (const n of [name, `${name}.sig`]) ctx.cookies.set(n, null, { path: '/', secure: true, httpOnly: true, sameSite: 'none' });
  if (!session || session.new) return undefined;
  env.events.record({
    ...requestFacts(ctx), type: 'slo', description: 'User successfully logged out',
    user_id: session.accountId, client_id: client?.id, client_name: client?.data.name, ...(details ? { details } : {}),
  });
  await session.destroy();
  await sendBackchannelLogouts(env, engine, session, 'rp-logout');
  return session as { uid?: string; accountId?: string; authorizations?: Record<string, unknown> };
}

export async function signedOut(ctx: Koa.Context, engine: Engine) {
  ctx.set('Cache-Control', 'no-store');
  page(ctx, { title: 'Signed out', brand: await engineBranding(engine), body: '<p>You are signed out.</p>' });
}
