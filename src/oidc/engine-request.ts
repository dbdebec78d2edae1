import querystring from 'node:querystring';
import type Koa from 'koa';
import { readParams } from '../lib/body.ts';
import { ApiError } from '../lib/errors.ts';
import { hasNul } from '../lib/nul-guard.ts';
import { OAuthError } from './errors.ts';

// Auth0's OAuth endpoints take JSON or form bodies and Basic or post client
// credentials; the engine wants a form body with post credentials, which is
// how every application is registered with it. These helpers translate.

/** RFC 6749 §2.3.1: Basic credentials are form-urlencoded before base64. */
export function basicCredentials(header: string | undefined): { id: string; secret: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return undefined;
  const dec = (s: string) => { try { return decodeURIComponent(s.replace(/\+/g, ' ')); } catch { return s; } };
  return { id: dec(decoded.slice(0, i)), secret: dec(decoded.slice(i + 1)) };
}

/**
 * Reads the body as flat string parameters (objects such as `user_profile`
 * stay JSON text) and moves Basic credentials into them.
 */
export async function readOAuthParams(ctx: Koa.Context): Promise<Record<string, string>> {
  let raw: Record<string, any>;
  try {
    raw = await readParams(ctx);
  } catch (e) {
    if (e instanceof ApiError) throw new OAuthError(400, 'invalid_request', e.message);
    throw e;
  }
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined || v === null) continue;
    params[k] = typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
  const basic = basicCredentials(ctx.get('authorization'));
  if (basic) {
    if (hasNul(basic)) throw new OAuthError(400, 'invalid_request', 'The request contains a NUL character');
    if (params.client_id && params.client_id !== basic.id) throw new OAuthError(400, 'invalid_request', 'client_id in the body does not match the Authorization header');
    params.client_id = basic.id;
    params.client_secret = basic.secret;
    delete ctx.req.headers.authorization;
  }
  return params;
}

/**
 * Form encoding for node:querystring's parser (the engine's), escaping only what
 * that parser gives meaning to. A client_credentials request for the Management
 * API carries some 250 scopes; with `:` left as is the engine decodes them on
 * its fast path instead of percent-decoding kilobytes per token.
 */
const formEscape = (v: string) =>
  (/[%&=+]/.test(v) ? v.replace(/[%&=+]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`) : v).replaceAll(' ', '+');

/**
 * Gives the engine the parameters as its form body. As text: the engine parses
 * a string body once, but turns an object into a string and parses that again.
 */
export function handToEngine(ctx: Koa.Context, params: Record<string, string>) {
  const body = querystring.stringify(params, '&', '=', { encodeURIComponent: formEscape });
  (ctx.req as any).body = body;
  (ctx.request as any).body = body;
  ctx.req.headers['content-type'] = 'application/x-www-form-urlencoded';
}

/** Auth0's `audience` (or else the tenant's default audience) as the engine's resource indicator. */
export function audienceAsResource(params: Record<string, string>, fallback?: string) {
  const audience = params.audience || params.resource || fallback;
  delete params.audience;
  if (audience) params.resource = String(audience);
  else delete params.resource;
}
