// One POST to an endpoint a tenant configured (an event stream's webhook, a
// log stream): redirects are not followed, the request has a time limit (and
// the caller's abort), and the answer is read so the connection is reused.

const TIMEOUT_MS = 10_000;

export async function postOut(url: string, headers: Record<string, string>, body: string, signal?: AbortSignal) {
  const limit = AbortSignal.timeout(TIMEOUT_MS);
  const r = await fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal: signal ? AbortSignal.any([signal, limit]) : limit });
  const text = await r.text().catch(() => '');
  return { ok: r.ok, status: r.status, text };
}
