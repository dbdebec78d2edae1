import type Koa from 'koa';
import { ApiError } from './errors.ts';

// PostgreSQL's text and jsonb cannot hold U+0000, so a NUL that reached a query
// would fail there as a server error (SQLite would store it). No Auth0 field
// can contain one: refuse it at the door, the same way on both backends.

/** True when `v`, or any string key or value inside it, contains U+0000. */
export function hasNul(v: unknown): boolean {
  if (typeof v === 'string') return v.includes('\0');
  if (!v || typeof v !== 'object') return false;
  for (const [k, x] of Object.entries(v)) if (k.includes('\0') || hasNul(x)) return true;
  return false;
}

/** The body check: only bodies that could carry a NUL are walked. */
export function refuseNulBody(raw: string, parsed: unknown, errorCode: string) {
  if ((raw.includes('\0') || raw.includes('\\u0000') || /%00/i.test(raw)) && hasNul(parsed)) {
    throw new ApiError(400, 'The request contains a NUL character', errorCode);
  }
}

/** Refuses a path or query string with an encoded NUL, in the error shape of the surface asked. */
export function refuseNulUrl(): Koa.Middleware {
  return (ctx, next) => {
    if (!/%00/i.test(ctx.url)) return next();
    const message = 'The request URI contains a NUL character';
    ctx.status = 400;
    ctx.body = ctx.path.startsWith('/api/v2')
      ? new ApiError(400, message, 'invalid_uri').toJSON()
      : { error: 'invalid_request', error_description: message };
  };
}
