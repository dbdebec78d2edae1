import forge from 'node-forge';
import { createHash, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { createLocalJWKSet, exportJWK, importJWK, type JWK } from 'jose';
import type { Store } from '../store/store.ts';
import type { SigningKeyRow } from '../store/schema.ts';
import type { SecretBox } from './secrets.ts';
import { ApiError, notFound, UniqueViolation } from '../lib/errors.ts';

export interface LoadedKey { row: SigningKeyRow; privateJwk: JWK; publicJwk: JWK }

function selfSignedCert(pub: forge.pki.PublicKey, priv: forge.pki.PrivateKey, cn: string) {
  const c = forge.pki.createCertificate();
  c.publicKey = pub;
  c.serialNumber = '01' + forge.util.bytesToHex(forge.random.getBytesSync(15));
  c.validity.notBefore = new Date(Date.now() - 60_000);
  c.validity.notAfter = new Date(Date.now() + 10 * 365 * 86400_000);
  c.setSubject([{ name: 'commonName', value: cn }]);
  c.setIssuer([{ name: 'commonName', value: cn }]);
  c.sign(priv as any, forge.md.sha256.create());
  return forge.pki.certificateToPem(c);
}

/** A fresh RS256 key with the self-signed certificate Auth0 publishes in x5c. */
export async function generateSigningKey(cn: string) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = randomBytes(16).toString('base64url');
  const cert = selfSignedCert(
    forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }) as string),
    forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }) as string), cn);
  const jwk = { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
  return { kid, jwk, cert };
}

const derOf = (pem: string) => new X509Certificate(pem).raw;

/**
 * Holds the tenant's signing keys in memory. `version` changes whenever the
 * set or a status changes, so the protocol engine knows to rebuild its keystore.
 */
export class KeyRing {
  keys: LoadedKey[] = [];
  version = '';
  private jwksFn?: ReturnType<typeof createLocalJWKSet>;

  constructor(private store: Store, private box: SecretBox, private cn: string) {}

  async load(): Promise<boolean> {
    const rows = await this.store.listKeys();
    const version = rows.map((r) => `${r.kid}:${r.status}`).join(',');
    if (version === this.version) return false;
    this.keys = rows.map((row) => {
      const der = derOf(row.cert);
      const x5c = [der.toString('base64')];
      // The engine publishes its JWKS from these, so the certificate rides along (Auth0 serves x5c).
      const privateJwk = { ...JSON.parse(this.box.open(row.private_jwk)), x5c } as JWK;
      const { d, p, q, dp, dq, qi, ...pub } = privateJwk as any;
      const publicJwk = { ...pub, x5t: createHash('sha1').update(der).digest('base64url') };
      return { row, privateJwk, publicJwk };
    });
    this.version = version;
    this.jwksFn = createLocalJWKSet({ keys: this.published().map((k) => k.publicJwk) });
    return true;
  }

  /** Current first: oidc-provider signs with the first key that fits. */
  published() {
    const order = { current: 0, next: 1, previous: 2, revoked: 3 } as const;
    return this.keys.filter((k) => k.row.status !== 'revoked').sort((a, b) => order[a.row.status] - order[b.row.status]);
  }
  current() { return this.keys.find((k) => k.row.status === 'current')!; }
  /** Key lookup for verifying our own tokens; revoked keys are absent. */
  get verifier() { return this.jwksFn!; }

  private async newRow(status: SigningKeyRow['status'], ts: string): Promise<Omit<SigningKeyRow, 'tenant_id'>> {
    const { kid, jwk, cert } = await generateSigningKey(this.cn);
    return {
      kid, status, private_jwk: this.box.seal(JSON.stringify(jwk)), cert, created_at: ts,
      current_since: status === 'current' ? ts : null, current_until: null, revoked_at: null,
    };
  }

  /** First start: a current key and the next one. Safe on every start, and when nodes start together. */
  async ensure() {
    await this.load();
    for (const status of ['current', 'next'] as const) {
      if (this.keys.some((k) => k.row.status === status)) continue;
      // Another node may insert it first: the store allows one of each.
      await this.store.insertKey(await this.newRow(status, new Date().toISOString())).catch((e) => { if (!(e instanceof UniqueViolation)) throw e; });
    }
    await this.load();
  }

  /** Current → previous, next → current, a new next. Concurrent rotations (any node) make one. */
  async rotate() {
    await this.load();
    const ts = new Date().toISOString();
    const cur = this.current();
    const next = this.keys.find((k) => k.row.status === 'next');
    // RSA generation is slow: done before the store's short transaction.
    const fresh = { next: await this.newRow('next', ts), current: next ? undefined : await this.newRow('current', ts) };
    await this.store.rotateKeys({ current: cur?.row.kid, next: next?.row.kid }, ts, fresh);
    // Won or lost, the rotation happened; answer with the key that is current now.
    await this.load();
    const nowCurrent = this.current();
    return { cert: nowCurrent.row.cert, kid: nowCurrent.row.kid };
  }

  async revoke(kid: string) {
    await this.load();
    const k = this.keys.find((x) => x.row.kid === kid);
    if (!k) throw notFound('Signing key not found');
    if (k.row.status === 'current' || k.row.status === 'next') {
      throw new ApiError(400, 'The current and next signing keys cannot be revoked; rotate first.', 'invalid_key');
    }
    if (k.row.status !== 'revoked') await this.store.updateKey(kid, { status: 'revoked', revoked_at: new Date().toISOString() });
    await this.load();
    return { cert: k.row.cert, kid };
  }

  /** The Management API shape of a key. */
  describe(k: LoadedKey) {
    const der = derOf(k.row.cert);
    const p7 = forge.pkcs7.createSignedData();
    p7.addCertificate(forge.pki.certificateFromPem(k.row.cert));
    return {
      kid: k.row.kid,
      cert: k.row.cert,
      pkcs7: forge.pkcs7.messageToPem(p7),
      current: k.row.status === 'current',
      next: k.row.status === 'next',
      previous: k.row.status === 'previous',
      ...(k.row.current_since ? { current_since: k.row.current_since } : {}),
      ...(k.row.current_until ? { current_until: k.row.current_until } : {}),
      fingerprint: createHash('sha1').update(der).digest('hex').toUpperCase().match(/../g)!.join(':'),
      thumbprint: createHash('sha1').update(der).digest('hex'),
      revoked: k.row.status === 'revoked',
      ...(k.row.revoked_at ? { revoked_at: k.row.revoked_at } : {}),
    };
  }
}

export { importJWK };
