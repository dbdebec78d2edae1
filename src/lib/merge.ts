/**
 * Auth0's metadata PATCH: root-level keys merge, null removes a key, {} (or
 * null) clears. Below the root, values replace: Auth0 documents that "only
 * properties at the root level are merged; all lower-level properties will be
 * replaced", so a nested object must be sent whole.
 */
export function mergeMetadata(current: Record<string, any>, patch: Record<string, any> | null): Record<string, any> {
  if (patch === null || Object.keys(patch).length === 0) return {};
  const out: Record<string, any> = { ...current };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}
