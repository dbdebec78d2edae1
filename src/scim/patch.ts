import { invalidPath, invalidValue, ScimError } from './errors.ts';
import { parsePath, removePath, setPath, type AttrPath } from './paths.ts';
import { requireSchema } from './request.ts';

// SCIM PatchOp (RFC 7644 §3.5.2), applied to the user's current resource; the
// result is then saved as a replace. Okta sends
// `{"op":"replace","value":{"active":false}}`, Entra ID `{"op":"Replace",
// "path":"active","value":"False"}` and keys such as "name.givenName" inside
// a value. A multi-valued attribute given whole replaces the old list, since a
// user keeps one value per mapped element.

export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const MAX_OPERATIONS = 100;
// Attributes the server owns; a patch that names them changes nothing.
const READ_ONLY = new Set(['id', 'meta', 'schemas', 'groups']);

const isObject = (v: unknown): v is Record<string, any> => !!v && typeof v === 'object' && !Array.isArray(v);

function path(text: unknown): AttrPath {
  const p = typeof text === 'string' ? parsePath(text) : undefined;
  if (!p) throw invalidPath(`The path ${JSON.stringify(text)} is not supported`);
  return p;
}

/** Sets a value; a complex value at a plain attribute is merged sub-attribute by sub-attribute. */
function put(resource: Record<string, any>, p: AttrPath, value: unknown) {
  if (!p.schema && READ_ONLY.has(p.attr.toLowerCase())) return;
  if (isObject(value) && !p.sub && !p.filter) {
    for (const [k, v] of Object.entries(value)) put(resource, { ...p, sub: k }, v);
  } else {
    setPath(resource, p, value, true);
  }
}

/** `value` without a path: each key is an attribute path, or an extension schema holding some. */
function putAll(resource: Record<string, any>, value: unknown) {
  if (!isObject(value)) throw invalidValue('An operation without a path needs an object value');
  for (const [k, v] of Object.entries(value)) {
    if (/^urn:/i.test(k) && isObject(v) && !parsePath(k)?.sub) {
      for (const [sub, x] of Object.entries(v)) put(resource, path(`${k}:${sub}`), x);
    } else {
      put(resource, path(k), v);
    }
  }
}

export function applyPatch(resource: Record<string, any>, body: Record<string, any>) {
  requireSchema(body, PATCH_OP);
  const ops = body.Operations ?? body.operations;
  if (!Array.isArray(ops) || !ops.length || ops.length > MAX_OPERATIONS) {
    throw new ScimError(400, `Operations must be an array of 1 to ${MAX_OPERATIONS} operations`, 'invalidSyntax');
  }
  for (const op of ops) {
    if (!isObject(op)) throw new ScimError(400, 'Each operation must be an object', 'invalidSyntax');
    const kind = typeof op.op === 'string' ? op.op.toLowerCase() : '';
    if (kind === 'remove') {
      if (op.path === undefined) throw new ScimError(400, 'A remove operation needs a path', 'noTarget');
      removePath(resource, path(op.path));
    } else if (kind === 'add' || kind === 'replace') {
      if (op.path === undefined) putAll(resource, op.value);
      else put(resource, path(op.path), op.value);
    } else {
      throw new ScimError(400, `Unknown operation ${JSON.stringify(op.op)}; use add, replace or remove`, 'invalidSyntax');
    }
  }
  return resource;
}
