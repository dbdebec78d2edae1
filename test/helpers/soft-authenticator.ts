import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { encodeCBOR } from '@levischuck/tiny-cbor';

// A software WebAuthn authenticator, as a phone's platform authenticator
// answers navigator.credentials.create()/get(): a P-256 key per passkey,
// `none` attestation, authenticator data with a signature counter, and the
// JSON form of the PublicKeyCredential that auth0-auth-js sends.

const b64u = (b: Uint8Array | string) => Buffer.from(b).toString('base64url');
const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest();

interface Passkey { id: Buffer; key: KeyObject; counter: number; userHandle: string; rpId: string }

export interface Ceremony {
  /** Where the page or app is (clientDataJSON.origin); the tenant's own origin by default. */
  origin?: string;
  /** The RP id whose hash the authenticator data carries; the options' by default. */
  rpId?: string;
  /** The challenge to sign instead of the options' one. */
  challenge?: string;
  /** The counter to report instead of the next one. */
  counter?: number;
}

export class SoftAuthenticator {
  readonly passkeys: Passkey[] = [];
  constructor(private defaultOrigin: string) {}

  private authData(rpId: string, flags: number, counter: number, attested?: Buffer) {
    const head = Buffer.alloc(37);
    sha256(rpId).copy(head, 0);
    head[32] = flags;
    head.writeUInt32BE(counter, 33);
    return attested ? Buffer.concat([head, attested]) : head;
  }

  private clientData(type: string, challenge: string, origin: string) {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
  }

  /** navigator.credentials.create() with Auth0's creation options. */
  create(options: { challenge: string; rp: { id: string }; user: { id: string } }, c: Ceremony = {}) {
    const rpId = c.rpId ?? options.rp.id;
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const cose = encodeCBOR(new Map<number, any>([[1, 2], [3, -7], [-1, 1], [-2, Buffer.from(jwk.x!, 'base64url')], [-3, Buffer.from(jwk.y!, 'base64url')]]));
    const id = randomBytes(16);
    const credentialData = Buffer.concat([Buffer.alloc(16), Buffer.from([0, id.length]), id, Buffer.from(cose)]);
    // UP, UV, backup eligible and backed up (a synced passkey), attested credential data.
    const authData = this.authData(rpId, 0x01 | 0x04 | 0x08 | 0x10 | 0x40, c.counter ?? 0, credentialData);
    const attestationObject = encodeCBOR(new Map<string, any>([['fmt', 'none'], ['attStmt', new Map()], ['authData', authData]]));
    this.passkeys.push({ id, key: privateKey, counter: c.counter ?? 0, userHandle: options.user.id, rpId: options.rp.id });
    return {
      id: b64u(id), rawId: b64u(id), type: 'public-key', authenticatorAttachment: 'platform',
      response: {
        clientDataJSON: b64u(this.clientData('webauthn.create', c.challenge ?? options.challenge, c.origin ?? this.defaultOrigin)),
        attestationObject: b64u(attestationObject), transports: ['internal', 'hybrid'],
      },
      clientExtensionResults: {},
    };
  }

  /** navigator.credentials.get() with Auth0's request options, answered by `passkey` (the newest by default). */
  get(options: { challenge: string; rpId: string }, c: Ceremony & { passkey?: Passkey } = {}) {
    const pk = c.passkey ?? this.passkeys.at(-1)!;
    pk.counter = c.counter ?? pk.counter + 1;
    const authData = this.authData(c.rpId ?? options.rpId, 0x01 | 0x04 | 0x08 | 0x10, pk.counter);
    const clientDataJSON = this.clientData('webauthn.get', c.challenge ?? options.challenge, c.origin ?? this.defaultOrigin);
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), pk.key);
    return {
      id: b64u(pk.id), rawId: b64u(pk.id), type: 'public-key', authenticatorAttachment: 'platform',
      response: { clientDataJSON: b64u(clientDataJSON), authenticatorData: b64u(authData), signature: b64u(signature), userHandle: pk.userHandle },
      clientExtensionResults: {},
    };
  }
}
