// CORS for /oauth/token, /userinfo and /oauth/revoke: an origin is allowed
// when it is one of the application's Allowed Web Origins or Allowed Origins
// (Auth0 also accepts the origins of its callback URLs, for SPAs).

function originOf(u: string): string | undefined {
  try { return new URL(u).origin; } catch { return undefined; }
}

export function clientBasedCORS(_ctx: unknown, origin: string, client: any): boolean {
  if (!origin) return false;
  const listed: string[] = [...(client.web_origins ?? []), ...(client.allowed_origins ?? [])];
  if (listed.some((o) => typeof o === 'string' && o.replace(/\/$/, '') === origin)) return true;
  return (client.callbacks ?? []).some((c: string) => !c.includes('*') && originOf(c) === origin);
}
