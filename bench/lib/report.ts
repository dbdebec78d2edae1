// Collects figures as modules produce them and prints one table at the end.
export interface Row { section: string; metric: string; value: string; target?: string; verdict?: string }
const rows: Row[] = [];

export function record(row: Row) {
  rows.push(row);
  const extra = [row.target && `target ${row.target}`, row.verdict].filter(Boolean).join(' → ');
  process.stdout.write(`  ${row.metric}: ${row.value}${extra ? `   (${extra})` : ''}\n`);
}
export const skipped = (section: string, metric: string, reason: string) =>
  record({ section, metric, value: `SKIPPED: ${reason}` });

export const heading = (s: string) => process.stdout.write(`\n== ${s} ==\n`);
export const note = (s: string) => process.stdout.write(`  · ${s}\n`);

/** PASS / BELOW TARGET for a figure that should be at least (or at most) the target. */
export function verdict(value: number, target: number, better: 'higher' | 'lower' = 'higher') {
  const ok = better === 'higher' ? value >= target : value <= target;
  return ok ? 'PASS' : 'BELOW TARGET';
}

export const fmt = {
  rate: (n: number) => `${n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1)}/s`,
  ms: (n: number) => `${n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : Math.round(n)} ms`,
  mb: (kb: number) => `${(kb / 1024).toFixed(0)} MB`,
  ratio: (n: number) => n.toFixed(2),
};

export function summary() {
  const cols = ['section', 'metric', 'value', 'target', 'verdict'] as const;
  // Long error texts were printed in full where they happened; the table keeps a line each.
  const clip = (v: string) => (v.length > 140 ? `${v.slice(0, 139)}…` : v);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => clip(r[c] ?? '').length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(width[i])).join(' | ').trimEnd();
  const out = ['', '== Summary ==', line([...cols]), width.map((w) => '-'.repeat(w)).join('-+-')];
  for (const r of rows) out.push(line(cols.map((c) => clip(r[c] ?? ''))));
  process.stdout.write(out.join('\n') + '\n');
}
