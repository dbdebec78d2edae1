import { badRequest } from '../lib/errors.ts';
import { componentValidator, validationMessage } from '../management/spec.ts';
import { discoveryUrl, fetchDiscovery, REQUIRED_METADATA } from './oidc-discovery.ts';

// The options of an Okta Workforce (`okta`) or OpenID Connect (`oidc`)
// connection as they are saved: validated against Auth0's schema for the
// strategy, with defaults filled in and the IdP's metadata discovered.

/** The endpoints kept both flat in the options and inside `oidc_metadata`. */
const FLAT = ['issuer', 'authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri'] as const;

const DEFAULTS: Record<string, { type: string; scope: string }> = {
  okta: { type: 'back_channel', scope: 'openid profile email' },
  oidc: { type: 'front_channel', scope: 'openid' },
};

const isEmpty = (v: unknown) => v == null || (typeof v === 'object' && !Object.keys(v as object).length);

function validate(strategy: string, o: Record<string, any>) {
  const v = componentValidator(strategy === 'okta' ? 'ConnectionOptionsOkta' : 'ConnectionOptionsOIDC');
  if (!v(o)) throw badRequest(validationMessage(v, 'Payload').replace(/ on property /, ' on property options.').replace(/'\.$/, "' on property options."));
  // Okta's domain is a host name, not a URL: discovery puts the scheme in front of it.
  if (strategy === 'okta' && o.domain !== undefined && !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$/i.test(o.domain)) {
    throw badRequest(`Payload validation error: 'Invalid domain: expected a host name such as acme.okta.com' on property options.domain.`);
  }
  if (!String(o.scope).split(/\s+/).includes('openid')) throw badRequest(`Payload validation error: 'The scope must include openid' on property options.scope.`);
  if (o.type === 'back_channel' && o.token_endpoint_auth_method !== 'private_key_jwt' && !o.client_secret) {
    throw badRequest(`Payload validation error: 'Missing required property: client_secret' on property options.`);
  }
}

/** Where this connection's metadata is fetched from, when it has none yet. */
function discoverySource(strategy: string, o: Record<string, any>): string | undefined {
  if (strategy === 'okta' && o.domain) return `https://${o.domain}/.well-known/openid-configuration`;
  if (strategy === 'oidc' && o.discovery_url) return discoveryUrl(o.discovery_url);
  return undefined;
}

export async function enterpriseOptions(strategy: string, input: Record<string, any> | undefined): Promise<Record<string, any>> {
  const o: Record<string, any> = { ...(input ?? {}) };
  // go-auth0 sends these as null when unset.
  for (const k of FLAT) if (o[k] === null) delete o[k];
  // Auth0's own examples spell it `scopes`; both are accepted, `scope` wins.
  if (o.scope === undefined && typeof o.scopes === 'string') o.scope = o.scopes;
  o.type ??= DEFAULTS[strategy].type;
  o.scope ??= DEFAULTS[strategy].scope;
  o.set_user_root_attributes ??= 'on_each_login';
  o.connection_settings ??= { pkce: 'auto' };
  validate(strategy, o);

  if (isEmpty(o.oidc_metadata)) {
    const source = discoverySource(strategy, o);
    if (source) {
      o.oidc_metadata = await fetchDiscovery(source);
    } else if (REQUIRED_METADATA.filter((k) => k !== 'id_token_signing_alg_values_supported').every((k) => o[k])) {
      o.oidc_metadata = { ...Object.fromEntries(FLAT.filter((k) => o[k]).map((k) => [k, o[k]])), id_token_signing_alg_values_supported: ['RS256'] };
    } else {
      const where = strategy === 'okta' ? 'options.domain' : 'options.discovery_url';
      throw badRequest(`Payload validation error: 'Missing required property: ${where.split('.')[1]}' on property options (or give oidc_metadata, or issuer, authorization_endpoint and jwks_uri).`);
    }
  }
  // Explicit endpoints win over discovered ones.
  for (const k of FLAT) if (o[k] === undefined && o.oidc_metadata[k]) o[k] = o.oidc_metadata[k];
  return o;
}
