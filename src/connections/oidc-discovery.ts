import { badRequest } from '../lib/errors.ts';

// Fetching an upstream IdP's OpenID Provider metadata when a connection is
// saved, as Auth0 does: the result is kept in the connection's options, so a
// login never waits on discovery.

/** Auth0 refuses discovery documents above this size. */
const MAX_BYTES = 128 * 1024;
const TIMEOUT_MS = 10_000;
export const REQUIRED_METADATA = ['issuer', 'authorization_endpoint', 'jwks_uri', 'id_token_signing_alg_values_supported'] as const;

/** `https://host/path` or its `/.well-known/openid-configuration`: both name the same document. */
export function discoveryUrl(base: string): string {
  return /\/\.well-known\/openid-configuration$/.test(base) ? base : `${base.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

async function readLimited(res: Response): Promise<string> {
  if (Number(res.headers.get('content-length') ?? 0) > MAX_BYTES) throw tooLarge();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > MAX_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
const tooLarge = () => badRequest('Discovery document exceeds the maximum allowed size of 128 KB');

/** The metadata at `url`, or a 400 that says why it could not be used. */
export async function fetchDiscovery(url: string): Promise<Record<string, any>> {
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) throw badRequest(`Invalid discovery URL: ${url}`);
  let text: string;
  try {
    const res = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(TIMEOUT_MS) });
    if (!res.ok) throw badRequest(`Failed to fetch the discovery document from ${url}: HTTP ${res.status}`);
    text = await readLimited(res);
  } catch (e) {
    if (e instanceof Error && 'statusCode' in e) throw e;
    throw badRequest(`Failed to fetch the discovery document from ${url}: ${(e as Error).cause ? String(((e as Error).cause as Error).message ?? (e as Error).cause) : (e as Error).message}`);
  }
  let doc: unknown;
  try { doc = JSON.parse(text); } catch { throw badRequest(`The discovery document at ${url} is not JSON`); }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw badRequest(`The discovery document at ${url} is not a JSON object`);
  const missing = REQUIRED_METADATA.filter((k) => !(k in (doc as object)));
  if (missing.length) throw badRequest(`The discovery document at ${url} lacks ${missing.join(', ')}`);
  return doc as Record<string, any>;
}
