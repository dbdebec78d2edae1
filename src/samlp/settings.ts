import type { Env } from '../tenant/env.ts';
import type { CachedClient } from '../oidc/clients.ts';
import { callbackAllowed } from '../oidc/redirect-uri.ts';

// The SAML2 Web App addon's settings (`addons.samlp` of an application), with
// Auth0's defaults for what it leaves out.

export const UNSPECIFIED_NAMEID = 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified';
const CLAIMS = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims';

/** Auth0's default mappings: profile property → SAML attribute name(s). */
export const DEFAULT_MAPPINGS: Record<string, string | string[]> = {
  user_id: `${CLAIMS}/nameidentifier`,
  email: `${CLAIMS}/emailaddress`,
  name: `${CLAIMS}/name`,
  given_name: `${CLAIMS}/givenname`,
  family_name: `${CLAIMS}/surname`,
  upn: `${CLAIMS}/upn`,
  groups: 'http://schemas.xmlsoap.org/claims/Group',
};
export const UPN_ATTRIBUTE = `${CLAIMS}/upn`;

export interface SamlpSettings {
  mappings: Record<string, string | string[]>;
  audience?: string; recipient?: string; destination?: string; callback?: string;
  issuer: string;
  createUpnClaim: boolean; passthroughClaimsWithNoMapping: boolean; mapUnknownClaimsAsIs: boolean; mapIdentities: boolean;
  signatureAlgorithm: 'rsa-sha256' | 'rsa-sha1'; digestAlgorithm: 'sha256' | 'sha1';
  lifetimeInSeconds: number; signResponse: boolean;
  typedAttributes: boolean; includeAttributeNameFormat: boolean;
  nameIdentifierFormat: string; nameIdentifierProbes: string[];
  authnContextClassRef: string;
  /** The SP's certificate: once set, its AuthnRequests and LogoutRequests must be signed with its key. */
  signingCert?: string;
  /** The SP's certificate and public key the assertion is encrypted to, and the content cipher (Auth0's default is aes256-cbc). */
  encryptionCert?: string; encryptionPublicKey?: string; encryptionAlgorithm: 'aes256-cbc' | 'aes256-gcm';
  logoutCallback?: string;
  /** Whether the session's other SAML applications are sent a LogoutRequest when it ends (Auth0's default: yes). */
  sloEnabled: boolean;
  /** How LogoutResponses and LogoutRequests reach the SP: posted (Auth0's default) or redirected. */
  logoutBinding: 'post' | 'redirect';
}

export const REDIRECT_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';

const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
const bool = (v: unknown, dflt: boolean) => (typeof v === 'boolean' ? v : dflt);

/** The addon of an application, or undefined when the application has none. */
export function samlpAddon(client: CachedClient | undefined): Record<string, any> | undefined {
  const addon = client?.data.addons?.samlp;
  return addon && typeof addon === 'object' && !Array.isArray(addon) ? addon : undefined;
}

export function samlpSettings(env: Env, addon: Record<string, any>): SamlpSettings {
  const mappings = addon.mappings && typeof addon.mappings === 'object' ? addon.mappings : {};
  const lifetime = Number(addon.lifetimeInSeconds);
  return {
    mappings: { ...DEFAULT_MAPPINGS, ...mappings },
    audience: str(addon.audience), recipient: str(addon.recipient), destination: str(addon.destination), callback: str(addon.callback),
    issuer: str(addon.issuer) ?? `urn:${env.config.domain.replace(/:\d+$/, '')}`,
    createUpnClaim: bool(addon.createUpnClaim, true),
    passthroughClaimsWithNoMapping: bool(addon.passthroughClaimsWithNoMapping, true),
    mapUnknownClaimsAsIs: bool(addon.mapUnknownClaimsAsIs, false),
    mapIdentities: bool(addon.mapIdentities, true),
    signatureAlgorithm: addon.signatureAlgorithm === 'rsa-sha1' ? 'rsa-sha1' : 'rsa-sha256',
    digestAlgorithm: addon.digestAlgorithm === 'sha1' ? 'sha1' : 'sha256',
    lifetimeInSeconds: Number.isInteger(lifetime) && lifetime > 0 ? lifetime : 3600,
    signResponse: bool(addon.signResponse, false),
    typedAttributes: bool(addon.typedAttributes, true),
    includeAttributeNameFormat: bool(addon.includeAttributeNameFormat, true),
    nameIdentifierFormat: str(addon.nameIdentifierFormat) ?? UNSPECIFIED_NAMEID,
    nameIdentifierProbes: Array.isArray(addon.nameIdentifierProbes) && addon.nameIdentifierProbes.length
      ? addon.nameIdentifierProbes.filter((p: unknown) => typeof p === 'string')
      : [`${CLAIMS}/nameidentifier`, `${CLAIMS}/emailaddress`, `${CLAIMS}/name`],
    authnContextClassRef: str(addon.authnContextClassRef) ?? 'urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified',
    signingCert: str(addon.signingCert),
    encryptionCert: str(addon.encryptionCert), encryptionPublicKey: str(addon.encryptionPublicKey),
    encryptionAlgorithm: addon.encryptionAlgorithm === 'aes256-gcm' ? 'aes256-gcm' : 'aes256-cbc',
    logoutCallback: str(addon.logout?.callback),
    sloEnabled: bool(addon.logout?.slo_enabled, true),
    logoutBinding: addon.binding === REDIRECT_BINDING ? 'redirect' : 'post',
  };
}

/**
 * Where the response may be posted. An ACS URL the SP asks for must be one of
 * the application's Allowed Callback URLs or the addon's recipient/callback;
 * without one, the addon's callback or recipient, or the first callback URL.
 */
export function acsUrl(client: CachedClient, s: SamlpSettings, requested: string | undefined): string | undefined {
  const callbacks: string[] = (client.data.callbacks ?? []).filter((u: unknown) => typeof u === 'string');
  const own = [s.callback, s.recipient].filter((u): u is string => Boolean(u));
  if (requested !== undefined) return callbackAllowed([...callbacks, ...own], requested) ? requested : undefined;
  const chosen = own[0] ?? callbacks.find((u) => !u.includes('*'));
  return chosen && callbackAllowed([chosen], chosen) ? chosen : undefined;
}
