import type { Logger } from 'pino';
import type { Config } from '../cli/config.ts';
import type { Store } from '../store/store.ts';
import type { KeyRing } from './keys.ts';
import type { TenantLog } from './logs.ts';
import type { SecretBox } from './secrets.ts';
import type { ActionsRuntime } from '../actions/runtime.ts';

/** What every layer needs to serve one tenant. Built once per process. */
export interface Env {
  config: Config;
  store: Store;
  box: SecretBox;
  keys: KeyRing;
  log: Logger;
  /** The tenant's event log, as GET /api/v2/logs serves it (not the process log). */
  events: TenantLog;
  issuer: string;
  /** The Management API audience, https://{domain}/api/v2/ */
  mgmtAudience: string;
  /** Called after a write that changes what the protocol engine caches. */
  invalidate(what: 'clients' | 'keys' | 'resource_servers' | 'actions' | 'all'): void;
  /** The actions bound to triggers, and the sandbox that runs them. */
  actions: ActionsRuntime;
}
