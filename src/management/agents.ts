import { badRequest, conflict, notFound } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';
import { bodyCheck, closedObject } from './sdk-body-schema.ts';
import type { OpContext } from './router.ts';
import { changeItems, collectionId, collectionRoutes, listItems, type CollectionResource } from './tenant-collection.ts';

// Agents (Auth0 for AI Agents, "agent as principal"): stored and answered as
// Auth0 does. The machine-to-machine application an agent is created with is
// kept as its link (Auth0's answers do not show it): one agent per
// application, and the link goes when the application is deleted while the
// agent, an identity of its own, stays. Nothing at /oauth/token reads agents yet.

interface Agent {
  id: string; name: string; client_id?: string; external_agent_id?: string;
  metadata: Record<string, unknown>; created_at: string; updated_at: string;
}

// Auth0: a name of 1-255 characters without `<`, `>` or NUL; metadata of at most 10 KB.
const NAME = { type: 'string', minLength: 1, maxLength: 255, pattern: '^[^<>\\u0000]*$' };
const METADATA_BYTES = 10 * 1024;
const checkCreate = bodyCheck(closedObject({
  name: NAME,
  client_id: { type: 'string', minLength: 1 },
  external_agent_id: { type: 'string', minLength: 1, maxLength: 255 },
  metadata: { type: 'object' },
}, ['name']));
// external_agent_id is immutable and client_id is set only at creation, so neither is in a PATCH.
const checkPatch = bodyCheck(closedObject({ name: NAME, metadata: { type: ['object', 'null'] } }));

function checkMetadata(metadata: object | null | undefined) {
  if (metadata && Buffer.byteLength(JSON.stringify(metadata)) > METADATA_BYTES) {
    throw badRequest(`Payload validation error: 'Metadata must not exceed ${METADATA_BYTES} bytes' on property metadata.`);
  }
}

/** The application to link: an existing machine-to-machine one. */
async function linkableClient(env: Env, clientId: string) {
  const client = await env.store.clients.get(clientId);
  if (!client) throw badRequest(`The client does not exist: ${clientId}`, 'inexistent_client');
  if (client.data.app_type !== 'non_interactive') throw badRequest('Only a machine to machine application can be linked to an agent.', 'invalid_body');
  return client.id;
}

const agentJson = (a: Agent) => ({
  agent_id: a.id, name: a.name, created_at: a.created_at, updated_at: a.updated_at,
  ...(a.external_agent_id !== undefined ? { external_agent_id: a.external_agent_id } : {}),
  metadata: a.metadata,
});

const agents: CollectionResource<Agent> = {
  doc: 'agents',
  missing: () => notFound('The agent does not exist.', 'inexistent_agent'),
  path: '/agents',
  list: { kind: 'checkpoint', key: 'agents' },
  show: agentJson,
  async create({ env, body }: OpContext, others) {
    const b = checkCreate(body);
    checkMetadata(b.metadata);
    const clientId = b.client_id === undefined ? undefined : await linkableClient(env, b.client_id);
    if (clientId && others.some((o) => o.client_id === clientId)) throw conflict('The client is already linked to another agent.');
    if (b.external_agent_id !== undefined && others.some((o) => o.external_agent_id === b.external_agent_id)) {
      throw conflict('An agent with this external_agent_id already exists.');
    }
    const now = new Date().toISOString();
    return {
      id: collectionId('agt_', 16), name: b.name,
      ...(clientId ? { client_id: clientId } : {}),
      ...(b.external_agent_id !== undefined ? { external_agent_id: b.external_agent_id } : {}),
      metadata: b.metadata ?? {}, created_at: now, updated_at: now,
    };
  },
  update({ body }, cur) {
    const b = checkPatch(body);
    checkMetadata(b.metadata);
    // Metadata is replaced as a whole; null (or {}) clears it.
    return { ...cur, ...(b.name !== undefined ? { name: b.name } : {}), ...('metadata' in b ? { metadata: b.metadata ?? {} } : {}), updated_at: new Date().toISOString() };
  },
};

export const agentRoutes = collectionRoutes(agents);

/** A deleted application's agents keep existing, unlinked. */
export async function unlinkClientAgents(env: Env, clientId: string) {
  if (!(await listItems<Agent>(env, agents)).some((a) => a.client_id === clientId)) return;
  await changeItems<Agent>(env, agents, (all) => all.map((a) => {
    if (a.client_id !== clientId) return a;
    const { client_id: _, ...unlinked } = a;
    return unlinked;
  }));
}
