import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';
import type { Engine } from '../oidc/provider.ts';
import type { CachedClient } from '../oidc/clients.ts';
import { ApiError } from '../lib/errors.ts';
import { readParams } from '../lib/body.ts';
import { engineBranding, errorPage } from '../login/interaction.ts';
import { samlpAddon, samlpSettings, type SamlpSettings } from './settings.ts';

// What every /samlp route starts from: the application named in the path with
// its addon settings, the request's parameters from either binding, and one
// way to answer a refusal (an error page with a 4xx status).

export interface SamlpApp { client: CachedClient; addon: Record<string, any>; settings: SamlpSettings }

export async function samlpApp(env: Env, engine: Engine, clientId: string): Promise<SamlpApp> {
  const client = clientId.length <= 256 ? await engine.clients.get(clientId) : undefined;
  if (!client) throw new ApiError(404, 'Unknown client.', 'invalid_client');
  const addon = samlpAddon(client);
  if (!addon) throw new ApiError(400, 'The SAML2 Web App addon is not enabled for this application.', 'invalid_client');
  return { client, addon, settings: samlpSettings(env, addon) };
}

/** Query parameters (HTTP-Redirect) or form fields (HTTP-POST), strings only. */
export async function samlpParams(ctx: Koa.Context): Promise<Record<string, string | undefined>> {
  const raw: Record<string, unknown> = ctx.method === 'POST' ? { ...ctx.query, ...(await readParams(ctx)) } : { ...ctx.query };
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(raw)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** Runs a /samlp handler; a refusal becomes an error page, never a 500. */
export function samlpHandler(engine: Engine, handle: (ctx: Koa.Context) => Promise<void>) {
  return async (ctx: Koa.Context) => {
    try {
      await handle(ctx);
    } catch (e) {
      if (!(e instanceof ApiError) || e.statusCode >= 500) throw e;
      errorPage(ctx, await engineBranding(engine), e.message, e.statusCode);
    }
  };
}
