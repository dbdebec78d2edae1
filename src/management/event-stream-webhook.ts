import { postOut } from '../lib/post-out.ts';

// One POST of an event to an event stream's webhook, with the stream's
// authorization. The answer is what a delivery attempt records: success, or
// Auth0's short error text (the status and the start of the body, or why the
// request failed) with the status, if any. The credential goes in a header
// only, never in the text.

export interface WebhookAuth { method: string; value: string; username?: string; header_key?: string }

const shorten = (s: string) => (s.length > 100 ? `${s.slice(0, 100)} ...` : s);

function authHeaders(auth: WebhookAuth): Record<string, string> {
  if (auth.method === 'bearer') return { authorization: `Bearer ${auth.value}` };
  if (auth.method === 'basic') return { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.value}`).toString('base64')}` };
  return { [auth.header_key!]: auth.value };
}

export type Posted = { ok: true } | { ok: false; error: string; status?: number };

export async function postEvent(endpoint: string, auth: WebhookAuth, event: unknown, signal?: AbortSignal): Promise<Posted> {
  try {
    const r = await postOut(endpoint, { 'content-type': 'application/json', ...authHeaders(auth) }, JSON.stringify(event), signal);
    return r.ok ? { ok: true } : { ok: false, error: shorten(`${r.status} - ${r.text}`), status: r.status };
  } catch (e) {
    const cause = (e as any)?.cause?.code ?? (e as Error)?.name ?? 'error';
    return { ok: false, error: shorten(`Post "${endpoint}": ${cause}`) };
  }
}
