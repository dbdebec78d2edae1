import Ajv2020Module from 'ajv/dist/2020.js';
import { badRequest } from '../lib/errors.ts';
import { validationMessage } from './spec.ts';

// A few early-access operations (agents, organization clients) are in the op
// table with no request schema in the shared spec, so the router lets any body
// through. Their handlers check the body against a schema written from the
// official SDK's request types, and answer a bad one exactly as the router
// answers a body that fails the spec's own schemas.

const Ajv2020 = (Ajv2020Module as any).default ?? Ajv2020Module;
const ajv = new Ajv2020({ strict: false, allErrors: false, logger: false });

/** A JSON object with only the given properties; the SDK's types are closed. */
export const closedObject = (properties: Record<string, object>, required: string[] = []) =>
  ({ type: 'object', properties, required, additionalProperties: false });

/** A check that throws Auth0's 400 for a body the schema refuses; an absent body is an empty object. */
export function bodyCheck(schema: object): (body: unknown) => any {
  const validate = ajv.compile(schema);
  return (body) => {
    const value = body === undefined ? {} : body;
    if (!validate(value)) throw badRequest(validationMessage(validate, 'Payload'));
    return value;
  };
}
