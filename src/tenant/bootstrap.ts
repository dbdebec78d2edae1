import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Env } from './env.ts';
import { scopeCatalogue } from '../management/spec.ts';
import { createResourceServer } from '../management/resource-servers.ts';
import { createConnection } from '../management/connections.ts';
import { createClient } from '../management/clients.ts';
import { createClientGrant } from '../management/client-grants.ts';
import { DEFAULT_SETTINGS } from '../management/tenant-settings.ts';
import { GLOBAL_CLIENT_NAME, globalClient } from './global-client.ts';

const LEGACY_SCOPES = ['read:users_app_metadata', 'read:insights', 'read:shields', 'read:triggers', 'read:entitlements'];
export const BOOTSTRAP_CLIENT_NAME = 'Postern Bootstrap (M2M)';

export interface BootstrapInfo { domain: string; issuer: string; client_id: string; client_secret: string; audience: string; ca_cert: string | null }

/** The Management API's scopes: the spec's catalogue plus Auth0's legacy grantable ones. */
export function managementApiScopes() {
  const scopes = scopeCatalogue();
  const have = new Set(scopes.map((s) => s.value));
  for (const s of LEGACY_SCOPES) if (!have.has(s)) scopes.push({ value: s, description: s });
  return scopes;
}

/**
 * First start: tenant, signing keys, the Management API, the default database
 * connection, the global client and a bootstrap M2M client. Each step checks before it creates,
 * so a restart (or a second node) changes nothing.
 */
export async function bootstrap(env: Env, caPath: string | null): Promise<BootstrapInfo> {
  const { store } = env;
  if (!(await store.getTenant())) {
    await store.createTenant(env.config.domain.replace(/[:.]/g, '-'), { ...DEFAULT_SETTINGS, friendly_name: 'Postern' });
  }
  await env.keys.ensure();

  const scopes = managementApiScopes();
  const system = (await store.resourceServers.list()).items.find((d) => d.data.is_system);
  if (!system) {
    await createResourceServer(env, { name: 'Auth0 Management API', identifier: env.mgmtAudience, scopes, token_lifetime: 86400 }, { isSystem: true });
  } else if (system.data.identifier !== env.mgmtAudience || system.data.scopes.length !== scopes.length) {
    // The domain changed or the catalogue grew: keep the system API in step.
    await store.resourceServers.update(system.id, { ...system.data, identifier: env.mgmtAudience, scopes }, { identifier: env.mgmtAudience });
  }

  if (!(await store.connections.findBy('name', 'Username-Password-Authentication'))) {
    await createConnection(env, { name: 'Username-Password-Authentication', strategy: 'auth0' });
  }

  if (!(await globalClient(env))) {
    await createClient(env, { name: GLOBAL_CLIENT_NAME, global: true, custom_login_page_on: false, callbacks: [], grant_types: [] });
  }

  const infoPath = join(env.config.dataDir, 'bootstrap.json');
  let clientDoc = (await store.clients.list({ name: BOOTSTRAP_CLIENT_NAME })).items[0];
  if (!clientDoc) {
    await createClient(env, { name: BOOTSTRAP_CLIENT_NAME, app_type: 'non_interactive', grant_types: ['client_credentials'] });
    clientDoc = (await store.clients.list({ name: BOOTSTRAP_CLIENT_NAME })).items[0];
  }
  const grants = (await store.clientGrants.list({ client_id: clientDoc.id, audience: env.mgmtAudience })).items;
  const all = scopes.map((s) => s.value);
  if (!grants.length) await createClientGrant(env, { client_id: clientDoc.id, audience: env.mgmtAudience, scope: all });
  else if (grants[0].data.scope.length !== all.length) await store.clientGrants.update(grants[0].id, { ...grants[0].data, scope: all });

  const info: BootstrapInfo = {
    domain: env.config.domain,
    issuer: env.issuer,
    client_id: clientDoc.id,
    client_secret: env.box.open(clientDoc.secret),
    audience: env.mgmtAudience,
    ca_cert: caPath,
  };
  const serialized = JSON.stringify(info, null, 2) + '\n';
  if (!existsSync(infoPath) || readFileSync(infoPath, 'utf8') !== serialized) writeFileSync(infoPath, serialized, { mode: 0o600 });
  chmodSync(infoPath, 0o600);
  return info;
}
