import type { Env } from '../tenant/env.ts';
import { DEFAULT_SETTINGS } from '../management/tenant-settings.ts';

/**
 * Tenant settings the engine's synchronous hooks (TTLs, cookie ages) read.
 * Loaded before each engine request; a few seconds stale at most.
 */
export class TenantSettingsCache {
  private at = 0;
  value: any = { ...DEFAULT_SETTINGS };
  constructor(private env: Env, private ttlMs = 5000) {}
  clear() { this.at = 0; }
  async load() {
    if (Date.now() - this.at < this.ttlMs) return this.value;
    const t = await this.env.store.getTenant();
    this.value = { ...DEFAULT_SETTINGS, ...t?.settingsObj };
    this.at = Date.now();
    return this.value;
  }
  /** Absolute session lifetime and idle timeout, in seconds. */
  get sessionLifetime() { return Math.max(1, Math.round(Number(this.value.session_lifetime ?? 168) * 3600)); }
  get idleLifetime() { return Math.max(1, Math.round(Number(this.value.idle_session_lifetime ?? 72) * 3600)); }
}
