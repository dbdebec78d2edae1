import type Koa from 'koa';

// The Authentication API's older endpoints (/dbconnections/*,
// /usernamepassword/*) answer refusals as {name, code, description, statusCode};
// auth0.js and Lock read `code` and `description` from that shape.

export class LegacyError extends Error {
  constructor(public body: Record<string, unknown> & { statusCode: number }) { super(String(body.code)); }
}

export const badRequest = (code: string, description: string) =>
  new LegacyError({ name: 'BadRequestError', code, description, statusCode: 400 });

/** Answers a LegacyError; anything else is not a refusal and is thrown on. */
export function sendLegacy(ctx: Koa.Context, err: unknown) {
  if (!(err instanceof LegacyError)) throw err;
  ctx.status = err.body.statusCode;
  ctx.body = err.body;
}
