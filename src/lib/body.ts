import type Koa from 'koa';
import { ApiError } from './errors.ts';

const LIMIT = 1024 * 1024;

async function readRaw(ctx: Koa.Context): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += chunk.length;
    if (size > LIMIT) throw new ApiError(413, 'Payload too large', 'payload_too_large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** JSON body of a Management API call; form bodies are accepted where Auth0 accepts them. */
export async function readJsonBody(ctx: Koa.Context): Promise<any> {
  const raw = await readRaw(ctx);
  if (raw.trim() === '') return undefined;
  if (ctx.is('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(raw));
  try {
    return JSON.parse(raw);
  } catch {
    throw new ApiError(400, 'Invalid request payload JSON format', 'invalid_body');
  }
}

/** A form or JSON body as flat string parameters, for the OAuth endpoints. */
export async function readParams(ctx: Koa.Context): Promise<Record<string, any>> {
  const raw = await readRaw(ctx);
  if (raw.trim() === '') return {};
  if (ctx.is('application/json')) {
    let parsed: any;
    try { parsed = JSON.parse(raw); } catch { throw new ApiError(400, 'failed to parse the request body', 'invalid_request'); }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ApiError(400, 'the request body must be an object', 'invalid_request');
    return parsed;
  }
  return Object.fromEntries(new URLSearchParams(raw));
}
