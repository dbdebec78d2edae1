import type { X509Certificate } from 'node:crypto';
import { alnum } from '../lib/ids.ts';
import { badRequest } from '../lib/errors.ts';
import { certThumbprint, readPem, requireRsa2048 } from '../tenant/public-key-pem.ts';
import { credentialsOf, rsaThumbprint, type CredentialType, type StoredCredential } from '../tenant/client-credentials.ts';
import { componentValidator, validationMessage } from './spec.ts';

// A client credential as a request describes it (POST /clients/{id}/credentials,
// or inline in a new client's client_authentication_methods), checked and
// completed the way Auth0 does: the key id defaults to the key's RFC 7638
// thumbprint, a certificate can give the expiry, and a client holds a few.

/** Auth0's ceiling on the credentials one client holds, attached or not. */
export const MAX_CREDENTIALS = 4;

// Each type's own schema in the spec, stricter than the POST body's union of them.
const SCHEMAS: Record<CredentialType, string> = {
  public_key: 'PublicKeyCredential', x509_cert: 'X509CertificateCredential', cert_subject_dn: 'CertificateSubjectDNCredential',
};

const iso = (d: string | Date) => new Date(d).toISOString();

/** Against the schema of the credential's own type. */
function checkShape(type: CredentialType, body: unknown) {
  const v = componentValidator(SCHEMAS[type] ?? SCHEMAS.public_key);
  if (!v(body)) throw badRequest(validationMessage(v, 'Payload'));
}

const notAfter = (cert: X509Certificate) => new Date(cert.validTo).toISOString();

/** The stored credential for a request body; a 400 for anything Auth0 would refuse, before anything is written. */
export function credentialFromBody(body: any): StoredCredential {
  const type = body.credential_type as CredentialType;
  checkShape(type, body);
  const now = new Date().toISOString();
  const base = { id: `cred_${alnum(22)}`, credential_type: type, ...(body.name !== undefined ? { name: body.name } : {}) };
  const times = (expires?: string) => ({ created_at: now, updated_at: now, ...(expires ? { expires_at: iso(expires) } : {}) });

  if (type === 'public_key') {
    const { pem, key, cert } = readPem(body.pem);
    requireRsa2048(key);
    if (body.parse_expiry_from_cert === true && !cert) throw badRequest('parse_expiry_from_cert requires the pem to be an X.509 certificate.');
    // An explicit expires_at wins over the certificate's.
    const expires = body.expires_at ?? (body.parse_expiry_from_cert === true ? notAfter(cert!) : undefined);
    return { ...base, kid: body.kid ?? rsaThumbprint(key), alg: body.alg ?? 'RS256', pem, ...times(expires) };
  }
  if (type === 'x509_cert') {
    const { pem, cert } = readPem(body.pem);
    if (!cert) throw badRequest('An x509_cert credential needs an X.509 certificate in pem.');
    return { ...base, thumbprint_sha256: certThumbprint(cert), pem, ...times(notAfter(cert)) };
  }
  // cert_subject_dn: the subject as given, or the one of the certificate given.
  if ((body.subject_dn === undefined) === (body.pem === undefined)) throw badRequest('A cert_subject_dn credential needs either subject_dn or pem, not both.');
  if (body.subject_dn !== undefined) return { ...base, subject_dn: body.subject_dn, ...times() };
  const { pem, cert } = readPem(body.pem);
  if (!cert) throw badRequest('A cert_subject_dn credential needs an X.509 certificate in pem.');
  return { ...base, subject_dn: cert.subject, pem, ...times() };
}

const keyOf = (c: StoredCredential) => (c.credential_type === 'public_key' && c.pem ? rsaThumbprint(readPem(c.pem).key) : undefined);

/** The client's credentials with `added`, within Auth0's limits: four per client, and no public key twice. */
export function withCredentials(data: any, added: StoredCredential[]): StoredCredential[] {
  const all = [...credentialsOf(data), ...added];
  if (all.length > MAX_CREDENTIALS) throw badRequest(`A client can have a maximum of ${MAX_CREDENTIALS} credentials.`);
  const keys = all.map(keyOf).filter(Boolean);
  if (new Set(keys).size !== keys.length) throw badRequest('credentials contains public keys that already exist in client');
  return all;
}

/** What every read answers: the credential without its pem. */
export function credentialJson(c: StoredCredential) {
  const { pem: _, ...shown } = c;
  return shown;
}
