import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import { dirname } from 'node:path';
import { exportJWK, generateKeyPair, importX509, jwtVerify, SignJWT, type JWK } from 'jose';
import { ensureTls } from '../../src/tenant/tls.ts';

// A stand-in for a customer's Okta org (its org authorization server), served
// over HTTPS with the test run's CA: discovery, authorize, token, userinfo and
// keys, as Okta answers them. It records what Postern sends, and signs the
// Global Token Revocation requests Okta would send.

export interface MockUser { sub: string; claims: Record<string, unknown> }

export interface MockIdp {
  domain: string; issuer: string; clientId: string; clientSecret: string;
  /** Whom the authorize endpoint logs in next (Okta's own login page is out of scope). */
  user: MockUser;
  /** `issued`: every access and refresh token the token endpoint gave out. */
  seen: { discovery: number; authorize: URLSearchParams[]; token: URLSearchParams[]; userinfo: number; issued: string[] };
  /** Misbehaviours to check Postern refuses: a foreign audience or key on the ID token, an error at authorize. */
  faults: { idTokenAudience?: string; foreignKey?: boolean; authorizeError?: string; discoveryPadding?: number };
  /** For private_key_jwt: the certificate client assertions must verify with. */
  assertionCert?: string;
  signGtr(overrides?: { payload?: Record<string, unknown>; typ?: string; foreignKey?: boolean }): Promise<string>;
  close(): Promise<void>;
}

const read = (req: any) => new Promise<string>((res) => { let b = ''; req.on('data', (c: Buffer) => { b += c; }); req.on('end', () => res(b)); });

export async function startMockIdp(opts: { clientId?: string; clientSecret?: string; codeChallengeMethods?: string[] } = {}): Promise<MockIdp> {
  const caDir = process.env.POSTERN_TEST_CA_DIR;
  if (!caDir) throw new Error('POSTERN_TEST_CA_DIR is not set (run through scripts/run-tests.mjs)');
  const tls = ensureTls(dirname(caDir), 'localhost');
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const foreign = await generateKeyPair('RS256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'okta-1', alg: 'RS256', use: 'sig' };
  const codes = new Map<string, { sub: string; nonce?: string; challenge?: string; method?: string; redirect: string; scope: string }>();
  const accessTokens = new Map<string, string>();
  const server: Server = createServer({ key: tls.key, cert: tls.cert });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
  const port = (server.address() as any).port;
  const issuer = `https://localhost:${port}`;
  const idp: MockIdp = {
    domain: `localhost:${port}`, issuer,
    clientId: opts.clientId ?? '0oa1okta2client3id4',
    clientSecret: opts.clientSecret ?? 'okta-client-secret-value',
    user: { sub: '00u1a2b3c4d5e6f7g8h9', claims: { email: 'ada@acme.com', email_verified: true, name: 'Ada Lovelace', given_name: 'Ada', family_name: 'Lovelace', preferred_username: 'ada@acme.com' } },
    seen: { discovery: 0, authorize: [], token: [], userinfo: 0, issued: [] },
    faults: {},
    async signGtr(o = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ jti: randomBytes(8).toString('hex'), iss: issuer, sub: idp.clientId, iat: now, nbf: now - 300, exp: now + 300, ...o.payload })
        .setProtectedHeader({ alg: 'RS256', kid: 'okta-1', typ: o.typ ?? 'global-token-revocation+jwt' })
        .sign(o.foreignKey ? foreign.privateKey : privateKey);
    },
    close: () => new Promise((res) => { server.closeAllConnections(); server.close(() => res()); }),
  };
  const idToken = (sub: string, nonce?: string) => {
    const claims = { ...(nonce ? { nonce } : {}) };
    return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'okta-1' })
      .setIssuer(issuer).setSubject(sub).setAudience(idp.faults.idTokenAudience ?? idp.clientId).setIssuedAt().setExpirationTime('1h')
      .sign(idp.faults.foreignKey ? foreign.privateKey : privateKey);
  };

  server.on('request', async (req, res) => {
    const url = new URL(req.url!, issuer);
    const json = (status: number, body: unknown) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)); };
    if (url.pathname === '/.well-known/openid-configuration') {
      idp.seen.discovery++;
      return json(200, {
        issuer, authorization_endpoint: `${issuer}/oauth2/v1/authorize`, token_endpoint: `${issuer}/oauth2/v1/token`,
        userinfo_endpoint: `${issuer}/oauth2/v1/userinfo`, jwks_uri: `${issuer}/oauth2/v1/keys`, end_session_endpoint: `${issuer}/oauth2/v1/logout`,
        response_types_supported: ['code', 'id_token', 'code id_token'], subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'], code_challenge_methods_supported: opts.codeChallengeMethods ?? ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
        ...(idp.faults.discoveryPadding ? { padding: 'x'.repeat(idp.faults.discoveryPadding) } : {}),
      });
    }
    if (url.pathname === '/oauth2/v1/keys') return json(200, { keys: [jwk] });
    if (url.pathname === '/oauth2/v1/authorize') {
      const q = url.searchParams;
      idp.seen.authorize.push(q);
      const back = new URL(q.get('redirect_uri')!);
      if (idp.faults.authorizeError) {
        back.search = new URLSearchParams({ error: idp.faults.authorizeError, error_description: 'User is not assigned to the client application.', state: q.get('state')! }).toString();
        res.writeHead(302, { location: back.toString() });
        return res.end();
      }
      if (q.get('response_type') === 'id_token') {
        // front_channel: the ID token comes back in a form post.
        const token = await idToken(idp.user.sub, q.get('nonce') ?? undefined);
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end(`<form method="post" action="${back}"><input type="hidden" name="id_token" value="${token}"><input type="hidden" name="state" value="${q.get('state')}"></form>`);
      }
      const code = randomBytes(16).toString('hex');
      codes.set(code, { sub: idp.user.sub, nonce: q.get('nonce') ?? undefined, challenge: q.get('code_challenge') ?? undefined, method: q.get('code_challenge_method') ?? undefined, redirect: q.get('redirect_uri')!, scope: q.get('scope') ?? '' });
      back.search = new URLSearchParams({ code, state: q.get('state')! }).toString();
      res.writeHead(302, { location: back.toString() });
      return res.end();
    }
    if (url.pathname === '/oauth2/v1/token' && req.method === 'POST') {
      const p = new URLSearchParams(await read(req));
      idp.seen.token.push(p);
      if (p.get('client_assertion')) {
        if (!idp.assertionCert) return json(401, { error: 'invalid_client' });
        try {
          const key = await importX509(idp.assertionCert, new X509Certificate(idp.assertionCert).publicKey.asymmetricKeyType === 'ec' ? 'ES256' : 'RS256');
          await jwtVerify(p.get('client_assertion')!, key, { issuer: idp.clientId, subject: idp.clientId, audience: `${issuer}/oauth2/v1/token` });
        } catch { return json(401, { error: 'invalid_client', error_description: 'bad client assertion' }); }
      } else if (p.get('client_id') !== idp.clientId || p.get('client_secret') !== idp.clientSecret) {
        return json(401, { error: 'invalid_client' });
      }
      const grant = codes.get(p.get('code') ?? '');
      codes.delete(p.get('code') ?? '');
      if (!grant || p.get('grant_type') !== 'authorization_code' || p.get('redirect_uri') !== grant.redirect) return json(400, { error: 'invalid_grant' });
      if (grant.challenge) {
        const v = p.get('code_verifier') ?? '';
        const computed = grant.method === 'S256' ? createHash('sha256').update(v).digest('base64url') : v;
        if (computed !== grant.challenge) return json(400, { error: 'invalid_grant', error_description: 'PKCE verification failed' });
      }
      const at = randomBytes(16).toString('hex');
      accessTokens.set(at, grant.sub);
      // Okta gives a refresh token only when offline_access was asked for.
      const rt = grant.scope.split(' ').includes('offline_access') ? randomBytes(16).toString('hex') : undefined;
      idp.seen.issued.push(at, ...(rt ? [rt] : []));
      return json(200, { token_type: 'Bearer', expires_in: 3600, access_token: at, ...(rt ? { refresh_token: rt } : {}), scope: grant.scope || 'openid profile email', id_token: await idToken(grant.sub, grant.nonce) });
    }
    if (url.pathname === '/oauth2/v1/userinfo') {
      idp.seen.userinfo++;
      const sub = accessTokens.get(String(req.headers.authorization ?? '').replace(/^Bearer /, ''));
      if (!sub) return json(401, { error: 'invalid_token' });
      return json(200, { sub, ...idp.user.claims });
    }
    json(404, { errorCode: 'E0000022', errorSummary: 'The endpoint does not support the provided HTTP method' });
  });
  return idp;
}
