import cluster, { type Worker } from 'node:cluster';
import type { Env } from '../tenant/env.ts';

// Cluster workers each cache clients, APIs and the engine. A write in one
// worker drops its own caches at once; these messages make the others drop
// theirs before the write's response goes out (worker → primary → other
// workers → acknowledgements back), so the next request may land anywhere.
// Separate nodes sharing PostgreSQL still rely on the caches' short TTL.

type What = Parameters<Env['invalidate']>[0];
/** How a worker tells its siblings, and hears from them. */
export interface CacheBus { publish(what: What): Promise<void>; subscribe(apply: (what: What) => void): void }

const TAG = 'postern:cache';
/** A sibling that does not answer in time (busy, or on its way out) must not hold up the write. */
const ACK_TIMEOUT_MS = 2000;

type Msg =
  | { tag: typeof TAG; kind: 'invalidate'; what: What; seq: number } // worker → primary
  | { tag: typeof TAG; kind: 'apply'; what: What; ref: string } // primary → other workers
  | { tag: typeof TAG; kind: 'applied'; ref: string } // other worker → primary
  | { tag: typeof TAG; kind: 'done'; seq: number }; // primary → the writing worker
const ours = (m: any): m is Msg => m?.tag === TAG;

function send(m: Msg) { if (process.connected) process.send!(m, undefined, undefined, () => { /* primary gone: nothing to tell */ }); }

/** The bus as a cluster worker sees it. */
export function workerCacheBus(): CacheBus {
  let seq = 0;
  const waiting = new Map<number, () => void>();
  let apply: (what: What) => void = () => {};
  process.on('message', (m) => {
    if (!ours(m)) return;
    if (m.kind === 'apply') { apply(m.what); send({ tag: TAG, kind: 'applied', ref: m.ref }); }
    else if (m.kind === 'done') waiting.get(m.seq)?.();
  });
  return {
    subscribe(fn) { apply = fn; },
    publish(what) {
      if (!process.connected) return Promise.resolve();
      const id = ++seq;
      return new Promise<void>((resolve) => {
        const finish = () => { clearTimeout(timer); waiting.delete(id); resolve(); };
        const timer = setTimeout(finish, ACK_TIMEOUT_MS);
        waiting.set(id, finish);
        send({ tag: TAG, kind: 'invalidate', what, seq: id });
      });
    },
  };
}

/** In the primary: passes each worker's invalidations to the others and reports back when all applied them. */
export function relayCacheInvalidations() {
  const open = new Map<string, { from: Worker; seq: number; left: Set<number> }>();
  const settle = (ref: string) => {
    const o = open.get(ref);
    if (!o || o.left.size) return;
    open.delete(ref);
    if (o.from.isConnected()) o.from.send({ tag: TAG, kind: 'done', seq: o.seq } satisfies Msg);
  };
  cluster.on('message', (from, m) => {
    if (!ours(m)) return;
    if (m.kind === 'invalidate') {
      const ref = `${from.id}:${m.seq}`;
      const others = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && w !== from && w.isConnected());
      open.set(ref, { from, seq: m.seq, left: new Set(others.map((w) => w.id)) });
      for (const w of others) w.send({ tag: TAG, kind: 'apply', what: m.what, ref } satisfies Msg);
      settle(ref);
    } else if (m.kind === 'applied') {
      open.get(m.ref)?.left.delete(from.id);
      settle(m.ref);
    }
  });
  cluster.on('exit', (w) => {
    for (const [ref, o] of open) { o.left.delete(w.id); settle(ref); }
  });
}
