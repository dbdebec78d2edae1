import { badRequest, notFound } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';
import { credentialsOf, referencedCredentialIds, type StoredCredential } from '../tenant/client-credentials.ts';
import { credentialFromBody, credentialJson, withCredentials } from './client-credential-input.ts';
import { loadClient } from './clients.ts';
import { patchDoc } from './patch-doc.ts';
import { reply, route, type Route } from './router.ts';

// An application's credentials (public keys for private_key_jwt, certificates
// for mTLS), kept in the application's document (tenant/client-credentials.ts).
// Creating one does not enable it: the application's client_authentication_methods
// does (client-auth-methods.ts), and a credential it names cannot be deleted.

function find(data: any, id: string): StoredCredential {
  return credentialsOf(data).find((c) => c.id === id) ?? (() => { throw notFound('The credential does not exist', 'inexistent_credential'); })();
}

/** A conditional write of the application's credentials; `change` runs on the freshest list. */
async function changeCredentials(env: Env, clientId: string, change: (data: any) => StoredCredential[]) {
  const saved = await patchDoc(env.store.clients, clientId, () => loadClient(env, clientId), (cur) => ({ data: { ...cur.data, credentials: change(cur.data) } }));
  // The engine's keys for the application come from these.
  env.invalidate('clients');
  return saved.data;
}

export const clientCredentialRoutes: Route[] = [
  // Auth0 answers the whole list (at most four) and ignores paging parameters,
  // which SDKs such as go-auth0 send anyway; so this list is not paged.
  route('GET', '/clients/{client_id}/credentials', async ({ env, params }) =>
    credentialsOf((await loadClient(env, params.client_id)).data).map(credentialJson)),
  route('POST', '/clients/{client_id}/credentials', async ({ env, params, body }) => {
    await loadClient(env, params.client_id);
    const made = credentialFromBody(body);
    await changeCredentials(env, params.client_id, (data) => withCredentials(data, [made]));
    return reply(201, credentialJson(made));
  }),
  route('GET', '/clients/{client_id}/credentials/{credential_id}', async ({ env, params }) =>
    credentialJson(find((await loadClient(env, params.client_id)).data, params.credential_id))),
  route('PATCH', '/clients/{client_id}/credentials/{credential_id}', async ({ env, params, body }) => {
    const data = await changeCredentials(env, params.client_id, (cur) => {
      find(cur, params.credential_id);
      return credentialsOf(cur).map((c) => {
        if (c.id !== params.credential_id) return c;
        const { expires_at: _, ...rest } = c;
        // null lifts the expiry.
        return { ...rest, ...(body.expires_at ? { expires_at: new Date(body.expires_at).toISOString() } : {}), updated_at: new Date().toISOString() };
      });
    });
    return credentialJson(find(data, params.credential_id));
  }),
  route('DELETE', '/clients/{client_id}/credentials/{credential_id}', async ({ env, params }) => {
    await changeCredentials(env, params.client_id, (cur) => {
      find(cur, params.credential_id);
      if (referencedCredentialIds(cur).has(params.credential_id)) throw badRequest('Cannot delete credential still associated with a client');
      return credentialsOf(cur).filter((c) => c.id !== params.credential_id);
    });
  }),
];
