import { badRequest } from '../lib/errors.ts';

/**
 * The id list a membership call carries. DELETE bodies are optional to the
 * router, so an absent one is reported here the way the schema would.
 */
export function bodyList<T = string>(body: any, key: string): T[] {
  if (body === undefined || body === null || typeof body !== 'object') throw badRequest(`Payload validation error: 'Missing required property: ${key}'.`);
  const list = body[key];
  if (!Array.isArray(list)) throw badRequest(`Payload validation error: 'Missing required property: ${key}'.`);
  if (!list.length) throw badRequest(`Payload validation error: 'Array is too short (0), minimum 1' on property ${key}.`);
  return list;
}
