import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// Test helpers for the mail flows: read the outbox the server writes when no
// email provider is set, and drive the /u/ forms like a browser (CSRF cookie
// plus the token from the page).

export interface OutboxMail { file: string; to: string; from: string; subject: string; link: string; text: string; html: string }

export function outbox(dataDir: string): OutboxMail[] {
  const dir = join(dataDir, 'outbox');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.json')).sort()
    .map((f) => ({ file: f, ...JSON.parse(readFileSync(join(dir, f), 'utf8')) }));
}

/** Waits for a mail to `to` (optionally matching subject) that was not in `seen`. */
export async function waitForMail(dataDir: string, to: string, opts: { subject?: RegExp; timeoutMs?: number; after?: number } = {}): Promise<OutboxMail> {
  const deadline = Date.now() + (opts.timeoutMs ?? 5000);
  for (;;) {
    const found = outbox(dataDir).slice(opts.after ?? 0).find((m) => m.to === to && (!opts.subject || opts.subject.test(m.subject)));
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no mail to ${to} in the outbox`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const decode = (s: string) => s.replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n))).replace(/&amp;/g, '&');

/** A page's hidden inputs, decoded. */
export function hiddenFields(html: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) out[m[1]] = decode(m[2]);
  return out;
}

export interface Page { status: number; html: string; cookie: string; fields: Record<string, string>; headers: Headers }

export async function getPage(url: string, cookie = ''): Promise<Page> {
  const r = await fetch(url, { headers: cookie ? { cookie } : {}, redirect: 'manual' });
  const html = await r.text();
  const set = r.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  return { status: r.status, html, cookie: set || cookie, fields: hiddenFields(html), headers: r.headers };
}

export async function postForm(url: string, cookie: string, fields: Record<string, string>) {
  const r = await fetch(url, {
    method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: r.status, html: await r.text(), headers: r.headers };
}
