import { createHmac } from 'node:crypto';
import { badRequest, notFound } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';
import type { OpContext } from './router.ts';
import { componentValidator, validationMessage } from './spec.ts';
import { collectionId, collectionRoutes, type CollectionResource } from './tenant-collection.ts';

// The Flows vault: the credentials that Auth0's flows use to call other apps.
// Flows never run in Postern, so these credentials are stored and never used:
// no OAuth code is exchanged, no account name is looked up and no token is
// refreshed. The `setup` is sealed at rest and never answered; its fingerprint
// (a keyed hash, so that it is no oracle for guessing a short API key) tells
// two setups apart.

interface VaultConnection {
  id: string; app_id: string; name: string;
  /** The setup's JSON, sealed; absent while the connection is uninitialized. */
  setup?: string; fingerprint: string; created_at: string; updated_at: string;
}

/** The create schema says which setups each app takes; a PATCH's setup is checked against it too. */
const createSchema = componentValidator('CreateFlowsVaultConnectionRequestContent');

/** The setup fields whose format (`forms-url-https`) the shared validator does not know. */
const HTTPS_FIELDS: Record<string, string[]> = {
  WEBHOOK: ['url'], API_KEY: ['base_url'], OAUTH_CLIENT_CREDENTIALS: ['token_endpoint'], OAUTH_APP: ['audience'],
};

function checkSetup(app_id: string, name: string, setup: Record<string, any>) {
  if (!createSchema({ name, app_id, setup })) throw badRequest(validationMessage(createSchema, 'Payload'));
  for (const field of HTTPS_FIELDS[setup.type] ?? []) {
    const v = setup[field];
    if (v !== undefined && !(URL.canParse(v) && new URL(v).protocol === 'https:')) {
      throw badRequest(`Payload validation error: 'must match format "forms-url-https"' on property setup.${field}.`);
    }
  }
}

/** Key order does not change a fingerprint. */
const canonical = (v: unknown): string => (Array.isArray(v) ? `[${v.map(canonical).join(',')}]`
  : v && typeof v === 'object' ? `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as any)[k])}`).join(',')}}`
    : JSON.stringify(v));
const fingerprint = (env: Env, setup: unknown) =>
  createHmac('sha256', env.box.derive('flows-vault-fingerprint')).update(canonical(setup ?? null)).digest('base64url');

function withSetup(env: Env, c: Omit<VaultConnection, 'setup' | 'fingerprint'>, setup: Record<string, any> | undefined): VaultConnection {
  return { ...c, ...(setup ? { setup: env.box.seal(JSON.stringify(setup)) } : {}), fingerprint: fingerprint(env, setup) };
}

const show = (c: VaultConnection) => ({
  id: c.id, app_id: c.app_id, name: c.name, ready: c.setup !== undefined, created_at: c.created_at, updated_at: c.updated_at, fingerprint: c.fingerprint,
});

const vault: CollectionResource<VaultConnection> = {
  doc: 'flows-vault-connections',
  missing: () => notFound('The flows vault connection does not exist.', 'inexistent_flows_vault_connection'),
  path: '/flows/vault/connections',
  list: { kind: 'offset', key: 'connections' },
  show,
  create({ env, body }: OpContext) {
    if (body.setup) checkSetup(body.app_id, body.name, body.setup);
    const now = new Date().toISOString();
    return withSetup(env, { id: collectionId('ac_', 22), app_id: body.app_id, name: body.name, created_at: now, updated_at: now }, body.setup);
  },
  update({ env, body }, cur) {
    const name = body.name ?? cur.name;
    const next = { ...cur, name, updated_at: new Date().toISOString() };
    if (!body.setup) return next;
    checkSetup(cur.app_id, name, body.setup);
    const { setup: _, fingerprint: __, ...rest } = next;
    return withSetup(env, rest, body.setup);
  },
};

export const flowsVaultConnectionRoutes = collectionRoutes(vault);
