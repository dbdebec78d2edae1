import { ApiError } from '../lib/errors.ts';
import { route, type Route } from './router.ts';
import { sealInto } from './doc-helpers.ts';

// Rules configs are the secrets rules read: one tenant document of sealed
// values. Only the keys are ever listed; a value leaves only in the answer to
// the PUT that set it, as Auth0's contract has it.
const DOC = 'rules-configs';

/** The router validates query and body only; the key is a path parameter, checked here as Auth0 does. */
function checkKey(key: string) {
  const where = 'on property key (Key of the rules config).';
  if (key.length < 1 || key.length > 127) throw new ApiError(400, `Path validation error: 'String length must be between 1 and 127 characters' ${where}`, 'invalid_uri');
  if (!/^[A-Za-z0-9_\-@*+:]*$/.test(key)) throw new ApiError(400, `Path validation error: 'String does not match pattern ^[A-Za-z0-9_\\-@*+:]*$' ${where}`, 'invalid_uri');
  return key;
}

export const rulesConfigRoutes: Route[] = [
  route('GET', '/rules-configs', async ({ env }) =>
    Object.keys(await env.store.getTenantDoc<Record<string, string>>(DOC) ?? {}).map((key) => ({ key }))),
  route('PUT', '/rules-configs/{key}', async ({ env, params, body }) => {
    const key = checkKey(params.key);
    await env.store.modifyTenantDoc<Record<string, string>>(DOC, (stored) => sealInto(env.box, stored, { [key]: body.value }, 'upsert'));
    return { key, value: body.value };
  }),
  route('DELETE', '/rules-configs/{key}', async ({ env, params }) => {
    const key = checkKey(params.key);
    await env.store.modifyTenantDoc<Record<string, string>>(DOC, (stored) => {
      const next = { ...stored };
      delete next[key];
      return next;
    });
  }),
];
