import { createHash } from 'node:crypto';
import { badRequest, conflict, notFound } from '../lib/errors.ts';
import { route, type OpContext, type Route } from './router.ts';
import { collectionId, collectionRoutes, listItems, type CollectionResource } from './tenant-collection.ts';

// The HMAC keys that verify HTTP Message Signatures in network ACL rules (EA).
// Auth0's published spec has no schema for them; the shapes and limits are
// those of Auth0's SDKs and Terraform provider. The key material is sealed at
// rest and never answered: its SHA-256 fingerprint stands for it. Postern does
// not evaluate network ACLs, and the ACL schema it validates against has no
// `http_message_signature` signal, so no ACL can refer to a key yet.

interface NetworkAclKey {
  id: string; name: string; alg: 'hmac-sha256'; fingerprint: string; created_at: string; updated_at: string;
  /** The decoded key material, base64, sealed. */
  value: string;
}

const MAX_KEYS = 10;
const MAX_NAME = 255;
const MIN_BYTES = 32;
const MAX_BYTES = 512;
const PROPERTIES = ['name', 'alg', 'value'];

const bad = (why: string) => badRequest(`Payload validation error: ${why}`);

/** The spec cannot check this body, so it is checked here, in Auth0's message shape. */
function material(body: unknown): { name: string; bytes: Buffer } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad(`'Expected type object but found type ${Array.isArray(body) ? 'array' : body === null ? 'null' : typeof body}'.`);
  const b = body as Record<string, unknown>;
  const extra = Object.keys(b).find((k) => !PROPERTIES.includes(k));
  if (extra !== undefined) throw bad(`'Additional properties not allowed: ${extra}'.`);
  const missing = PROPERTIES.find((k) => b[k] === undefined);
  if (missing) throw bad(`'Missing required property: ${missing}'.`);
  if (typeof b.name !== 'string' || b.name.length < 1 || b.name.length > MAX_NAME) throw bad(`'name must be a string of 1 to ${MAX_NAME} characters' on property name.`);
  if (b.alg !== 'hmac-sha256') throw bad("'No enum match for: " + JSON.stringify(b.alg) + "' on property alg.");
  if (typeof b.value !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(b.value)) throw bad("'value must be base64-encoded key material' on property value.");
  const bytes = Buffer.from(b.value, 'base64');
  if (bytes.length < MIN_BYTES || bytes.length > MAX_BYTES) throw bad(`'The decoded value must be between ${MIN_BYTES} and ${MAX_BYTES} bytes' on property value.`);
  return { name: b.name, bytes };
}

const show = (k: NetworkAclKey) => ({ id: k.id, name: k.name, alg: k.alg, fingerprint: k.fingerprint, created_at: k.created_at, updated_at: k.updated_at });

const networkAclKeys: CollectionResource<NetworkAclKey> = {
  doc: 'network-acl-keys',
  missing: () => notFound('Network ACL key not found', 'inexistent_network_acl_key'),
  path: '/keys/network-acls',
  list: { kind: 'array' }, // answered by the route below, newest first
  show,
  create({ env, body }: OpContext, others) {
    const { name, bytes } = material(body);
    // Both limits are checked inside the conditional write, so concurrent creates cannot pass them together.
    if (others.some((k) => k.name === name)) throw conflict(`A Network ACL key named ${JSON.stringify(name)} already exists.`);
    if (others.length >= MAX_KEYS) throw badRequest(`A tenant can have at most ${MAX_KEYS} Network ACL keys.`, 'too_many_entities');
    const now = new Date().toISOString();
    return {
      id: collectionId('key_', 22), name, alg: 'hmac-sha256', fingerprint: createHash('sha256').update(bytes).digest('hex'),
      created_at: now, updated_at: now, value: env.box.seal(bytes.toString('base64')),
    };
  },
};

export const networkAclKeyRoutes: Route[] = [
  // Auth0 lists them as {keys}, by creation time descending, without paging (ten at most).
  route('GET', '/keys/network-acls', async ({ env }) => ({ keys: (await listItems<NetworkAclKey>(env, networkAclKeys)).slice().reverse().map(show) })),
  ...collectionRoutes(networkAclKeys).filter(({ op }) => !(op.method === 'GET' && op.path === networkAclKeys.path)),
];
