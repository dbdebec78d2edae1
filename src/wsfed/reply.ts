import type { Engine } from '../oidc/provider.ts';
import type { CachedClient } from '../oidc/clients.ts';
import { callbackAllowed } from '../oidc/redirect-uri.ts';
import { ApiError } from '../lib/errors.ts';
import { allowedLogoutUrls } from '../login/logout.ts';

// Where the browser may be sent back. A sign-in's `wreply` must be one of the
// application's Allowed Callback URLs (the WS-Fed addon's "Application Callback
// URL" is the first of them); without one, that first callback is used. A
// sign-out's `wreply` must be an Allowed Logout URL, of the application or,
// when no application is named, of the tenant, as /v2/logout's returnTo.
// Anything else is refused with an error page, never followed.

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((u): u is string => typeof u === 'string') : []);

export function signinReply(client: CachedClient, wreply: string | undefined): string {
  const callbacks = strings(client.data.callbacks);
  if (wreply !== undefined) {
    if (callbackAllowed(callbacks, wreply)) return wreply;
    throw new ApiError(400, `The wreply "${wreply}" is not in the list of Allowed Callback URLs of the application.`, 'invalid_request');
  }
  const first = callbacks.find((u) => !u.includes('*'));
  if (first && callbackAllowed([first], first)) return first;
  throw new ApiError(400, 'The application has no callback URL to send the WS-Federation response to.', 'invalid_request');
}

/** The allowed wreply of a sign-out, or undefined when none was asked for. */
export async function signoutReply(engine: Engine, client: CachedClient | undefined, wreply: string | undefined): Promise<string | undefined> {
  if (wreply === undefined) return undefined;
  if (callbackAllowed(await allowedLogoutUrls(engine, client), wreply)) return wreply;
  throw new ApiError(400, `The wreply "${wreply}" is not defined as a valid URL in "Allowed Logout URLs".`, 'invalid_request');
}
