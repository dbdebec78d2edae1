import { randomUUID } from 'node:crypto';
import { badRequest } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';
import { route, type Route } from './router.ts';
import { actionJson, deployedVersion, paged, type ActionDoc } from './actions.ts';
import { bindingsDoc, readBindings, type Binding } from '../actions/runtime.ts';

// The triggers an action can support, and the actions bound to each trigger.
// A trigger's bindings are one tenant document, replaced as a whole by PATCH.

export const RUNTIMES = ['node18-actions', 'node22'];
const trigger = (id: string, version: string, status = 'CURRENT', binding_policy = 'trigger-bound') =>
  ({ id, version, status, runtimes: RUNTIMES, default_runtime: 'node22', compatible_triggers: [], binding_policy });
const TRIGGERS = [
  trigger('post-login', 'v2', 'DEPRECATED'), trigger('post-login', 'v3'),
  trigger('credentials-exchange', 'v2'), trigger('pre-user-registration', 'v2'), trigger('post-user-registration', 'v2'),
  trigger('post-change-password', 'v2'), trigger('send-phone-message', 'v2'), trigger('password-reset-post-challenge', 'v1'),
  // These are bound to a phone provider, an email provider or a token exchange profile, never through trigger bindings.
  trigger('custom-phone-provider', 'v1', 'CURRENT', 'entity-bound'), trigger('custom-email-provider', 'v1', 'CURRENT', 'entity-bound'),
  trigger('custom-token-exchange', 'v1', 'CURRENT', 'entity-bound'),
];
const BINDABLE = [...new Set(TRIGGERS.filter((t) => t.binding_policy === 'trigger-bound').map((t) => t.id))];

/** Every supported trigger (and its version, when given) must be one Postern knows. */
export function checkTriggers(list: Array<{ id: string; version?: string }>) {
  for (const t of list) {
    if (!TRIGGERS.some((k) => k.id === t.id && (t.version === undefined || k.version === t.version))) {
      throw badRequest(`Payload validation error: 'Trigger ${t.id}${t.version ? ` ${t.version}` : ''} is not supported' on property supported_triggers.`);
    }
  }
}


export async function boundTriggers(env: Env, actionId: string) {
  const bound = await Promise.all(BINDABLE.map(async (t) => ((await readBindings(env.store, t)).some((b) => b.action_id === actionId) ? t : undefined)));
  return bound.filter((t): t is string => t !== undefined);
}
/** Removes the action from every trigger it is bound to (DELETE with ?force=true). */
export async function unbindEverywhere(env: Env, actionId: string) {
  for (const t of await boundTriggers(env, actionId)) {
    await env.store.modifyTenantDoc<{ bindings: Binding[] }>(bindingsDoc(t), (stored) => ({ bindings: (stored?.bindings ?? []).filter((b) => b.action_id !== actionId) }));
  }
  env.invalidate('actions');
}

/** Bindings as Auth0 answers them, with the whole action; one whose action was deleted meanwhile is left out. */
async function bindingsJson(env: Env, triggerId: string, bindings: Binding[]) {
  const actions = new Map((await env.store.actions.getMany([...new Set(bindings.map((b) => b.action_id))])).map((a) => [a.id, a as ActionDoc]));
  return bindings.filter((b) => actions.has(b.action_id)).map((b) => ({
    id: b.id, trigger_id: triggerId, action: actionJson(actions.get(b.action_id)!), created_at: b.created_at, updated_at: b.updated_at, display_name: b.display_name,
  }));
}

const invalid = (message: string) => badRequest(`Payload validation error: '${message}' on property bindings.`);

/** One item of a PATCH: its ref resolved to a deployed action that supports the trigger. */
async function resolve(env: Env, triggerId: string, current: Binding[], item: any, now: string): Promise<Binding> {
  const { type = 'action_name', value } = item.ref ?? {};
  if (typeof value !== 'string' || !value) throw invalid('A binding ref needs a value');
  if (item.secrets?.length) throw invalid('Binding secrets are not supported');
  const existing = type === 'binding_id' ? current.find((b) => b.id === value) : undefined;
  if (type === 'binding_id' && !existing) throw invalid(`The binding ${value} does not exist`);
  const action = existing ? await env.store.actions.get(existing.action_id)
    : type === 'action_id' ? await env.store.actions.get(value) : await env.store.actions.findBy('name', value);
  if (!action) throw invalid(`The action ${value} does not exist`);
  const deployed = deployedVersion(action.data);
  if (!deployed) throw invalid(`The action ${action.data.name} has no deployed version`);
  if (!deployed.supported_triggers.some((t: any) => t.id === triggerId)) throw invalid(`The action ${action.data.name} does not support the ${triggerId} trigger`);
  // Binding the same action again keeps its binding id, so the id stays stable across replaces.
  const prev = existing ?? current.find((b) => b.action_id === action.id);
  const display_name = item.display_name ?? prev?.display_name ?? action.data.name;
  return {
    id: prev?.id ?? randomUUID(), action_id: action.id, display_name,
    created_at: prev?.created_at ?? now, updated_at: prev && prev.display_name === display_name ? prev.updated_at : now,
  };
}

export const actionTriggerRoutes: Route[] = [
  route('GET', '/actions/triggers', async () => ({ triggers: TRIGGERS })),
  route('GET', '/actions/triggers/{triggerId}/bindings', async ({ env, params, query }) =>
    paged(query, 'bindings', async () => bindingsJson(env, params.triggerId, await readBindings(env.store, params.triggerId)))),
  route('PATCH', '/actions/triggers/{triggerId}/bindings', async ({ env, params, body }) => {
    const triggerId = params.triggerId;
    if (!BINDABLE.includes(triggerId)) throw badRequest(`Actions cannot be bound to the ${triggerId} trigger through its bindings.`);
    // Without a list there is nothing to replace the bindings with.
    if (body.bindings === undefined) return { bindings: await bindingsJson(env, triggerId, await readBindings(env.store, triggerId)) };
    const saved = await env.store.modifyTenantDoc<{ bindings: Binding[] }>(bindingsDoc(triggerId), async (stored) => {
      const current = stored?.bindings ?? [];
      const now = new Date().toISOString();
      const next: Binding[] = [];
      for (const item of body.bindings) next.push(await resolve(env, triggerId, current, item, now));
      if (new Set(next.map((b) => b.action_id)).size < next.length) throw invalid('An action can be bound to a trigger only once');
      return { bindings: next };
    });
    env.invalidate('actions');
    return { bindings: await bindingsJson(env, triggerId, saved.bindings) };
  }),
];
