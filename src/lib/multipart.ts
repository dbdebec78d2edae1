import busboy from 'busboy';
import type Koa from 'koa';
import { ApiError } from './errors.ts';
import { readJsonBody } from './body.ts';
import { hasNul } from './nul-guard.ts';

// multipart/form-data bodies, for the one Management API operation that takes
// them (a users import file). Fields come back as strings, a file part as its
// UTF-8 text under its field name, for the operation's schema to check.

/** Auth0's limit on a users import file, and so on any part. */
export const FORM_PART_LIMIT = 500 * 1024;
const BODY_LIMIT = FORM_PART_LIMIT + 64 * 1024;

const malformed = () => new ApiError(400, 'Invalid multipart payload format', 'invalid_body');
const tooLarge = () => new ApiError(413, `Payload content length greater than maximum allowed: ${FORM_PART_LIMIT}`, 'payload_too_large');

/**
 * The form's fields, or undefined without a body. Another content type is
 * read as JSON first, so malformed JSON answers as on every route, then refused.
 */
export async function readFormBody(ctx: Koa.Context): Promise<Record<string, string> | undefined> {
  if (!ctx.is('multipart/form-data')) {
    if ((await readJsonBody(ctx)) === undefined) return undefined;
    throw new ApiError(415, 'Unsupported Media Type: send the users file as multipart/form-data', 'unsupported_media_type');
  }
  const req = ctx.req;
  return new Promise((resolve, reject) => {
    let failure: ApiError | undefined;
    const fail = (e: ApiError) => { failure ??= e; };
    let form: busboy.Busboy;
    try {
      form = busboy({ headers: req.headers, limits: { fileSize: FORM_PART_LIMIT, fieldSize: FORM_PART_LIMIT, files: 1, fields: 20, parts: 21 } });
    } catch {
      req.resume();
      reject(malformed()); // no or a broken boundary
      return;
    }
    const fields: Record<string, string> = {};
    let size = 0;
    // Past the limit nothing more is parsed: the rest of the body is drained.
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= BODY_LIMIT) return;
      req.off('data', onData).unpipe(form);
      req.resume();
      reject(tooLarge());
    };
    req.on('data', onData);
    req.once('close', () => { if (!req.complete) reject(new ApiError(400, 'The request body was not received in full', 'invalid_body')); });
    form.on('field', (name, value, info) => {
      if (info.valueTruncated) fail(tooLarge());
      else if (info.nameTruncated) fail(malformed());
      else fields[name] = value;
    });
    form.on('file', (name, stream) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('limit', () => fail(tooLarge()));
      stream.on('end', () => { if (!stream.truncated) fields[name] = Buffer.concat(chunks).toString('utf8'); });
    });
    for (const limit of ['partsLimit', 'filesLimit', 'fieldsLimit'] as const) {
      form.on(limit, () => fail(new ApiError(400, 'The form has too many parts: send one users file and the documented fields', 'invalid_body')));
    }
    form.on('error', () => {
      req.off('data', onData).unpipe(form);
      req.resume();
      reject(failure ?? malformed());
    });
    form.on('close', () => {
      req.off('data', onData);
      if (failure) reject(failure);
      else if (hasNul(fields)) reject(new ApiError(400, 'The request contains a NUL character', 'invalid_body'));
      else resolve(fields);
    });
    req.pipe(form);
  });
}
