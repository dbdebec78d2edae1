import type Router from '@koa/router';
import type Koa from 'koa';
import { errors } from 'oidc-provider';
import type { Env } from '../tenant/env.ts';
import type { Engine } from '../oidc/provider.ts';
import { readParams } from '../lib/body.ts';
import { CONTINUED, REDIRECT_PROMPT, redirectTarget } from '../oidc/action-claims.ts';
import { continuePostLogin, interactionFacts, type LoginClaims } from '../actions/post-login.ts';
import { errorPage, finish, loadInteraction } from './interaction.ts';

// /continue: where a login that a post-login action redirected comes back,
// with the `state` it was sent away with (GET, or POST from a form). The action
// resumes, the rest run, and the login goes back to the engine with their
// claims; or it is sent away again, or ends with access_denied at the app.

export function continueRoutes(router: Router, env: Env, engine: Engine) {
  const handle = async (ctx: Koa.Context) => {
    const given = ctx.method === 'POST' ? await readParams(ctx).catch(() => ({} as Record<string, any>)) : { ...ctx.query };
    const lc = await loadInteraction(ctx, engine, given.state);
    if (!lc) return;
    const { interaction } = lc;
    const earlier: LoginClaims | undefined = interaction.prompt?.name === REDIRECT_PROMPT ? interaction.prompt.details?.[CONTINUED] : undefined;
    // Only once per redirect: a result already saved means this login went back to the engine.
    if (!earlier?.redirect || interaction.result?.[CONTINUED]) return errorPage(ctx, lc.brand, 'This login is not waiting to continue. Please go back to the application and sign in again.');
    const { redirect: pending, ...before } = earlier;
    let claims: LoginClaims;
    try {
      claims = await continuePostLogin(env, ctx, interactionFacts(ctx, interaction, given, lc.client.data.name), pending, before);
    } catch (e) {
      if (!(e instanceof errors.AccessDenied)) throw e;
      return finish(ctx, interaction, { error: 'access_denied', error_description: (e as any).error_description });
    }
    if (claims.redirect) {
      interaction.prompt.details[CONTINUED] = claims;
      await interaction.save(Math.max(1, interaction.exp - Math.floor(Date.now() / 1000)));
      ctx.status = 303;
      ctx.redirect(redirectTarget(claims.redirect, lc.uid));
      return;
    }
    return finish(ctx, interaction, { [CONTINUED]: claims });
  };
  router.get('/continue', handle);
  router.post('/continue', handle);
}
