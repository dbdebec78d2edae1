// Auth0's Allowed Callback URL matching: exact, except that a `*` may stand
// for exactly one DNS label of the host (`https://*.example.com/cb`). The
// scheme, port, path and query must still match exactly; nothing else is a
// wildcard, and a URL with userinfo or a fragment never matches.

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

function parse(u: string): URL | undefined {
  try { return new URL(u); } catch { return undefined; }
}

/** Splits an allowed URL with a `*.` host into the parts compared literally. */
function wildcardParts(allowed: string) {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)\*\.([^/?#]+)(.*)$/i.exec(allowed);
  if (!m) return undefined;
  const rest = parse(`${m[1]}x.${m[2]}${m[3]}`);
  if (!rest) return undefined;
  return { protocol: rest.protocol, hostSuffix: rest.host.slice(2), path: rest.pathname + rest.search };
}

export function callbackAllowed(allowedList: readonly string[], value: unknown): boolean {
  if (typeof value !== 'string' || !value || value.length > 2048) return false;
  // The raw string must be a canonical absolute URL: no fragment, no credentials, no whitespace or backslashes.
  if (/[\s\\#]/.test(value)) return false;
  const u = parse(value);
  if (!u || u.username || u.password || u.hash) return false;
  for (const allowed of allowedList) {
    if (typeof allowed !== 'string') continue;
    if (allowed === value) return true;
    if (!allowed.includes('*')) continue;
    const w = wildcardParts(allowed);
    if (!w || w.protocol !== u.protocol) continue;
    // Compare against the raw string too, so encoded or case-folded variants do not slip through.
    if (!value.startsWith(`${w.protocol}//`)) continue;
    const host = u.host;
    if (!host.endsWith(`.${w.hostSuffix}`)) continue;
    const label = host.slice(0, -(w.hostSuffix.length + 1));
    if (!LABEL.test(label)) continue;
    const rawRest = value.slice(`${w.protocol}//`.length + host.length);
    if (`${w.protocol}//${label}.${w.hostSuffix}${rawRest}` !== value) continue;
    if ((rawRest || '/') !== w.path && rawRest !== w.path) continue;
    return true;
  }
  return false;
}

/** Replaces the engine's redirect URI checks with Auth0's rule (never looser than exact match). */
export function installRedirectUriRule(provider: any, callbacksOf: (client: any) => string[], logoutUrlsOf: (client: any) => string[]) {
  provider.Client.prototype.redirectUriAllowed = function redirectUriAllowed(value: string) {
    return callbackAllowed(callbacksOf(this), value);
  };
  provider.Client.prototype.postLogoutRedirectUriAllowed = function postLogoutRedirectUriAllowed(value: string) {
    return callbackAllowed(logoutUrlsOf(this), value);
  };
}
