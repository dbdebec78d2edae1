import { createHash, X509Certificate } from 'node:crypto';
import { conflict, notFound, UniqueViolation } from '../lib/errors.ts';
import {
  configuredAlg, listConnectionKeys, pkcs7Of, provisionConnectionKeys, rotateConnectionKeys, type SigningAlg, type StoredKey,
} from '../connections/keys.ts';
import type { Env } from '../tenant/env.ts';
import { loadConnection } from './connections.ts';
import { reply, route, type Route } from './router.ts';

// /connections/{id}/keys: the keys a connection signs its private_key_jwt
// client assertions with. Only public parts ever leave: the private key stays
// sealed in the store.

/** Every field Auth0 shows for a key; each operation's schema picks its own subset. */
function describe(k: StoredKey) {
  const x509 = new X509Certificate(k.cert);
  const sha1 = createHash('sha1').update(x509.raw).digest('hex').toUpperCase();
  return {
    kid: k.kid,
    cert: k.cert,
    pkcs: pkcs7Of(k.cert),
    current: k.status === 'current',
    next: k.status === 'next',
    previous: k.status === 'previous',
    ...(k.current_since ? { current_since: k.current_since } : {}),
    fingerprint: sha1.match(/../g)!.join(':'),
    thumbprint: sha1,
    algorithm: k.alg,
    key_use: 'signing',
    subject_dn: x509.subject,
  };
}
/** PostConnectionsKeysResponseContent items have no `previous` (a first key never is). */
const created = (k: StoredKey) => { const { previous, ...rest } = describe(k); return rest; };
/** RotateConnectionsKeysResponseContent: the new next key, without current/previous/current_since. */
const rotated = (k: StoredKey) => { const { current, previous, current_since, ...rest } = describe(k); return rest; };

/** The body's algorithm, else the connection's configured one, else the current key's, else RS256. */
async function algFor(env: Env, conn: { id: string; data: any }, body: any): Promise<SigningAlg> {
  return body?.signing_alg ?? configuredAlg(conn.data.options)
    ?? (await listConnectionKeys(env, conn.id)).find((k) => k.status === 'current')?.alg ?? 'RS256';
}

const alreadyProvisioned = () => conflict('The connection already has keys; use POST /api/v2/connections/{id}/keys/rotate to make new ones.');

export const connectionKeyRoutes: Route[] = [
  route('GET', '/connections/{id}/keys', async ({ env, params }) => {
    const conn = await loadConnection(env, params.id);
    return (await listConnectionKeys(env, conn.id)).map(describe);
  }),
  route('POST', '/connections/{id}/keys', async ({ env, params, body }) => {
    const conn = await loadConnection(env, params.id);
    // Checked first so a repeated call does not pay for key generation; the insert settles races.
    if ((await listConnectionKeys(env, conn.id)).length) throw alreadyProvisioned();
    try {
      return reply(201, (await provisionConnectionKeys(env, conn.id, await algFor(env, conn, body))).map(created));
    } catch (e) {
      if (e instanceof UniqueViolation) throw alreadyProvisioned();
      throw e;
    }
  }),
  route('POST', '/connections/{id}/keys/rotate', async ({ env, params, body }) => {
    const conn = await loadConnection(env, params.id);
    const alg = await algFor(env, conn, body);
    let fresh = await rotateConnectionKeys(env, conn.id, alg);
    if (!fresh) {
      // Nothing to rotate yet: the first keys are made, and their next key is the answer, as after a rotation.
      try {
        fresh = (await provisionConnectionKeys(env, conn.id, alg)).find((k) => k.status === 'next');
      } catch (e) {
        if (!(e instanceof UniqueViolation)) throw e;
        fresh = await rotateConnectionKeys(env, conn.id, alg); // provisioned concurrently: rotate those
      }
    }
    if (!fresh) throw notFound('The connection does not exist', 'inexistent_connection'); // deleted meanwhile
    return reply(201, rotated(fresh));
  }),
];
