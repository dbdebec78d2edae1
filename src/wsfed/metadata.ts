import type Koa from 'koa';
import type Router from '@koa/router';
import type { Env } from '../tenant/env.ts';
import type { Engine } from '../oidc/provider.ts';
import type { CachedClient } from '../oidc/clients.ts';
import { samlpHandler } from '../samlp/context.ts';
import { certBody } from '../samlp/sign.ts';
import { x } from '../samlp/xml.ts';
import { DEFAULT_MAPPINGS, UPN_ATTRIBUTE } from '../samlp/settings.ts';
import { tokenIssuer } from './settings.ts';
import { endpointUrl, METADATA_PATH } from './urls.ts';

// Federation metadata, as Auth0 serves it at
// /wsfed/FederationMetadata/2007-06/FederationMetadata.xml (and per
// application under /wsfed/{client_id}/): a Security Token Service role with
// the tenant's current signing certificate, the token types offered, the
// claims the default mappings give, and the passive requestor endpoint.

const FED = 'http://docs.oasis-open.org/wsfed/federation/200706';
const AUTH = 'http://docs.oasis-open.org/wsfed/authorization/200706';

export function federationMetadata(issuer: string, endpoint: string, certPem: string): string {
  const claims = [...new Set([...Object.values(DEFAULT_MAPPINGS).flat(), UPN_ATTRIBUTE])]
    .map((uri) => `<auth:ClaimType Uri="${x(uri)}" Optional="true" xmlns:auth="${AUTH}"/>`).join('');
  return `<?xml version="1.0"?>\n<EntityDescriptor entityID="${x(issuer)}" xmlns="urn:oasis:names:tc:SAML:2.0:metadata">`
    + `<RoleDescriptor xsi:type="fed:SecurityTokenServiceType" protocolSupportEnumeration="${FED}" ServiceDisplayName="${x(issuer)}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:fed="${FED}">`
    + `<KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>${certBody(certPem)}</X509Certificate></X509Data></KeyInfo></KeyDescriptor>`
    + '<fed:TokenTypesOffered><fed:TokenType Uri="urn:oasis:names:tc:SAML:2.0:assertion"/><fed:TokenType Uri="urn:oasis:names:tc:SAML:1.0:assertion"/></fed:TokenTypesOffered>'
    + `<fed:ClaimTypesOffered>${claims}</fed:ClaimTypesOffered>`
    + `<fed:PassiveRequestorEndpoint><EndpointReference xmlns="http://www.w3.org/2005/08/addressing"><Address>${x(endpoint)}</Address></EndpointReference></fed:PassiveRequestorEndpoint>`
    + '</RoleDescriptor></EntityDescriptor>';
}

export function metadataRoutes(router: Router, env: Env, engine: Engine, appOf: (id: string) => Promise<CachedClient>) {
  const send = (ctx: Koa.Context, endpoint: string) => {
    ctx.type = 'application/xml';
    ctx.body = federationMetadata(tokenIssuer(env), endpoint, env.keys.current().row.cert);
  };
  router.get(`/wsfed${METADATA_PATH}`, samlpHandler(engine, async (ctx) => send(ctx, endpointUrl(env))));
  router.get(`/wsfed/:clientId${METADATA_PATH}`, samlpHandler(engine, async (ctx) => {
    const client = await appOf(ctx.params.clientId);
    send(ctx, endpointUrl(env, client.id));
  }));
}
