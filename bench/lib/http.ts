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
