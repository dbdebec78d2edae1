import { createHash, X509Certificate } from 'node:crypto';
import { Strategy } from 'passport-wsfed-saml2';

// A WS-Federation relying party for the WS-Fed tests: Auth0's own
// passport-wsfed-saml2 strategy, driven without Express. It writes the
// sign-in URL (wa, wtrealm, wreply, whr, wctx) and validates what Postern
// posts back to the reply URL: faults, the RequestedSecurityToken, the
// assertion's signature against the configured certificate or thumbprint,
// its audience, lifetime and recipient.

export const REALM = 'urn:rp.example.com';
export const REPLY = 'https://rp.example.com/wsfed/callback';

export interface RpOptions {
  identityProviderUrl: string; realm?: string; wreply?: string; homeRealm?: string;
  /** The IdP's signing certificate (base64 DER), or its SHA-1 thumbprint. */
  cert?: string; thumbprint?: string;
  recipientUrl?: string;
}

/** The SHA-1 thumbprint of a certificate (PEM or base64 DER), as WIF configurations name it. */
export function thumbprintOf(cert: string) {
  const der = cert.includes('BEGIN') ? new X509Certificate(cert).raw : Buffer.from(cert, 'base64');
  return createHash('sha1').update(der).digest('hex').toUpperCase();
}

type Outcome = { kind: 'redirect'; url: string } | { kind: 'success'; user: any } | { kind: 'fail'; info: any; status?: number } | { kind: 'error'; err: Error };

function run(strategy: any, req: any, opts: Record<string, unknown> = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const s = Object.create(strategy);
    s.redirect = (url: string) => resolve({ kind: 'redirect', url });
    s.success = (user: any) => resolve({ kind: 'success', user });
    s.fail = (info: any, status?: number) => resolve({ kind: 'fail', info, status });
    s.error = (err: Error) => resolve({ kind: 'error', err });
    s.authenticate(req, opts);
  });
}

export function relyingParty(o: RpOptions) {
  const strategy = new Strategy({
    protocol: 'wsfed', realm: o.realm ?? REALM, identityProviderUrl: o.identityProviderUrl, wreply: o.wreply ?? REPLY, homeRealm: o.homeRealm ?? '',
    cert: o.cert, thumbprint: o.thumbprint, recipientUrl: o.recipientUrl ?? o.wreply ?? REPLY,
  }, (profile: any, done: (err: unknown, user?: any) => void) => done(null, profile));
  return {
    /** Where the strategy sends the browser to sign in. */
    async signInUrl(wctx?: string): Promise<string> {
      const r = await run(strategy, { method: 'GET', query: {}, body: {} }, wctx ? { wctx } : {});
      if (r.kind !== 'redirect') throw new Error(`expected a redirect, got ${r.kind}`);
      return r.url;
    },
    /** The posted form (wa, wresult, wctx) as the reply URL receives it: the profile, or what the strategy refused. */
    validate(fields: Record<string, string>): Promise<Outcome> {
      return run(strategy, { method: 'POST', body: fields, query: {}, protocol: 'https', originalUrl: '/wsfed/callback', get: () => 'rp.example.com' });
    },
  };
}
