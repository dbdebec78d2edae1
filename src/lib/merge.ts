/** Auth0's metadata PATCH: objects merge recursively, null removes a key, {} clears. */
export function mergeMetadata(current: Record<string, any>, patch: Record<string, any> | null): Record<string, any> {
  if (patch === null || Object.keys(patch).length === 0) return {};
  const out: Record<string, any> = { ...current };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (isObj(v) && isObj(out[k])) out[k] = mergeDeep(out[k], v);
    else out[k] = v;
  }
  return out;
}
function mergeDeep(a: Record<string, any>, b: Record<string, any>) {
  const out: Record<string, any> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (v === null) delete out[k];
    else if (isObj(v) && isObj(out[k])) out[k] = mergeDeep(out[k], v);
    else out[k] = v;
  }
  return out;
}
const isObj = (v: unknown): v is Record<string, any> => !!v && typeof v === 'object' && !Array.isArray(v);
