import type Router from '@koa/router';
import { requestFacts } from '../tenant/logs.ts';
import type { Env } from '../tenant/env.ts';
import { updateUser } from '../tenant/users.ts';
import { esc, page } from './html.ts';
import { branding } from './branding.ts';
import { claimTicket, resultRedirect } from './tickets.ts';

// The link in a verification email: opening it marks the address verified
// (as Auth0's does), once. With a result_url the browser goes on there.

export function verifyEmailRoutes(router: Router, env: Env) {
  router.get('/u/email-verification', async (ctx) => {
    const brand = await branding(env);
    const data = await claimTicket(env, 'VerifyTicket', ctx.query.ticket);
    // A linked identity's address is verified on the identity, which keeps it.
    const user = data && await env.store.getUser(data.user_id, { linked: true });
    if (!data || !user) {
      return page(ctx, { title: 'Link expired', brand, status: 400, body: '<p role="alert">This link is invalid, has expired or has already been used.</p>' });
    }
    await updateUser(env, user.user_id, { email_verified: true }, { linked: true });
    env.events.record({ ...requestFacts(ctx), type: 'sv', description: 'Email verified', user_id: user.user_id, user_name: user.email ?? undefined, connection: user.connection });
    const target = resultRedirect(data, user.email, 'Your email was verified. You can continue using the application.');
    if (target) { ctx.status = 303; ctx.redirect(target); return; }
    page(ctx, { title: 'Email verified', brand, body: `<p role="status">Thank you. ${esc(user.email)} is now verified; you can close this page.</p>` });
  });
}
