import autocannon from 'autocannon';
import { bench } from './config.ts';

// Load phases. autocannon drives fixed requests (and per-connection chains via
// setupRequest/onResponse); `closedLoop` drives multi-step flows that need
// cookies and redirects, where each virtual user runs one flow after another.

/**
 * `cpuMsPer`: server CPU per request in the measured phase, when a meter was given.
 * `clientCpuMsPer`: this process's (the load generator's) CPU per request: on a small
 * machine, the generator's CPU is taken from the server under test.
 */
export interface LoadResult { rps: number; total: number; non2xx: number; errors: number; p50: number; p99: number; cpuMsPer?: number; clientCpuMsPer: number }
/** Reads the server's CPU seconds; lets a figure be judged apart from other load on a shared machine. */
export type Meter = () => number;

export async function cannon(opts: Record<string, any> & { url: string; ca: string; meter?: Meter }, seconds = bench.duration): Promise<LoadResult> {
  const { ca, meter, ...rest } = opts;
  // A short warm-up lets the cluster workers JIT and fill their caches first.
  await autocannon({ connections: bench.connections, ...rest, duration: Math.min(bench.warmup, seconds), tlsOptions: { ca } } as any);
  const cpu0 = meter?.();
  const own0 = process.cpuUsage();
  const r = await autocannon({ connections: bench.connections, ...rest, duration: seconds, tlsOptions: { ca } } as any);
  const own = process.cpuUsage(own0);
  const cpu = meter ? meter() - cpu0! : undefined;
  return {
    rps: r.requests.total / seconds, total: r.requests.total,
    non2xx: r.non2xx, errors: r.errors + r.timeouts, p50: r.latency.p50, p99: r.latency.p99,
    cpuMsPer: cpu !== undefined && r.requests.total ? (cpu * 1000) / r.requests.total : undefined,
    clientCpuMsPer: r.requests.total ? (own.user + own.system) / 1000 / r.requests.total : NaN,
  };
}

export async function closedLoop(concurrency: number, seconds: number, once: (vu: number) => Promise<void>, meter?: Meter) {
  let done = 0, failed = 0;
  const cpu0 = meter?.();
  let firstError: unknown;
  const own0 = process.cpuUsage();
  const latencies: number[] = [];
  const until = performance.now() + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, async (_, vu) => {
    while (performance.now() < until) {
      const t = performance.now();
      try { await once(vu); done++; latencies.push(performance.now() - t); } catch (e) { failed++; firstError ??= e; }
    }
  }));
  const cpu = meter ? meter() - cpu0! : undefined;
  const own = process.cpuUsage(own0);
  latencies.sort((a, b) => a - b);
  return {
    rps: done / seconds, done, failed, firstError, p50: pct(latencies, 50), p95: pct(latencies, 95),
    cpuMsPer: cpu !== undefined && done ? (cpu * 1000) / done : undefined,
    clientCpuMsPer: done ? (own.user + own.system) / 1000 / done : NaN,
  };
}

export function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
