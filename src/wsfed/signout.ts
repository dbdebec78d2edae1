import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';
import type { Engine } from '../oidc/provider.ts';
import type { CachedClient } from '../oidc/clients.ts';
import { endBrowserSession, signedOut } from '../login/end-session.ts';
import { participantsOf } from '../samlp/participants.ts';
import { startSingleLogout } from '../samlp/logout.ts';
import { signoutReply } from './reply.ts';

// wa=wsignout1.0 (the relying party signs the person out) and
// wa=wsignoutcleanup1.0 (it asks for the session to be cleaned up): either
// ends the Postern session as /v2/logout does, the session's SAML
// applications with single logout included, and then goes to the wreply if
// it is allowed, or shows the signed-out page. A wreply that is not allowed
// is refused before anything ends.

export async function signout(ctx: Koa.Context, env: Env, engine: Engine, client: CachedClient | undefined, wreply: string | undefined) {
  const target = await signoutReply(engine, client, wreply);
  const session = await endBrowserSession(ctx, env, engine, client, target ? { return_to: target } : undefined);
  const participants = session ? await participantsOf(env, engine, session) : [];
  if (participants.length) return startSingleLogout(ctx, env, engine, participants, { returnTo: target });
  ctx.set('Cache-Control', 'no-store');
  if (!target) return signedOut(ctx, engine);
  ctx.status = 302;
  ctx.redirect(target);
}
