import type Router from '@koa/router';
import type Koa from 'koa';
import { errors } from 'oidc-provider';
import type { Env } from '../tenant/env.ts';
import type { Engine } from '../oidc/provider.ts';
import type { UserRow } from '../store/schema.ts';
import { readParams } from '../lib/body.ts';
import { OIDC_SCOPES } from '../oidc/account.ts';
import { grantableApiScopes } from '../tenant/rbac.ts';
import { userGrantableScopes } from '../tenant/current-user-scopes.ts';
import { tenantSettings } from '../management/tenant-settings.ts';
import { userJson } from '../tenant/users.ts';
import { csrfToken, page } from './html.ts';
import { csrfSecret, engineBranding, errorPage, rejectForgedForm } from './interaction.ts';
import { cibaApprovalForm } from './pages.ts';
import { sendTemplateMail } from './template-mail.ts';

// The person's side of CIBA by email. The mail (the tenant's `async_approval`
// template, else Postern's text) links to /u/ciba with a sealed ticket naming
// the request; the page shows the application, the binding message and what
// it asks for, and Accept or Decline settles the request with the engine
// (backchannelResult), which the application's next poll picks up. The link
// reaches only the user's verified address, so following it proves the
// person, as a magic link does.

const PATH = '/u/ciba';
const PURPOSE = 'ciba';

const ticketFor = (env: Env, requestId: string) => env.box.seal(JSON.stringify({ p: PURPOSE, id: requestId }));

/** The request a ticket names; undefined for anything that is not one of our tickets. */
function openTicket(env: Env, ticket: unknown): string | undefined {
  if (typeof ticket !== 'string' || ticket.length > 2048) return undefined;
  try {
    const t = JSON.parse(env.box.open(ticket));
    return t?.p === PURPOSE && typeof t.id === 'string' ? t.id : undefined;
  } catch {
    return undefined;
  }
}

const MAIL = {
  subject: '{{ application.name }} needs your approval',
  text: '{{ application.name }} asks you to approve: "{{ binding_message }}". Review the request: {{ url }}\n\nIf you did not expect this, decline it or ignore this email.',
  html: `<!doctype html><html><body>
<p>{{ application.name | escape }} asks you to approve a request.</p>
<p>Check that this message matches the one on your other device: <b>{{ binding_message | escape }}</b></p>
<p><a href="{{ url | escape }}">Review the request</a></p>
<p>If you did not expect this, decline it or ignore this email.</p>
</body></html>`,
};

/** The approval mail for a new request, to the user's verified address. */
export async function sendApprovalMail(env: Env, request: any, user: UserRow, client: any) {
  const friendly_name = (await tenantSettings(env)).friendly_name;
  const url = `${env.issuer}u/ciba?${new URLSearchParams({ ticket: ticketFor(env, request.jti) })}`;
  const vars = {
    url, binding_message: request.params?.binding_message ?? '', friendly_name, tenant: { friendly_name },
    user: userJson(user), application: { name: client.clientName ?? client.clientId, clientID: client.clientId },
  };
  await sendTemplateMail(env, 'async_approval', user.email!, vars, MAIL);
}

/** The request a page or form names, while it still waits for the person. */
async function pendingRequest(engine: Engine, ticket: unknown) {
  const id = openTicket(engine.env, ticket);
  const request = id ? await (engine.provider as any).BackchannelAuthenticationRequest.find(id) : undefined;
  return request && !request.isExpired && !request.grantId && !request.error ? request : undefined;
}

/** What the request asks for: its scopes, by the engine's split. */
function scopesOf(request: any): string[] {
  return String(request.scope ?? '').split(' ').filter(Boolean);
}

async function approve(engine: Engine, request: any) {
  const { Grant } = engine.provider as any;
  const grant = new Grant({ accountId: request.accountId, clientId: request.clientId });
  const requested = scopesOf(request);
  grant.addOIDCScope(requested.filter((s) => OIDC_SCOPES.includes(s)).join(' ') || 'openid');
  const resource = typeof request.resource === 'string' ? request.resource : undefined;
  const api = resource ? await engine.apis.get(resource) : undefined;
  if (api) {
    const allowed = new Set(userGrantableScopes(api.data));
    const asked = requested.filter((s) => allowed.has(s));
    // enforce_policies: only the permissions the user holds.
    grant.addResourceScope(resource!, (await grantableApiScopes(engine.env, api, request.accountId, asked)).join(' '));
  }
  await grant.save();
  await engine.provider.backchannelResult(request, grant, { authTime: Math.floor(Date.now() / 1000) });
}

const gone = (ctx: Koa.Context, engine: Engine) => engineBranding(engine).then((brand) =>
  errorPage(ctx, brand, 'This request has expired or has already been answered.', 404));

export function cibaRoutes(router: Router, env: Env, engine: Engine) {
  router.get(PATH, async (ctx) => {
    const request = await pendingRequest(engine, ctx.query.ticket);
    if (!request) return gone(ctx, engine);
    const client = await engine.clients.get(request.clientId);
    const user = await env.store.getUser(request.accountId);
    page(ctx, {
      title: 'Approve request', brand: await engineBranding(engine),
      body: cibaApprovalForm({
        ticket: String(ctx.query.ticket), csrf: csrfToken(ctx, csrfSecret(env)), appName: client?.data.name ?? request.clientId,
        bindingMessage: String(request.params?.binding_message ?? ''), scopes: scopesOf(request), user: user?.email ?? undefined,
      }),
    });
  });

  router.post(PATH, async (ctx) => {
    const body = await readParams(ctx).catch(() => ({} as Record<string, any>));
    const brand = await engineBranding(engine);
    if (rejectForgedForm(ctx, env, brand, body)) return;
    const request = await pendingRequest(engine, body.ticket);
    if (!request) return gone(ctx, engine);
    if (body.action === 'accept') {
      await approve(engine, request);
      return page(ctx, { title: 'Request approved', brand, body: '<p>You approved the request. You can close this window.</p>' });
    }
    await engine.provider.backchannelResult(request, new errors.AccessDenied());
    page(ctx, { title: 'Request declined', brand, body: '<p>You declined the request. You can close this window.</p>' });
  });
}
