import { createSign } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import type Koa from 'koa';
import type { SamlpSettings } from './settings.ts';
import { SIGNATURE, signRoot, type SigningKey } from './sign.ts';
import { postToSp } from './post-form.ts';

// A logout message on its way to the SP, by the binding the addon names
// (`binding`): posted with an enveloped signature (Auth0's default), or
// deflated into the query of a redirect whose Signature covers the query.

const SIGNER = { 'rsa-sha256': 'RSA-SHA256', 'rsa-sha1': 'RSA-SHA1' } as const;

export type MessageParam = 'SAMLRequest' | 'SAMLResponse';

export interface OutgoingMessage { xml: string; rootLocalName: string; param: MessageParam; relayState?: string }

export function sendToSp(ctx: Koa.Context, target: string, m: OutgoingMessage, key: SigningKey, s: SamlpSettings) {
  ctx.set('Cache-Control', 'no-store');
  if (s.logoutBinding === 'post') {
    const signed = signRoot(m.xml, m.rootLocalName, key, s);
    return postToSp(ctx, target, { [m.param]: Buffer.from(signed).toString('base64'), RelayState: m.relayState });
  }
  const q = new URLSearchParams({ [m.param]: deflateRawSync(Buffer.from(m.xml)).toString('base64') });
  if (m.relayState) q.set('RelayState', m.relayState);
  q.set('SigAlg', SIGNATURE[s.signatureAlgorithm]);
  const signed = q.toString();
  const signature = createSign(SIGNER[s.signatureAlgorithm]).update(signed).sign(key.privateKey, 'base64');
  const url = new URL(target);
  url.search = `${url.search ? `${url.search.slice(1)}&` : ''}${signed}&${new URLSearchParams({ Signature: signature })}`;
  ctx.redirect(url.href);
}
