import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';
import type { Engine } from '../oidc/provider.ts';
import type { CachedClient } from '../oidc/clients.ts';
import { logOutAndGo } from '../login/logout.ts';
import { signoutReply } from './reply.ts';

// wa=wsignout1.0 (the relying party signs the person out) and
// wa=wsignoutcleanup1.0 (it asks for the session to be cleaned up): either
// ends the Postern session as /v2/logout does, the session's SAML
// applications with single logout included, and then goes to the wreply if
// it is allowed, or shows the signed-out page. A wreply that is not allowed
// is refused before anything ends.

export async function signout(ctx: Koa.Context, env: Env, engine: Engine, client: CachedClient | undefined, wreply: string | undefined) {
  const target = await signoutReply(engine, client, wreply);
  await logOutAndGo(ctx, env, engine, client, target, target ? { return_to: target } : undefined);
}
