import { randomUUID } from 'node:crypto';
import type { Env } from '../tenant/env.ts';

// What log streams (log-stream-delivery.ts) and event streams
// (event-stream-dispatch.ts) share to deliver in the background. A stream's
// position is a tenant document: the last item delivered, and a lease that one
// process takes (by compare-and-swap) before it sends what follows. So among
// the processes and nodes of a deployment one sends a given batch, and a batch
// is sent again only when its sender died or gave it up (at least once).

export interface Cursor { after: string; lease?: { holder: string; until: number } }
class Lost extends Error {}

export function cursorLeases(env: Env, leaseMs: number) {
  const me = randomUUID();
  const leasedByOther = (c: Cursor | undefined) => !!c?.lease && c.lease.holder !== me && c.lease.until > Date.now();
  return {
    leasedByOther,
    /** Takes the lease, if the position is still `after` and no other process holds it; when it ends, or undefined. */
    async claim(doc: string, after: string): Promise<number | undefined> {
      const until = Date.now() + leaseMs;
      try {
        await env.store.modifyTenantDoc<Cursor>(doc, (c) => {
          if ((c && c.after !== after) || leasedByOther(c)) throw new Lost();
          return { after, lease: { holder: me, until } };
        });
        return until;
      } catch (e) {
        if (e instanceof Lost) return undefined;
        throw e;
      }
    },
    /** Gives the lease back at the new position; a stream deleted meanwhile, or a lease lost, is left alone. */
    async release(doc: string, after: string) {
      await env.store.modifyTenantDoc<Cursor>(doc, (c) => {
        if (!c || c.lease?.holder !== me) throw new Lost();
        return { after };
      }).catch((e) => { if (!(e instanceof Lost)) throw e; });
    },
  };
}

/** Runs `tick` every `ms` beside the requests, one run at a time; `stop` aborts the run under way and waits for it. */
export function everyTick(env: Env, what: string, ms: number, tick: (signal: AbortSignal) => Promise<void>) {
  const abort = new AbortController();
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    running ??= tick(abort.signal).catch((e) => env.log.warn({ err: (e as Error).message }, `${what} failed`))
      .finally(() => { running = undefined; });
  }, ms);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      abort.abort();
      await running;
    },
  };
}
