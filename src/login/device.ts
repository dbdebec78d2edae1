import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';
import type { TenantSettingsCache } from '../oidc/settings.ts';
import { AUTH0_PATHS } from '../oidc/paths.ts';
import { requestFacts } from '../tenant/logs.ts';
import { branding } from './branding.ts';
import { page } from './html.ts';
import { deviceCodeForm, deviceConfirmForm } from './pages.ts';

// The person's side of the device flow, at the engine's own /activate: its
// deviceFlow renders these pages in Universal Login's shell. Their forms carry
// the engine's xsrf token (kept in the engine's session), so /activate keeps
// its own CSRF check. Between the confirmation and the success page the engine
// runs its prompts like any login: /u/login, then the second factor and the
// post-login actions.

const PREFILL = 'posternUserCode';

/**
 * GET /activate?user_code=…: the engine would submit the code for the
 * browser with a script; Auth0 shows it filled in the form, for the person to
 * submit. The code is moved aside so the engine renders the form.
 */
export const activatePrefill: Koa.Middleware = (ctx, next) => {
  if (ctx.method === 'GET' && ctx.path === AUTH0_PATHS.code_verification && typeof ctx.query.user_code === 'string') {
    ctx.state[PREFILL] = ctx.query.user_code.slice(0, 64);
    const { user_code: _, ...rest } = ctx.query;
    ctx.query = rest;
  }
  return next();
};

/** What the code form says about the engine's re-render errors; undefined for those it does not name. */
const CODE_ERRORS: Record<string, string> = {
  NoCodeError: 'Please enter the code displayed on your device.',
  NotFoundError: 'The code you entered is invalid. Please check the code displayed on your device.',
  ExpiredError: 'The code you entered has expired. Please start again on your device.',
  AlreadyUsedError: 'This code has already been used. Please start again on your device.',
};

/** The engine's deviceFlow page sources. */
export function devicePages(env: Env, settings: TenantSettingsCache) {
  const brand = async () => branding(env, await settings.load());
  const action = AUTH0_PATHS.code_verification;
  const xsrf = (ctx: any): string => ctx.oidc.session?.state?.secret ?? '';
  const record = async (ctx: any, type: string, description: string) => {
    const code = ctx.oidc.entities?.DeviceCode;
    const client = ctx.oidc.client ?? (code ? await ctx.oidc.provider.Client.find(code.clientId) : undefined);
    env.events.record({
      ...requestFacts(ctx), type, description, client_id: client?.clientId, client_name: client?.clientName,
      user_id: ctx.oidc.session?.accountId,
    });
  };

  /** Cancelled on the confirmation page, or refused during the login (an action, the MFA policy). */
  async function denied(ctx: any, err: any) {
    const cancelled = !err.cause;
    if (cancelled) await record(ctx, 'fdecc', 'User did not confirm device.');
    else await record(ctx, 'fdeac', String(err.cause?.error_description ?? err.cause?.message ?? 'Failed to activate device.'));
    page(ctx, {
      title: 'Activation Denied', brand: await brand(),
      body: `<p>${cancelled ? 'You cancelled the request. ' : ''}Your device was not connected.</p>`,
    });
  }

  return {
    // `out` and `err` come with a re-rendered form: the code was wrong, or the request failed.
    async userCodeInputSource(ctx: any, _form: string, _out?: unknown, err?: any) {
      if (err?.name === 'AbortedError') return denied(ctx, err);
      // The form's token lives in the engine's session; one the browser did not have (none, or an
      // expired one) cannot keep it, and the engine fails saving it: start over, with the code kept.
      if (err && typeof ctx.oidc.session?.exp !== 'number') {
        ctx.oidc.session.touched = false;
        const code = ctx.oidc.params?.user_code;
        ctx.status = 303;
        ctx.redirect(typeof code === 'string' && code ? `${action}?${new URLSearchParams({ user_code: code.slice(0, 64) })}` : action);
        return;
      }
      let error: string | undefined;
      if (err) {
        error = CODE_ERRORS[err.name] ?? 'Something went wrong. Please enter the code again.';
        if (err.name !== 'NoCodeError' && CODE_ERRORS[err.name]) await record(ctx, 'fdeac', error);
      }
      page(ctx, {
        title: 'Device Activation', brand: await brand(), status: err ? (CODE_ERRORS[err.name] ? 400 : ctx.status) : 200,
        body: deviceCodeForm({ action, xsrf: xsrf(ctx), userCode: err ? err.userCode : ctx.state[PREFILL], error }),
      });
    },
    async userCodeConfirmSource(ctx: any, _form: string, client: any, _deviceInfo: unknown, userCode: string) {
      page(ctx, {
        title: 'Device Confirmation', brand: await brand(),
        body: deviceConfirmForm({ action, xsrf: xsrf(ctx), userCode, appName: client.clientName || client.clientId }),
      });
    },
    async successSource(ctx: any) {
      page(ctx, { title: "Congratulations, you're all set!", brand: await brand(), body: '<p>Your device is now connected.</p>' });
    },
  };
}
