import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import type { Env } from '../tenant/env.ts';
import { ApiError } from '../lib/errors.ts';
import { setAttribute, type Attributes } from './attributes.ts';
import { samlpSettings, type SamlpSettings } from './settings.ts';
import type { SigningKey } from './sign.ts';

// What post-login actions' api.samlResponse asks of a SAML login. The sandbox
// records the calls; they ride on the authorization code of a SAML login only
// (actions/post-login.ts) to where the Response is made, and override the
// addon's settings there as Auth0's do. A private key from setKey is sealed
// with the master key while it waits on the code.

export interface SamlOverrides { settings: Record<string, unknown>; attributes: Record<string, unknown> }

/** The addon settings an action may override (the rest of what it records is the key pair and RelayState). */
const SETTINGS = new Set([
  'audience', 'recipient', 'createUpnClaim', 'passthroughClaimsWithNoMapping', 'mapUnknownClaimsAsIs', 'mapIdentities',
  'signatureAlgorithm', 'digestAlgorithm', 'destination', 'lifetimeInSeconds', 'signResponse', 'nameIdentifierFormat',
  'nameIdentifierProbes', 'authnContextClassRef', 'signingCert', 'includeAttributeNameFormat', 'typedAttributes',
  'encryptionCert', 'encryptionPublicKey', 'encryptionAlgorithm', 'issuer',
]);

const isEmpty = (o?: SamlOverrides) => !o || (!Object.keys(o.settings ?? {}).length && !Object.keys(o.attributes ?? {}).length);

/** What a run recorded, ready to be stored: undefined when it set nothing. */
export function sealOverrides(env: Env, o: SamlOverrides | undefined): SamlOverrides | undefined {
  if (!o || isEmpty(o)) return undefined;
  const settings = { ...o.settings };
  if (typeof settings.key === 'string') settings.key = env.box.seal(settings.key);
  return { settings, attributes: { ...o.attributes } };
}

/** Two runs of one login (before and after an action's redirect): the later call wins, setting by setting. */
export function mergeOverrides(a?: SamlOverrides, b?: SamlOverrides): SamlOverrides | undefined {
  if (isEmpty(a)) return isEmpty(b) ? undefined : b;
  if (isEmpty(b)) return a;
  return { settings: { ...a!.settings, ...b!.settings }, attributes: { ...a!.attributes, ...b!.attributes } };
}

const refused = (message: string) => new ApiError(400, `A post-login action's SAML settings are not usable: ${message}`, 'invalid_request');

/** The addon's settings with an action's overrides, checked as the addon's own are. */
export function overriddenSettings(env: Env, addon: Record<string, any>, o: SamlOverrides | undefined): SamlpSettings {
  if (!o) return samlpSettings(env, addon);
  const picked = Object.fromEntries(Object.entries(o.settings ?? {}).filter(([k]) => SETTINGS.has(k)));
  return samlpSettings(env, { ...addon, ...picked });
}

/** The key pair setCert and setKey give, both or neither, as Auth0 requires. */
export function overriddenKey(env: Env, o: SamlOverrides | undefined): SigningKey | undefined {
  const { cert, key } = o?.settings ?? {};
  if (cert === undefined && key === undefined) return undefined;
  if (typeof cert !== 'string' || typeof key !== 'string') throw refused('setCert and setKey must be used together');
  let privateKey: string;
  try {
    privateKey = createPrivateKey(env.box.open(key)).export({ type: 'pkcs8', format: 'pem' }) as string;
  } catch {
    throw refused('the key of setKey is not a private key');
  }
  try {
    if (!new X509Certificate(cert).publicKey.equals(createPublicKey(privateKey))) throw new Error('mismatch');
  } catch {
    throw refused('the certificate of setCert does not belong to the key of setKey');
  }
  return { privateKey, cert };
}

/** setAttribute's additions and removals, over the attributes the settings made. */
export function overriddenAttributes(attrs: Attributes, o: SamlOverrides | undefined): Attributes {
  for (const [name, v] of Object.entries(o?.attributes ?? {})) setAttribute(attrs, name, v);
  return attrs;
}

/** setRelayState's value, when it set one. */
export const overriddenRelayState = (o: SamlOverrides | undefined) => (typeof o?.settings?.relayState === 'string' ? o.settings.relayState : undefined);
