// Pieces every trigger's event is made of.

// Parameters that carry credentials never reach action code.
const SECRET_PARAMS = new Set(['client_secret', 'client_assertion', 'code', 'code_verifier', 'refresh_token', 'password', 'subject_token']);

export const withoutSecrets = (params: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(params ?? {}).filter(([k, v]) => !SECRET_PARAMS.has(k) && v !== undefined && typeof v !== 'function'));

/** A space-separated parameter as Auth0's events give it: a list. */
export const words = (v: unknown) => (typeof v === 'string' && v ? v.split(' ').filter(Boolean) : []);
