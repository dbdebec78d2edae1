import type Koa from 'koa';
import { ApiError } from './errors.ts';
import { refuseNulBody } from './nul-guard.ts';

const LIMIT = 1024 * 1024;

/** The request body as text. Plain stream events: an async iterator per request costs the token path more than its parsing. */
function readRaw(ctx: Koa.Context): Promise<string> {
  const req = ctx.req;
  if (req.readableEnded) return Promise.resolve('');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      req.off('data', onData).off('end', onEnd).off('error', finish).off('close', onClose);
      if (err) { req.resume(); reject(err); } else resolve(Buffer.concat(chunks, size).toString('utf8'));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > LIMIT) finish(new ApiError(413, 'Payload too large', 'payload_too_large'));
      else chunks.push(chunk);
    };
    const onEnd = () => finish();
    const onClose = () => finish(new ApiError(400, 'The request body was not received in full', 'invalid_body'));
    req.on('data', onData).on('end', onEnd).on('error', finish).on('close', onClose);
  });
}

/** JSON body of a Management API call; form bodies are accepted where Auth0 accepts them. */
export async function readJsonBody(ctx: Koa.Context): Promise<any> {
  const raw = await readRaw(ctx);
  if (raw.trim() === '') return undefined;
  let parsed: any;
  if (ctx.is('application/x-www-form-urlencoded')) parsed = Object.fromEntries(new URLSearchParams(raw));
  else {
    try { parsed = JSON.parse(raw); } catch { throw new ApiError(400, 'Invalid request payload JSON format', 'invalid_body'); }
  }
  refuseNulBody(raw, parsed, 'invalid_body');
  return parsed;
}

/** A form or JSON body as flat string parameters, for the OAuth endpoints. */
export async function readParams(ctx: Koa.Context): Promise<Record<string, any>> {
  const raw = await readRaw(ctx);
  if (raw.trim() === '') return {};
  if (ctx.is('application/json')) {
    let parsed: any;
    try { parsed = JSON.parse(raw); } catch { throw new ApiError(400, 'failed to parse the request body', 'invalid_request'); }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ApiError(400, 'the request body must be an object', 'invalid_request');
    refuseNulBody(raw, parsed, 'invalid_request');
    return parsed;
  }
  const params = Object.fromEntries(new URLSearchParams(raw));
  refuseNulBody(raw, params, 'invalid_request');
  return params;
}
