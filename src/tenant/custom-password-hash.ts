import { createHash, createHmac, pbkdf2, pbkdf2Sync, scrypt, timingSafeEqual, type BinaryLike } from 'node:crypto';
import { verify as argon2Verify } from '@node-rs/argon2';
import { verify as bcryptVerify } from '@node-rs/bcrypt';
import type { SecretBox } from './secrets.ts';

// Password hashes made by another system, imported with a user as Auth0's
// `custom_password_hash`. Each is checked with node:crypto or the argon2 and
// bcrypt libraries, never a hand-written primitive. The description (which may
// carry an HMAC key) is sealed in the user's password_hash column behind a
// marker; the first login that matches replaces it with bcrypt (tenant/users.ts).

type Encoding = 'base64' | 'hex' | 'utf8';
export interface CustomPasswordHash {
  algorithm: string;
  hash: { value: string; encoding?: Encoding; digest?: string; key?: { value: string; encoding?: Encoding } };
  salt?: { value: string; encoding?: Encoding; position?: 'prefix' | 'suffix' };
  password?: { encoding?: BufferEncoding };
  keylen?: number; cost?: number; blockSize?: number; parallelization?: number;
}
/** Why a description cannot be used, and where in it. */
export interface HashProblem { message: string; path: string }

const IMPORTED = 'imported:';
export const isImportedHash = (stored: string | null | undefined) => Boolean(stored?.startsWith(IMPORTED));
export const sealImportedHash = (box: SecretBox, h: CustomPasswordHash) => IMPORTED + box.seal(JSON.stringify(h));
export const openImportedHash = (box: SecretBox, stored: string): CustomPasswordHash => JSON.parse(box.open(stored.slice(IMPORTED.length)));

const SIMPLE = ['md4', 'md5', 'sha1', 'sha256', 'sha512'];
const LDAP_DIGESTS: Record<string, string> = { MD5: 'md5', SHA: 'sha1', SHA256: 'sha256', SHA384: 'sha384', SHA512: 'sha512' };
const ARGON2 = /^\$argon2(?:id|i|d)\$(?:v=\d+\$)?m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}$/;
const BCRYPT = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;
const SCRYPT_MAXMEM = 64 * 1024 * 1024;

/** Whether this runtime's OpenSSL computes a digest (md4 and whirlpool need its legacy provider). */
const available = new Map<string, boolean>();
function digestAvailable(name: string): boolean {
  let ok = available.get(name);
  if (ok === undefined) {
    try { createHash(name); pbkdf2Sync('', '', 1, 1, name); ok = true; } catch { ok = false; }
    available.set(name, ok);
  }
  return ok;
}

function decode(value: string, encoding: Encoding | undefined): Buffer | undefined {
  if (encoding === 'hex') return /^(?:[0-9a-f]{2})+$/i.test(value) ? Buffer.from(value, 'hex') : undefined;
  if (encoding === 'base64') return /^[A-Za-z0-9+/_-]+={0,2}$/.test(value) ? Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64') : undefined;
  return Buffer.from(value, 'utf8');
}

/** `$pbkdf2-<digest>$i=…,l=…$<salt>$<hash>` (PHC, unpadded base64); i and l default to 100000 and 64, as Auth0's do. */
function parsePbkdf2(value: string) {
  const parts = value.split('$');
  const m = /^pbkdf2-([A-Za-z0-9-]+)$/.exec(parts[1] ?? '');
  if (parts[0] !== '' || !m || (parts.length !== 4 && parts.length !== 5)) return undefined;
  const params = parts.length === 5 ? Object.fromEntries(parts[2].split(',').map((kv) => kv.split('='))) : {};
  const [salt, hash] = parts.slice(-2).map((p) => decode(p, 'base64'));
  const iterations = Number(params.i ?? 100000);
  const keylen = Number(params.l ?? 64);
  if (!salt || !hash || !Number.isSafeInteger(iterations) || iterations < 1 || iterations > 10_000_000 || keylen !== hash.length) return undefined;
  return { digest: m[1], iterations, keylen, salt, hash };
}

/** `{SCHEME}base64`, RFC 2307; a salted scheme (SSHA…, SMD5) appends its salt to the digest. */
function parseLdap(value: string) {
  const m = /^\{(S?)(MD5|SHA|SHA256|SHA384|SHA512)\}([A-Za-z0-9+/]+={0,2})$/i.exec(value);
  if (!m) return undefined;
  const digest = LDAP_DIGESTS[m[2].toUpperCase()];
  const raw = Buffer.from(m[3], 'base64');
  const size = createHash(digest).digest().length;
  if (m[1] ? raw.length <= size : raw.length !== size) return undefined;
  return { digest, hash: raw.subarray(0, size), salt: raw.subarray(size) };
}

/** The first reason the description cannot verify a password, beyond what the file schema checks. */
export function customHashProblem(h: CustomPasswordHash): HashProblem | undefined {
  const at = (path: string, message: string): HashProblem => ({ path: `#/custom_password_hash/${path}`, message });
  const { algorithm, hash, salt } = h;
  const textual = ['argon2', 'bcrypt', 'ldap', 'pbkdf2'].includes(algorithm);
  if (textual && hash.encoding && hash.encoding !== 'utf8') return at('hash/encoding', `hash.encoding must be utf8 for ${algorithm}`);
  if (!textual && hash.encoding !== 'hex' && hash.encoding !== 'base64') return at('hash/encoding', `hash.encoding must be hex or base64 for ${algorithm}`);
  if (['argon2', 'ldap', 'pbkdf2'].includes(algorithm) && salt) return at('salt', `salt is not allowed for ${algorithm}`);
  if (salt && !decode(salt.value, salt.encoding)) return at('salt/value', `salt.value is not valid ${salt.encoding}`);
  if (hash.key && !decode(hash.key.value, hash.key.encoding)) return at('hash/key/value', `hash.key.value is not valid ${hash.key.encoding}`);
  switch (algorithm) {
    case 'argon2': return ARGON2.test(hash.value) ? undefined : at('hash/value', 'hash.value must be an argon2 hash in PHC string format');
    case 'bcrypt': return BCRYPT.test(hash.value) ? undefined : at('hash/value', 'hash.value must be a bcrypt hash ($2a$, $2b$ or $2y$)');
    case 'ldap': return parseLdap(hash.value) ? undefined : at('hash/value', 'hash.value must be an RFC 2307 {MD5|SMD5|SHA*|SSHA*} value');
    case 'pbkdf2': {
      const p = parsePbkdf2(hash.value);
      if (!p) return at('hash/value', 'hash.value must be a pbkdf2 hash in PHC string format');
      return digestAvailable(p.digest) ? undefined : at('hash/value', `The digest ${p.digest} is not supported`);
    }
    case 'hmac':
      if (!hash.digest) return at('hash/digest', 'hash.digest is required for hmac');
      if (!hash.key) return at('hash/key', 'hash.key is required for hmac');
      if (!digestAvailable(hash.digest)) return at('hash/digest', `The digest ${hash.digest} is not supported`);
      return decode(hash.value, hash.encoding)?.length === createHmac(hash.digest, '').digest().length ? undefined : at('hash/value', 'hash.value does not have the digest\'s length');
    case 'scrypt': {
      if (!Number.isInteger(h.keylen) || h.keylen! < 1 || h.keylen! > 1024) return at('keylen', 'keylen must be an integer between 1 and 1024');
      const N = h.cost ?? 16384, r = h.blockSize ?? 8, p = h.parallelization ?? 1;
      if (!Number.isInteger(N) || N < 2 || (N & (N - 1)) !== 0) return at('cost', 'cost must be a power of two greater than one');
      if (!Number.isInteger(r) || !Number.isInteger(p) || r < 1 || p < 1 || 128 * N * r * p > SCRYPT_MAXMEM) return at('blockSize', 'The scrypt parameters need too much memory');
      return decode(hash.value, hash.encoding)?.length === h.keylen ? undefined : at('hash/value', 'hash.value does not have keylen bytes');
    }
    default:
      if (!SIMPLE.includes(algorithm)) return at('algorithm', `The algorithm ${algorithm} is not supported`);
      if (!digestAvailable(algorithm)) return at('algorithm', `The algorithm ${algorithm} is not supported by this server's OpenSSL`);
      return decode(hash.value, hash.encoding)?.length === createHash(algorithm).digest().length ? undefined : at('hash/value', 'hash.value does not have the digest\'s length');
  }
}

const same = (a: Buffer, b: Buffer | undefined) => !!b && a.length === b.length && timingSafeEqual(a, b);
const pbkdf2Async = (pw: BinaryLike, salt: BinaryLike, i: number, l: number, d: string) =>
  new Promise<Buffer>((res, rej) => pbkdf2(pw, salt, i, l, d, (e, k) => (e ? rej(e) : res(k))));
const scryptAsync = (pw: BinaryLike, salt: BinaryLike, l: number, o: { N: number; r: number; p: number }) =>
  new Promise<Buffer>((res, rej) => scrypt(pw, salt, l, { ...o, maxmem: SCRYPT_MAXMEM + 1024 * 1024 }, (e, k) => (e ? rej(e) : res(k))));

/** Whether `password` is the one the description was made from. */
export async function customHashMatches(h: CustomPasswordHash, password: string): Promise<boolean> {
  const pw = Buffer.from(password, h.password?.encoding ?? 'utf8');
  const salt = h.salt ? decode(h.salt.value, h.salt.encoding)! : Buffer.alloc(0);
  const salted = h.salt?.position === 'suffix' ? Buffer.concat([pw, salt]) : Buffer.concat([salt, pw]);
  const want = decode(h.hash.value, h.hash.encoding);
  try {
    switch (h.algorithm) {
      case 'argon2': return await argon2Verify(h.hash.value, pw);
      case 'bcrypt': return await bcryptVerify(salted, h.hash.value);
      case 'hmac': return same(createHmac(h.hash.digest!, decode(h.hash.key!.value, h.hash.key!.encoding)!).update(salted).digest(), want);
      case 'scrypt': return same(await scryptAsync(pw, salt, h.keylen!, { N: h.cost ?? 16384, r: h.blockSize ?? 8, p: h.parallelization ?? 1 }), want);
      case 'pbkdf2': {
        const p = parsePbkdf2(h.hash.value)!;
        return same(await pbkdf2Async(pw, p.salt, p.iterations, p.keylen, p.digest), p.hash);
      }
      case 'ldap': {
        const p = parseLdap(h.hash.value)!;
        return same(createHash(p.digest).update(Buffer.concat([pw, p.salt])).digest(), p.hash);
      }
      default: return same(createHash(h.algorithm).update(salted).digest(), want);
    }
  } catch {
    return false;
  }
}
