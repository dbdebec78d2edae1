import type Koa from 'koa';
import { ApiError } from '../lib/errors.ts';

// SCIM answers in its own shapes (RFC 7644 §3.12): an Error message with the
// status as a string, and the media type application/scim+json, which Koa
// would replace with application/json if the body were left as an object.

export const SCIM_ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const SCIM_MEDIA_TYPE = 'application/scim+json';

export type ScimType = 'invalidFilter' | 'tooMany' | 'uniqueness' | 'mutability' | 'invalidSyntax' | 'invalidPath'
  | 'noTarget' | 'invalidValue' | 'invalidVers' | 'sensitive';

export class ScimError extends Error {
  constructor(public status: number, detail: string, public scimType?: ScimType) { super(detail); }
  toJSON() {
    return { schemas: [SCIM_ERROR], status: String(this.status), ...(this.scimType ? { scimType: this.scimType } : {}), detail: this.message };
  }
}

export const invalidValue = (detail: string) => new ScimError(400, detail, 'invalidValue');
export const invalidFilter = (detail: string) => new ScimError(400, detail, 'invalidFilter');
export const invalidPath = (detail: string) => new ScimError(400, detail, 'invalidPath');
export const userNotFound = () => new ScimError(404, 'User not found');

/**
 * The shared layers (body parsing, user writes) throw ApiErrors in Auth0's
 * shape; keep their status and message, and name the SCIM error type a
 * client can act on.
 */
export function asScimError(e: unknown): ScimError | undefined {
  if (e instanceof ScimError) return e;
  if (e instanceof ApiError && e.statusCode < 500) {
    const type: ScimType | undefined = e.statusCode === 409 ? 'uniqueness' : e.statusCode === 400 ? (e.errorCode === 'invalid_body' ? 'invalidSyntax' : 'invalidValue') : undefined;
    return new ScimError(e.statusCode, e.message, type);
  }
  return undefined;
}

/** Writes a SCIM body with the SCIM media type. */
export function send(ctx: Koa.Context, status: number, body?: unknown) {
  ctx.status = status;
  if (body === undefined) return;
  ctx.body = JSON.stringify(body);
  ctx.type = SCIM_MEDIA_TYPE;
}
