import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

// Secrets at rest (client secrets, signing keys, connection secrets) are sealed
// with AES-256-GCM under the master key; the stored form is self-describing so
// the scheme can change later without a migration.
const PREFIX = 'enc:v1:';

export class SecretBox {
  private key: Buffer;
  private derived = new Map<string, string>();
  constructor(masterKey: string) {
    const key = Buffer.from(masterKey, /^[0-9a-f]{64}$/i.test(masterKey) ? 'hex' : 'base64url');
    if (key.length !== 32) throw new Error('master key must be 32 bytes (64 hex characters or base64url)');
    this.key = key;
  }
  seal(plain: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return PREFIX + Buffer.concat([iv, c.getAuthTag(), body]).toString('base64url');
  }
  /** A stable secret for one purpose (e.g. cookie signing), the same on every node. */
  derive(label: string): string {
    let v = this.derived.get(label);
    if (v === undefined) this.derived.set(label, v = createHmac('sha256', this.key).update(label).digest('base64url'));
    return v;
  }
  open(sealed: string): string {
    if (!sealed.startsWith(PREFIX)) throw new Error('value is not sealed');
    const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64url');
    const d = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    d.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8');
  }
}

export const newMasterKey = () => randomBytes(32).toString('hex');
