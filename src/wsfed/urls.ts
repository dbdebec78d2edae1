import type { Env } from '../tenant/env.ts';

// Where WS-Federation lives on this server: the passive requestor endpoints
// (the tenant's, and each application's), and the continue URL a WS-Fed login
// comes back to from the engine's /authorize (see signin.ts).

const base = (env: Env) => env.issuer.replace(/\/$/, '');

export const METADATA_PATH = '/FederationMetadata/2007-06/FederationMetadata.xml';

/** `https://{domain}/wsfed`, or `https://{domain}/wsfed/{client_id}`. */
export const endpointUrl = (env: Env, clientId?: string) =>
  `${base(env)}/wsfed${clientId ? `/${encodeURIComponent(clientId)}` : ''}`;

export const continuePath = (clientId: string) => `/wsfed/${encodeURIComponent(clientId)}/continue`;
export const continueUrl = (env: Env, clientId: string) => `${base(env)}${continuePath(clientId)}`;
