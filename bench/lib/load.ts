import autocannon from 'autocannon';
import { bench } from './config.ts';

// Load phases. autocannon drives fixed requests (and per-connection chains via
// setupRequest/onResponse); `closedLoop` drives multi-step flows that need
// cookies and redirects, where each virtual user runs one flow after another.

export interface LoadResult { rps: number; total: number; non2xx: number; errors: number; p50: number; p99: number }

export async function cannon(opts: Record<string, any> & { url: string; ca: string }, seconds = bench.duration): Promise<LoadResult> {
  const { ca, ...rest } = opts;
  // A short warm-up lets the cluster workers JIT and fill their caches first.
  await autocannon({ connections: bench.connections, ...rest, duration: Math.min(2, seconds), tlsOptions: { ca } } as any);
  const r = await autocannon({ connections: bench.connections, ...rest, duration: seconds, tlsOptions: { ca } } as any);
  return {
    rps: r.requests.total / seconds, total: r.requests.total,
    non2xx: r.non2xx, errors: r.errors + r.timeouts, p50: r.latency.p50, p99: r.latency.p99,
  };
}

export async function closedLoop(concurrency: number, seconds: number, once: (vu: number) => Promise<void>) {
  let done = 0, failed = 0;
  let firstError: unknown;
  const latencies: number[] = [];
  const until = performance.now() + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, async (_, vu) => {
    while (performance.now() < until) {
      const t = performance.now();
      try { await once(vu); done++; latencies.push(performance.now() - t); } catch (e) { failed++; firstError ??= e; }
    }
  }));
  latencies.sort((a, b) => a - b);
  return { rps: done / seconds, done, failed, firstError, p50: pct(latencies, 50), p95: pct(latencies, 95) };
}

export function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
