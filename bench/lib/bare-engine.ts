// The protocol engine on its own, for bench/engine-floor.ts: oidc-provider with
// its in-memory adapter, one static client, one API, and findAccount returning
// the claims Postern's ID tokens carry. Nothing of Postern runs here. Started as
// a child process: `BARE_SCOPES='<the API's scopes>' node --import tsx bare-engine.ts <port>`;
// it prints `READY {"tokens":[…]}` with refresh tokens it minted for itself.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import Provider from 'oidc-provider';
import { exportJWK } from 'jose';
import { CA_DIR } from './server.ts';

export const BARE_CLIENT = { id: 'bench-client', secret: 'bench-secret-bench-secret-bench-secret' };
export const BARE_API = 'https://api.bench.example/';
export const apiScopes = (n: number) => Array.from({ length: n }, (_, i) => `read:resource_${i}`).join(' ');

if (import.meta.filename === process.argv[1]) {
  process.on('SIGINT', () => process.exit(0));
  const port = Number(process.argv[2]);
  const tls = join(CA_DIR, 'tls');
  const scopes = process.env.BARE_SCOPES ?? apiScopes(3);
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'bench', alg: 'RS256', use: 'sig' };
  const provider = new Provider(`https://localhost:${port}/`, {
    jwks: { keys: [jwk as any] },
    clients: [{
      client_id: BARE_CLIENT.id, client_secret: BARE_CLIENT.secret, token_endpoint_auth_method: 'client_secret_post',
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'], redirect_uris: ['https://app.bench.example/cb'],
    }],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true, defaultResource: () => BARE_API, useGrantedResource: () => true,
        getResourceServerInfo: () => ({ scope: scopes, audience: BARE_API, accessTokenFormat: 'jwt', accessTokenTTL: 3600, jwt: { sign: { alg: 'RS256' } } }) as any,
      },
    },
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'nickname', 'picture', 'updated_at'] },
    findAccount: (_ctx: unknown, sub: string) => ({
      accountId: sub,
      claims: () => ({ sub, email: `${sub}@bench.example`, email_verified: true, name: sub, nickname: sub, picture: 'https://bench.example/p.png', updated_at: 1 }),
    }),
    issueRefreshToken: () => true,
    rotateRefreshToken: false,
    ttl: { Grant: 86400, RefreshToken: 86400 } as any,
  } as any);
  // Refresh tokens as a code exchange would have left them, minted through the engine's own models.
  const client = await provider.Client.find(BARE_CLIENT.id);
  const tokens: string[] = [];
  for (let i = 0; i < 8; i++) {
    const grant = new provider.Grant({ accountId: `user${i}`, clientId: BARE_CLIENT.id });
    grant.addOIDCScope('openid offline_access profile email');
    grant.addResourceScope(BARE_API, scopes);
    const now = Math.floor(Date.now() / 1000);
    const rt = new (provider as any).RefreshToken({
      client, accountId: `user${i}`, grantId: await grant.save(), gty: 'authorization_code',
      scope: `openid offline_access profile email ${scopes}`, resource: BARE_API, authTime: now, iiat: now, rotations: 0,
    });
    tokens.push(await rt.save());
  }
  const server = https.createServer({ key: readFileSync(join(tls, 'server-localhost-key.pem')), cert: readFileSync(join(tls, 'server-localhost.pem')) }, provider.callback());
  server.listen(port, '127.0.0.1', () => process.stdout.write(`READY ${JSON.stringify({ tokens })}\n`));
}
