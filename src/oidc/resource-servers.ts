import type { Env } from '../tenant/env.ts';
import { builtInApi } from './mfa-audience.ts';

/** APIs by identifier, cached briefly like clients; the token path reads them on every call. Built-in APIs come first. */
export class ResourceServerCache {
  private entries = new Map<string, { at: number; value: any | null }>();
  constructor(private env: Env, private ttlMs = 5000) {}
  clear() { this.entries.clear(); }
  async get(identifier: string): Promise<{ id: string; data: any } | undefined> {
    const builtIn = builtInApi(this.env, identifier);
    if (builtIn) return builtIn;
    const hit = this.entries.get(identifier);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.value ?? undefined;
    const doc = await this.env.store.resourceServers.findBy('identifier', identifier);
    this.entries.set(identifier, { at: Date.now(), value: doc ?? null });
    return doc ?? undefined;
  }
}
