import forge from 'node-forge';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isIP } from 'node:net';

export interface TlsFiles { caPath: string; key: string; cert: string }

// node-forge builds the certificates; node's crypto generates the RSA keys
// because forge's pure-JS key generation is slow.
function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    priv: forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }) as string),
    pub: forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }) as string),
    pem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}
function serial() { return forge.util.bytesToHex(forge.random.getBytesSync(16)).replace(/^[89a-f]/, '1'); }

function hostOf(domain: string) { return domain.replace(/:\d+$/, '').replace(/^\[|\]$/g, ''); }

/** Creates (once) a local CA and a server certificate for the domain, under <dataDir>/tls. */
export function ensureTls(dataDir: string, domain: string): TlsFiles {
  const dir = join(dataDir, 'tls');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const caPath = join(dir, 'ca.pem');
  const caKeyPath = join(dir, 'ca-key.pem');
  const host = hostOf(domain);
  const certPath = join(dir, `server-${host.replace(/[^a-zA-Z0-9.-]/g, '_')}.pem`);
  const keyPath = certPath.replace(/\.pem$/, '-key.pem');

  if (!existsSync(caPath) || !existsSync(caKeyPath)) {
    const k = keyPair();
    const ca = forge.pki.createCertificate();
    ca.publicKey = k.pub;
    ca.serialNumber = serial();
    ca.validity.notBefore = new Date(Date.now() - 60_000);
    ca.validity.notAfter = new Date(Date.now() + 10 * 365 * 86400_000);
    const attrs = [{ name: 'commonName', value: 'Postern local CA' }];
    ca.setSubject(attrs); ca.setIssuer(attrs);
    ca.setExtensions([
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      { name: 'subjectKeyIdentifier' },
    ]);
    ca.sign(k.priv, forge.md.sha256.create());
    writeFileSync(caKeyPath, k.pem, { mode: 0o600 });
    writeFileSync(caPath, forge.pki.certificateToPem(ca));
  }
  if (existsSync(certPath) && existsSync(keyPath)) {
    const cert = new X509Certificate(readFileSync(certPath));
    if (new Date(cert.validTo).getTime() > Date.now() + 7 * 86400_000) {
      return { caPath, key: readFileSync(keyPath, 'utf8'), cert: readFileSync(certPath, 'utf8') };
    }
  }
  const caCert = forge.pki.certificateFromPem(readFileSync(caPath, 'utf8'));
  const caKey = forge.pki.privateKeyFromPem(readFileSync(caKeyPath, 'utf8'));
  const k = keyPair();
  const c = forge.pki.createCertificate();
  c.publicKey = k.pub;
  c.serialNumber = serial();
  c.validity.notBefore = new Date(Date.now() - 60_000);
  c.validity.notAfter = new Date(Date.now() + 397 * 86400_000);
  c.setSubject([{ name: 'commonName', value: host }]);
  c.setIssuer(caCert.subject.attributes);
  const altNames: any[] = [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }];
  if (isIP(host)) altNames.push({ type: 7, ip: host }); else if (host !== 'localhost') altNames.push({ type: 2, value: host });
  c.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames },
  ]);
  c.sign(caKey, forge.md.sha256.create());
  const certPem = forge.pki.certificateToPem(c);
  writeFileSync(keyPath, k.pem, { mode: 0o600 });
  writeFileSync(certPath, certPem);
  return { caPath, key: k.pem, cert: certPem };
}
