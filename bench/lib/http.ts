import https from 'node:https';
import { note } from './report.ts';

// fetch with one retry when a kept-alive socket turns out closed (the server
// drops idle connections after 65 s, and seeding a million users takes longer).
// Only socket errors are retried, never HTTP answers; every retry is printed.
export async function fetchRetry(url: string | URL, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (e) {
    const code = (e as any)?.cause?.code;
    if (!/^(UND_ERR_SOCKET|ECONNRESET|EPIPE|UND_ERR_CLOSED)$/.test(code ?? '')) throw e;
    note(`retrying ${new URL(url).pathname} once after a closed connection (${code})`);
    return fetch(url, init);
  }
}

/**
 * Retries `fn` for up to 7 s. With several workers, a client, grant or API just
 * created through one worker is seen by the others only when their 5-second
 * caches expire; a first request that lands there fails until then.
 */
export async function settled<T>(fn: () => Promise<T>, ms = 7000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    try { return await fn(); } catch (e) {
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

export interface LightResponse { status: number; location: string | null; setCookie: string[]; text: string }

const agent = new https.Agent({ keepAlive: true, maxSockets: 256 });

/**
 * One HTTPS request over node:https with a kept-alive agent, body read as text.
 * For load loops that make several requests per operation (the login flow):
 * fetch's streams cost the client a tenth of this 2-core machine, CPU the
 * server under test would otherwise have.
 */
export function lightRequest(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<LightResponse> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: init.method ?? 'GET', headers: init.headers, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { text += d; });
      res.on('end', () => {
        const sc = res.headers['set-cookie'];
        resolve({ status: res.statusCode ?? 0, location: (res.headers.location as string | undefined) ?? null, setCookie: sc ?? [], text });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}
