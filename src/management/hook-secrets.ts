import { badRequest, conflict, notFound } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';
import { reply, route, type Route } from './router.ts';
import { patchDoc } from './patch-doc.ts';
import { sealInto } from './doc-helpers.ts';
import { loadHook } from './hooks.ts';

// A hook's secrets are sealed in the hook's document. Reads show the names
// only, with the value masked as Auth0 masks it.
const NOT_SHOWN = '_VALUE_NOT_SHOWN_';
const MAX_SECRETS = 20;

async function changeSecrets(env: Env, id: string, change: (stored: Record<string, string>) => Record<string, string>) {
  const doc = await loadHook(env, id);
  await patchDoc(env.store.hooks, doc.id, () => loadHook(env, doc.id), (cur) => {
    const secrets = change(cur.data.secrets ?? {});
    if (Object.keys(secrets).length > MAX_SECRETS) throw badRequest(`A hook can have at most ${MAX_SECRETS} secrets.`);
    return { data: { ...cur.data, secrets }, columns: {} };
  });
}

function writeSecrets(env: Env, id: string, values: Record<string, string>, mode: 'create' | 'update') {
  if (Object.hasOwn(values, '')) throw badRequest("Payload validation error: 'A secret name must not be empty'.");
  return changeSecrets(env, id, (stored) => sealInto(env.box, stored, values, mode, {
    exists: (name) => conflict(`Secret already exists: ${name}`, 'hook_secret_conflict'),
    missing: (name) => notFound(`Secret does not exist: ${name}`, 'inexistent_hook_secret'),
  }));
}

export const hookSecretRoutes: Route[] = [
  route('GET', '/hooks/{id}/secrets', async ({ env, params }) =>
    Object.fromEntries(Object.keys((await loadHook(env, params.id)).data.secrets ?? {}).map((name) => [name, NOT_SHOWN]))),
  route('POST', '/hooks/{id}/secrets', async ({ env, params, body }) => {
    await writeSecrets(env, params.id, body, 'create');
    return reply(201);
  }),
  route('PATCH', '/hooks/{id}/secrets', async ({ env, params, body }) => {
    await writeSecrets(env, params.id, body, 'update');
    return reply(201);
  }),
  route('DELETE', '/hooks/{id}/secrets', async ({ env, params, body }) => {
    // The router validates a DELETE body only when one was sent; this one is required.
    if (!Array.isArray(body)) throw badRequest("Payload validation error: 'must be array'.");
    const names = new Set(body as string[]);
    await changeSecrets(env, params.id, (stored) => Object.fromEntries(Object.entries(stored).filter(([name]) => !names.has(name))));
  }),
];
