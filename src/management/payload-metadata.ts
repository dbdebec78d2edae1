import { badRequest } from '../lib/errors.ts';
import type { OidcPayloadRow } from '../store/schema.ts';
import type { Env } from '../tenant/env.ts';

// `session_metadata` and `refresh_token_metadata`: kept beside the engine's
// payload (model `<Model>Metadata`, keyed by the public id, expiring with it),
// so the engine's own records stay exactly as it wrote them.

const MAX_LENGTH = 255;
const metaModel = (model: string) => `${model}Metadata`;

export async function readMetadata(env: Env, model: string, row: OidcPayloadRow): Promise<Record<string, string> | undefined> {
  const meta = row.uid ? await env.store.findPayload(metaModel(model), 'id', row.uid) : undefined;
  return meta ? JSON.parse(meta.payload) : undefined;
}

/** Replaces the metadata (null clears it); Auth0 takes string values and keys of at most 255 characters. */
export async function writeMetadata(env: Env, model: string, row: OidcPayloadRow, field: string, value: Record<string, unknown> | null) {
  if (value === null) return env.store.destroyPayload(metaModel(model), row.uid!);
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string' || v.length > MAX_LENGTH || k.length > MAX_LENGTH) {
      throw badRequest(`Payload validation error: ${field} values must be strings of at most ${MAX_LENGTH} characters (key ${JSON.stringify(k.slice(0, 40))}).`, 'invalid_body');
    }
  }
  await env.store.upsertPayload({
    model: metaModel(model), id: row.uid!, payload: JSON.stringify(value), grant_id: null, uid: null, user_code: null,
    account_id: row.account_id, expires_at: row.expires_at, consumed_at: null,
  });
}

/** Destroys engine payloads with their metadata. */
export async function destroyWithMetadata(env: Env, model: string, rows: OidcPayloadRow[]) {
  for (const row of rows) {
    await env.store.destroyPayload(model, row.id);
    if (row.uid) await env.store.destroyPayload(metaModel(model), row.uid);
  }
}
