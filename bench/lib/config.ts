// Bench knobs, all from the environment so `npm run bench` needs no arguments.
//   BENCH_QUICK=1            ~30 s smoke run: 10k users, short load phases
//   BENCH_USERS=100000,1000000  user-search scales (ascending; each tops up the previous)
//   BENCH_BACKENDS=sqlite,postgres
//   BENCH_ONLY=tokens,users,search,login,refresh,rbac,engine,role-users,rss   (default: all)
//   BENCH_DURATION=10        seconds per throughput phase
//   BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/test
//   BENCH_KEEP=1             keep bench/.data/<run> afterwards
//   BENCH_PROFILE=1          V8 CPU profiles of the server into bench/.data/profiles/<server>/
const env = process.env;
const quick = env.BENCH_QUICK === '1';
const list = (v: string | undefined, dflt: string[]) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : dflt);

export const bench = {
  quick,
  users: list(env.BENCH_USERS, quick ? ['10000'] : ['100000', '1000000']).map(Number).sort((a, b) => a - b),
  backends: list(env.BENCH_BACKENDS, ['sqlite', 'postgres']) as Array<'sqlite' | 'postgres'>,
  only: new Set(list(env.BENCH_ONLY, [])),
  duration: Number(env.BENCH_DURATION ?? (quick ? 1 : 10)),
  /** autocannon warm-up before each measured phase, seconds. */
  warmup: quick ? 0.5 : 2,
  rawSeconds: quick ? 0.5 : 4,
  rawCpuSeconds: quick ? 0.3 : 1,
  connections: 32,
  pgUrl: env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  keep: env.BENCH_KEEP === '1',
  /** Latency samples per search query (capped by searchBudgetMs). */
  searchSamples: quick ? 5 : 40,
  searchBudgetMs: quick ? 800 : 12_000,
  roleMembers: quick ? 5_000 : 100_000,
};

export const wants = (module: string) => bench.only.size === 0 || bench.only.has(module);
