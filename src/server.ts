import Koa from 'koa';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './cli/config.ts';
import { openDb, type Db } from './store/db.ts';
import { migrate } from './store/migrations.ts';
import { Store } from './store/store.ts';
import { SecretBox, newMasterKey } from './tenant/secrets.ts';
import { KeyRing } from './tenant/keys.ts';
import type { Env } from './tenant/env.ts';
import { createLogger } from './lib/log.ts';
import { Engine } from './oidc/provider.ts';
import { tokenEndpoint } from './oidc/token-endpoint.ts';
import { discovery } from './oidc/discovery.ts';
import { managementRouter } from './management/router.ts';
import { managementRoutes } from './management/index.ts';
import { bootstrap, type BootstrapInfo } from './tenant/bootstrap.ts';
import { TenantLog } from './tenant/logs.ts';
import { startLogStreaming } from './management/log-stream-delivery.ts';
import { startEventStreaming } from './management/event-stream-dispatch.ts';
import { LOGIN_PATHS, loginRouter } from './login/index.ts';
import { globalTokenRevocation } from './oidc/global-token-revocation.ts';
import { deviceAuthorizationEndpoint } from './oidc/device-flow.ts';
import { backchannelAuthenticationEndpoint } from './oidc/ciba.ts';
import { MFA_API_PATHS, mfaApi } from './oidc/mfa-api.ts';
import { under } from './lib/paths.ts';
import { refuseNulUrl } from './lib/nul-guard.ts';
import { scimEndpoint } from './scim/router.ts';
import { exportDownload } from './management/export-download.ts';
import { EXPORT_FILES_PATH } from './management/export-location.ts';
import type { CacheBus } from './cli/cache-bus.ts';
import { ActionsRuntime } from './actions/runtime.ts';
import { samlpEndpoint } from './samlp/index.ts';
import { wsfedEndpoint } from './wsfed/index.ts';
import { resourceOwnerEndpoint } from './oidc/legacy-ro.ts';
import { delegationEndpoint } from './oidc/legacy-delegation.ts';
import { tokenInfoEndpoint } from './oidc/tokeninfo.ts';

export const DEFAULT_TENANT = 'default';

/** The master key from the setting, or the one generated into the data dir on first start. */
export function masterKey(config: Config): string {
  if (config.masterKey) return config.masterKey;
  mkdirSync(config.dataDir, { recursive: true });
  const file = join(config.dataDir, 'master.key');
  if (!existsSync(file)) writeFileSync(file, newMasterKey() + '\n', { mode: 0o600, flag: 'wx' });
  return readFileSync(file, 'utf8').trim();
}

export interface Runtime { env: Env; engine: Engine; app: Koa; db: Db; bootstrap?: BootstrapInfo; close(): Promise<void> }

/**
 * One process's server. The first process runs migrations and bootstrap;
 * cluster workers and extra nodes open the same database and find it ready.
 */
export async function createRuntime(config: Config, opts: { primary?: boolean; caPath?: string | null; bus?: CacheBus } = {}): Promise<Runtime> {
  const primary = opts.primary !== false;
  const log = createLogger(config.logLevel);
  const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  if (primary) await migrate(db.kysely);
  const store = new Store(db, DEFAULT_TENANT);
  const box = new SecretBox(masterKey(config));
  const keys = new KeyRing(store, box, config.domain.replace(/:\d+$/, ''));
  await keys.load();

  let engine: Engine | undefined;
  const dropCaches = (what: Parameters<Env['invalidate']>[0]) => {
    if (!engine) return;
    if (what === 'clients' || what === 'all') engine.clients.clear();
    if (what === 'resource_servers' || what === 'all') engine.apis.clear();
    if (what === 'keys' || what === 'all') engine.rebuild();
    if (what === 'actions' || what === 'all') env.actions.clear();
  };
  // Sibling workers told of a write; its response waits for them (see below).
  const telling = new Set<Promise<void>>();
  opts.bus?.subscribe(dropCaches);
  const env: Env = {
    config, store, box, keys, log,
    events: new TenantLog(store, log, config.domain.replace(/:\d+$/, '')),
    issuer: config.issuer,
    mgmtAudience: `${config.issuer}api/v2/`,
    actions: new ActionsRuntime(store, box, log, config.actions === 'on', config.actionTimeout),
    invalidate(what) {
      dropCaches(what);
      if (!opts.bus) return;
      const told: Promise<void> = opts.bus.publish(what).finally(() => telling.delete(told));
      telling.add(told);
    },
  };

  const info = primary ? await bootstrap(env, opts.caPath ?? null) : undefined;
  engine = new Engine(env);
  const logStreaming = startLogStreaming(env);
  const eventStreaming = startEventStreaming(env);
  const timer = setInterval(() => { engine!.refreshKeys().catch((e) => log.warn({ err: e.message }, 'key refresh failed')); }, 10_000);
  timer.unref();

  const app = new Koa();
  app.proxy = config.http;

  app.use(async (ctx, next) => {
    try {
      await next();
      // A write answers only once every worker dropped what it cached, so the
      // caller's next request sees the write whichever worker it reaches.
      if (telling.size) await Promise.all(telling);
    } catch (e) {
      log.error({ err: { message: (e as Error).message, stack: (e as Error).stack }, path: ctx.path }, 'request failed');
      ctx.status = 500;
      ctx.body = { error: 'server_error', error_description: 'Internal Server Error' };
    }
  });
  app.use(refuseNulUrl());
  const mgmt = managementRouter(env, managementRoutes);
  app.use(under(['/api/v2'], mgmt.routes()));
  app.use(discovery(env));
  app.use(under(['/scim/'], scimEndpoint(env)));
  app.use(under([EXPORT_FILES_PATH], exportDownload(env)));
  app.use(under(LOGIN_PATHS, loginRouter(env, engine).routes()));
  app.use(under(MFA_API_PATHS, mfaApi(env, engine).routes()));
  app.use(samlpEndpoint(env, engine));
  app.use(under(['/wsfed'], wsfedEndpoint(env, engine)));
  app.use(globalTokenRevocation(env, engine));
  app.use(tokenEndpoint(env, engine));
  app.use(deviceAuthorizationEndpoint(env, engine));
  app.use(backchannelAuthenticationEndpoint(env, engine));
  // Auth0's legacy Authentication API; /oauth/ro and /delegation hand their requests to the engine's token endpoint.
  app.use(resourceOwnerEndpoint());
  app.use(delegationEndpoint());
  app.use(tokenInfoEndpoint(env, engine));
  app.use(engine.middleware());
  return {
    env, app, db, engine, bootstrap: info,
    async close() { clearInterval(timer); env.actions.close(); await logStreaming.stop(); await eventStreaming.stop(); await env.events.flush(); await db.close(); },
  };
}
