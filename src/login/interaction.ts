import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';
import type { Engine } from '../oidc/provider.ts';
import type { CachedClient } from '../oidc/clients.ts';
import { page, type Branding, esc, checkCsrf } from './html.ts';
import { readParams } from '../lib/body.ts';
import { branding } from './branding.ts';

// Binding between Universal Login pages and the engine's interaction: the
// page's `state` is the interaction id; results are saved on it and the
// browser goes back to the engine's resume URL, which checks its own cookie.

export interface LoginContext { interaction: any; client: CachedClient; brand: Branding; uid: string }

/** The page shell's branding, with the tenant settings from the engine's cache. */
export const engineBranding = async (engine: Engine): Promise<Branding> => branding(engine.env, await engine.settings.load());

export function csrfSecret(env: Env) { return env.box.derive('postern login csrf'); }

export function errorPage(ctx: Koa.Context, brand: Branding, message: string, status = 400) {
  page(ctx, { title: 'Something went wrong', brand, status, body: `<p class="error" role="alert">${esc(message)}</p>` });
}

/** The engine's interaction with this id, if the id is well-formed and the interaction unexpired. */
export async function findInteraction(engine: Engine, uid: unknown): Promise<any> {
  return typeof uid === 'string' && /^[\w-]{10,64}$/.test(uid) ? (engine.provider as any).Interaction.find(uid) : undefined;
}

/** The interaction named by ?state= (or the form's state), or an error page. */
export async function loadInteraction(ctx: Koa.Context, engine: Engine, state: unknown): Promise<LoginContext | undefined> {
  const brand = await engineBranding(engine);
  const uid = typeof state === 'string' ? state : '';
  const interaction = await findInteraction(engine, uid);
  if (!interaction) {
    errorPage(ctx, brand, 'This login session has expired or is invalid. Please go back to the application and sign in again.');
    return undefined;
  }
  const client = await engine.clients.get(interaction.params.client_id);
  if (!client) {
    errorPage(ctx, brand, 'Unknown application.');
    return undefined;
  }
  return { interaction, client, brand, uid };
}

/** Answers a form without a valid CSRF token with an error page; true when it did. */
export function rejectForgedForm(ctx: Koa.Context, env: Env, brand: Branding, body: Record<string, any>): boolean {
  if (checkCsrf(ctx, csrfSecret(env), body._csrf)) return false;
  errorPage(ctx, brand, 'Invalid or expired form. Please go back and try again.', 403);
  return true;
}

/** A posted Universal Login form: its fields and its interaction, once the CSRF token checks out. */
export async function readInteractionForm(ctx: Koa.Context, env: Env, engine: Engine) {
  const body = await readParams(ctx).catch(() => ({} as Record<string, any>));
  const lc = await loadInteraction(ctx, engine, body.state);
  if (!lc || rejectForgedForm(ctx, env, lc.brand, body)) return undefined;
  return { body, lc };
}

/** Saves the interaction's result; the browser's next visit to `interaction.returnTo` hands it to the engine. */
export async function saveResult(interaction: any, result: Record<string, unknown>) {
  interaction.result = { ...interaction.lastSubmission, ...result };
  await interaction.save(Math.max(1, interaction.exp - Math.floor(Date.now() / 1000)));
}

/** Saves the interaction's result and sends the browser back to the engine. */
export async function finish(ctx: Koa.Context, interaction: any, result: Record<string, unknown>) {
  await saveResult(interaction, result);
  ctx.status = 303;
  ctx.redirect(interaction.returnTo);
}

/** Database connections enabled for the application, the requested one first. */
export async function dbConnections(env: Env, clientId: string, requested?: unknown) {
  const all = (await env.store.connections.list({ strategy: 'auth0' })).items
    .filter((c: any) => (c.data.enabled_clients ?? []).includes(clientId));
  if (typeof requested === 'string' && requested) return all.filter((c: any) => c.data.name === requested);
  return all;
}
