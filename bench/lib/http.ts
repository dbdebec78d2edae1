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
