import { randomUUID } from 'node:crypto';
import { ApiError, badRequest, conflict, notFound } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';
import { newWrappingKey, unwrapCustomerKey, WRAPPING_ALGORITHM } from '../tenant/key-wrap.ts';
import { inMemory } from './doc-helpers.ts';
import { listResponse } from './pagination.ts';
import { reply, route, type Route } from './router.ts';
import { changeItems, listItems, type Collection, type Item } from './tenant-collection.ts';

// Auth0's customer-managed keys: the key hierarchy (an environment root key or
// a customer-provided root key, the tenant master key under it), its states,
// rekeying, and bring-your-own-key import. The wrapping key is a real RSA key
// whose private half is sealed at rest, and an import really unwraps and checks
// the customer's AES-256 key, which is then kept sealed.
//
// What this is not (yet): Postern's own secrets stay sealed with its master key
// (tenant/secrets.ts). The hierarchy is recorded and the customer key verified,
// but neither the customer key nor a tenant master key encrypts any of
// Postern's data, so rekeying and deleting a root re-encrypt nothing.
//
// State changes follow what Auth0 answers: an import or a rekey destroys the
// tenant master key it replaces (re-parented under the new root), deleting a
// customer key destroys it and it stays listed, and deleting an active root
// brings back a new environment root key with a new master key.

type KeyType = 'environment-root-key' | 'tenant-master-key' | 'customer-provided-root-key' | 'tenant-encryption-key';
type KeyState = 'pre-activation' | 'active' | 'deactivated' | 'destroyed';

interface EncryptionKey extends Item {
  type: KeyType; state: KeyState; created_at: string; updated_at: string; parent_kid: string | null;
  /** The RSA key of a pending import: the public PEM, and the private PEM sealed. */
  wrapping?: { public_key: string; private_key: string };
  /** An imported customer key, sealed (base64 of its 32 bytes). */
  material?: string;
}

const keys: Collection<EncryptionKey> = { doc: 'encryption-keys', missing: () => notFound('The encryption key does not exist.') };

/** The two kinds a customer creates and imports; the others are Auth0's (Postern's) own. */
const customerKey = (k: EncryptionKey) => k.type === 'customer-provided-root-key' || k.type === 'tenant-encryption-key';
const isRoot = (k: EncryptionKey) => k.type === 'environment-root-key' || k.type === 'customer-provided-root-key';

const fresh = (type: KeyType, state: KeyState, parent: string | null, now: string): EncryptionKey =>
  ({ id: randomUUID(), type, state, created_at: now, updated_at: now, parent_kid: parent });

/** Destroyed keys keep their record, never their material. */
function destroyed({ wrapping: _w, material: _m, ...k }: EncryptionKey, now: string, parent = k.parent_kid): EncryptionKey {
  return { ...k, state: 'destroyed', updated_at: now, parent_kid: parent };
}

const show = (k: EncryptionKey) =>
  ({ kid: k.id, type: k.type, state: k.state, created_at: k.created_at, updated_at: k.updated_at, parent_kid: k.parent_kid, public_key: null });

function find(all: EncryptionKey[], kid: string): EncryptionKey {
  const k = all.find((x) => x.id === kid);
  if (!k) throw keys.missing();
  return k;
}

/** Every tenant starts with an environment root key and a master key under it. */
function initial(now: string): EncryptionKey[] {
  const root = fresh('environment-root-key', 'active', null, now);
  return [root, fresh('tenant-master-key', 'active', root.id, now)];
}

async function hierarchy(env: Env): Promise<EncryptionKey[]> {
  const stored = await listItems(env, keys);
  return stored.length ? stored : changeItems(env, keys, (all) => (all.length ? all : initial(new Date().toISOString())));
}

/** A compare-and-swap change of the hierarchy; `f` may run again on a fresher copy, so it never mutates. */
function change(env: Env, f: (all: EncryptionKey[], now: string) => EncryptionKey[]) {
  return changeItems(env, keys, (stored) => {
    const now = new Date().toISOString();
    return f(stored.length ? stored : initial(now), now);
  });
}

/** A new master key generation under `root`; the active one is re-parented there and destroyed. */
function newMaster(all: EncryptionKey[], root: string, now: string): EncryptionKey[] {
  const kept = all.map((k) => (k.type === 'tenant-master-key' && k.state === 'active' ? destroyed(k, now, root) : k));
  return [...kept, fresh('tenant-master-key', 'active', root, now)];
}

/** The hierarchy once `key` holds its imported material: a root replaces the active root. */
function activate(all: EncryptionKey[], key: EncryptionKey, now: string): EncryptionKey[] {
  if (key.type === 'customer-provided-root-key') {
    const swapped = all.map((k) => (k.id === key.id ? key : isRoot(k) && k.state === 'active' ? destroyed(k, now) : k));
    return newMaster(swapped, key.id, now);
  }
  const master = all.find((k) => k.type === 'tenant-master-key' && k.state === 'active');
  const placed = { ...key, parent_kid: master?.id ?? null };
  return all.map((k) => (k.id === key.id ? placed : k.type === key.type && k.state === 'active' ? destroyed(k, now) : k));
}

const notImportable = (k: EncryptionKey) =>
  new ApiError(400, `A key of type ${k.type} is managed by Auth0 and takes no key material.`, 'operation_not_supported');
const notPending = (k: EncryptionKey) =>
  conflict(`The key is in state ${k.state}; key material is only imported into a key in pre-activation.`, 'invalid_key_state');

function pendingImport(all: EncryptionKey[], kid: string): EncryptionKey {
  const k = find(all, kid);
  if (!customerKey(k)) throw notImportable(k);
  if (k.state !== 'pre-activation') throw notPending(k);
  return k;
}

export const encryptionKeyRoutes: Route[] = [
  route('GET', '/keys/encryption', async ({ env, query }) => {
    const newestFirst = async () => (await hierarchy(env)).slice().reverse().map(show);
    const page: any = await listResponse(query, inMemory(newestFirst), { key: 'keys' });
    if (!Array.isArray(page)) delete page.length; // Auth0's page of keys is {start, limit, total, keys}
    return page;
  }),
  route('POST', '/keys/encryption', async ({ env, body }) => {
    let made!: EncryptionKey;
    await change(env, (all, now) => {
      if (all.some((k) => k.type === body.type && k.state === 'pre-activation')) {
        throw conflict(`A key of type ${body.type} is already waiting for its key material.`, 'key_already_pending');
      }
      made = fresh(body.type, 'pre-activation', null, now);
      return [...all, made];
    });
    return reply(201, show(made));
  }),
  // Declared before /{kid}, which would otherwise take "rekey" for a key id.
  route('POST', '/keys/encryption/rekey', async ({ env }) => {
    await change(env, (all, now) => newMaster(all, all.find((k) => isRoot(k) && k.state === 'active')!.id, now));
  }),
  route('GET', '/keys/encryption/{kid}', async ({ env, params }) => show(find(await hierarchy(env), params.kid))),
  route('POST', '/keys/encryption/{kid}/wrapping-key', async ({ env, params }) => {
    pendingImport(await hierarchy(env), params.kid);
    const pair = await newWrappingKey();
    const wrapping = { public_key: pair.publicKey, private_key: env.box.seal(pair.privateKey) };
    // A new wrapping key replaces an earlier one: only the latest unwraps an import.
    await change(env, (all) => {
      const k = pendingImport(all, params.kid);
      return all.map((x) => (x === k ? { ...k, wrapping } : x));
    });
    return reply(201, { public_key: pair.publicKey, algorithm: WRAPPING_ALGORITHM });
  }),
  route('POST', '/keys/encryption/{kid}', async ({ env, params, body }) => {
    const pending = pendingImport(await hierarchy(env), params.kid);
    if (!pending.wrapping) throw conflict('No wrapping key was created for this key; create one and wrap the key material with it.', 'missing_wrapping_key');
    const material = unwrapCustomerKey(env.box.open(pending.wrapping.private_key), body.wrapped_key);
    if (!material) throw badRequest('Invalid input. Wrapped key material is invalid or unsupported key type.');
    const sealed = env.box.seal(material.toString('base64'));
    material.fill(0);
    let imported!: EncryptionKey;
    await change(env, (all, now) => {
      const k = pendingImport(all, params.kid);
      // The material was unwrapped with the wrapping key read above; a newer one voids it.
      if (k.wrapping?.private_key !== pending.wrapping!.private_key) throw conflict('The wrapping key was replaced meanwhile; wrap the key material with the new one.', 'missing_wrapping_key');
      const { wrapping: _w, ...rest } = k;
      imported = { ...rest, state: 'active', updated_at: now, material: sealed };
      const next = activate(all, imported, now);
      imported = find(next, k.id);
      return next;
    });
    const { public_key: _p, ...answer } = show(imported); // Auth0's answer to an import has no public_key
    return reply(201, answer);
  }),
  route('DELETE', '/keys/encryption/{kid}', async ({ env, params }) => {
    await change(env, (all, now) => {
      const k = find(all, params.kid);
      if (!customerKey(k)) throw new ApiError(400, `A key of type ${k.type} cannot be deleted; only customer-provided keys can.`, 'operation_not_supported');
      if (k.state === 'destroyed') throw badRequest('The key is already destroyed.', 'invalid_key_state');
      const next = all.map((x) => (x === k ? destroyed(x, now) : x));
      if (k.type !== 'customer-provided-root-key' || k.state !== 'active') return next;
      // Without the customer's root, an Auth0-managed one takes its place.
      const root = fresh('environment-root-key', 'active', null, now);
      return newMaster([...next, root], root.id, now);
    });
  }),
];
