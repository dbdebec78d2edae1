import { lookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';

// One GET of a small JSON document at a URL that a Management API caller
// names but the tenant does not own: a Client ID Metadata Document, or the
// JWKS it points at. As Auth0 does: https only, no redirects, a size cap, a
// time limit, and JSON only.
//
// SSRF stance. Auth0 refuses documents on loopback and private addresses. The
// URLs that Postern posts to (log streams, event streams, back-channel logout)
// reach such addresses, because only tenant administrators set them and a
// self-hosted tenant's applications live there. A CIMD URL is different: it
// names somebody else's server, fetched on request, and the document it serves
// chooses a second URL (jwks_uri). So here loopback, private, link-local and
// other special-use addresses are refused, checked on the address actually
// connected to (no DNS rebinding between check and connect), unless the server
// runs with --allow-private-fetch (tests, closed networks).

const TIMEOUT_MS = 5_000;

const SPECIAL = new BlockList();
for (const [net, bits] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 3]] as const) SPECIAL.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [['::', 128], ['::1', 128], ['64:ff9b::', 96], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) SPECIAL.addSubnet(net, bits, 'ipv6');

/** Whether an address is loopback, private, link-local or otherwise not on the public internet (IPv4-mapped IPv6 included). */
export const isSpecialAddress = (address: string) => SPECIAL.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');

/** Why a document could not be used: a sentence for Auth0's `errors` list. */
export class FetchFailure extends Error {
  constructor(message: string) { super(message[0].toUpperCase() + message.slice(1)); }
}

class PrivateAddress extends Error {
  code = 'EPRIVATE';
  constructor(host: string) { super(`${host} resolves to a loopback or private address`); }
}

/** DNS resolution that refuses special-use addresses, used by the socket itself. */
function publicOnlyLookup(host: string, options: any, cb: (...a: any[]) => void) {
  lookup(host, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
    if (err) return cb(err);
    if (!addresses.length || addresses.some((a) => isSpecialAddress(a.address))) return cb(new PrivateAddress(host));
    if (options?.all) return cb(null, addresses);
    cb(null, addresses[0].address, addresses[0].family);
  });
}

let publicOnly: unknown;
/**
 * Node's fetch with the lookup above. Its Agent class is reached through the
 * global dispatcher (undici is not a dependency), as oidc-provider does.
 */
function publicOnlyDispatcher(): unknown {
  if (publicOnly) return publicOnly;
  void Response; // loads undici, which installs the global dispatcher
  const Agent = ((globalThis as any)[Symbol.for('undici.globalDispatcher.1')])?.constructor;
  if (typeof Agent !== 'function') throw new FetchFailure('outbound requests cannot be restricted to public addresses on this Node.js');
  return (publicOnly = new Agent({ connect: { lookup: publicOnlyLookup } }));
}

const JSON_TYPE = /^application\/([\w.+-]+\+)?json\s*(;|$)/i;

async function readCapped(res: Response, maxBytes: number, what: string): Promise<string> {
  const tooLarge = () => new FetchFailure(`${what} exceeds the maximum size of ${maxBytes} bytes`);
  if (Number(res.headers.get('content-length') ?? 0) > maxBytes) { await res.body?.cancel(); throw tooLarge(); }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > maxBytes) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Why the request itself failed, without anything the server answered. */
function cause(e: any): string {
  if (e?.name === 'TimeoutError') return `timed out after ${TIMEOUT_MS} ms`;
  const c = e?.cause;
  if (c instanceof PrivateAddress) return c.message;
  return c?.code ?? c?.message ?? e?.message ?? 'request failed';
}

/** The JSON object at `url`, or a FetchFailure naming what `what` lacked. */
export async function fetchJsonObject(url: string, opts: { maxBytes: number; allowPrivate: boolean; what: string }): Promise<Record<string, unknown>> {
  const { hostname, protocol } = new URL(url);
  if (protocol !== 'https:') throw new FetchFailure(`${opts.what} must be served over https`);
  const host = hostname.replace(/^\[|\]$/g, '');
  // An address literal needs no lookup, so the dispatcher would not see it.
  if (!opts.allowPrivate && isIP(host) && isSpecialAddress(host)) throw new FetchFailure(`Failed to fetch ${opts.what}: ${new PrivateAddress(host).message}`);
  let res: Response;
  try {
    res = await fetch(url, {
      headers: { accept: 'application/json' }, redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT_MS),
      ...(opts.allowPrivate ? {} : { dispatcher: publicOnlyDispatcher() }),
    } as RequestInit);
  } catch (e) {
    if (e instanceof FetchFailure) throw e;
    throw new FetchFailure(`Failed to fetch ${opts.what}: ${cause(e)}`);
  }
  try {
    if (res.status >= 300 && res.status < 400) throw new FetchFailure(`Failed to fetch ${opts.what}: redirects are not followed (HTTP ${res.status})`);
    if (!res.ok) throw new FetchFailure(`Failed to fetch ${opts.what}: HTTP ${res.status}`);
    const type = res.headers.get('content-type') ?? '';
    if (!JSON_TYPE.test(type)) throw new FetchFailure(`${opts.what} must be served as application/json, not '${type.slice(0, 60)}'`);
    const text = await readCapped(res, opts.maxBytes, opts.what).catch((e) => {
      if (e instanceof FetchFailure) throw e;
      throw new FetchFailure(`Failed to fetch ${opts.what}: ${cause(e)}`);
    });
    let doc: unknown;
    try { doc = JSON.parse(text); } catch { throw new FetchFailure(`${opts.what} is not valid JSON`); }
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new FetchFailure(`${opts.what} is not a JSON object`);
    return doc as Record<string, unknown>;
  } finally {
    // Whatever was not read is dropped rather than left holding the connection.
    await res.body?.cancel().catch(() => {});
  }
}
