import { badRequest, conflict, notFound } from '../lib/errors.ts';
import { loadAction } from './actions.ts';
import { collectionId, collectionRoutes, type CollectionResource } from './tenant-collection.ts';

// Custom token exchange profiles (early access): each maps a subject token
// type, unique in the tenant, to the action that handles the exchange
// (oidc/grants-token-exchange.ts runs it).

interface TokenExchangeProfile { id: string; name: string; type: string; subject_token_type: string; action_id: string; created_at: string; updated_at: string }

const TRIGGER = 'custom-token-exchange';
/** Namespaces Auth0 keeps for its own token types. */
const RESERVED = [/^https?:\/\/(auth0|okta)\.com(?=$|[/?#:])/i, /^urn:(ietf|auth0|okta)(?=$|:)/i];

function checkTokenType(type: string, others: TokenExchangeProfile[]) {
  if (RESERVED.some((r) => r.test(type))) {
    throw badRequest(`Payload validation error: 'The subject_token_type ${type} is in a reserved namespace' on property subject_token_type.`);
  }
  if (others.some((o) => o.subject_token_type === type)) {
    throw conflict('A token exchange profile with the same subject_token_type already exists.', 'token_exchange_profile_conflict');
  }
}

const tokenExchangeProfiles: CollectionResource<TokenExchangeProfile> = {
  doc: 'token-exchange-profiles',
  missing: () => notFound('Token exchange profile not found.', 'inexistent_token_exchange_profile'),
  path: '/token-exchange-profiles',
  list: { kind: 'checkpoint', key: 'token_exchange_profiles' },
  show: (p) => p,
  /** The action exists and is one for this trigger. */
  async prepare({ env, body }) {
    if (body.action_id === undefined) return;
    const action = await loadAction(env, body.action_id).catch(() => undefined);
    if (!action) throw badRequest(`Payload validation error: 'The action ${body.action_id} does not exist' on property action_id.`);
    if (!(action.data.supported_triggers ?? []).some((t: any) => t.id === TRIGGER)) {
      throw badRequest(`Payload validation error: 'The action ${body.action_id} does not support the ${TRIGGER} trigger' on property action_id.`);
    }
  },
  create({ body }, others) {
    checkTokenType(body.subject_token_type, others);
    const now = new Date().toISOString();
    return {
      id: collectionId('tep_', 16), name: body.name, type: body.type, subject_token_type: body.subject_token_type,
      action_id: body.action_id, created_at: now, updated_at: now,
    };
  },
  update({ body }, cur, others) {
    if (body.subject_token_type !== undefined) checkTokenType(body.subject_token_type, others);
    return { ...cur, name: body.name ?? cur.name, subject_token_type: body.subject_token_type ?? cur.subject_token_type, updated_at: new Date().toISOString() };
  },
};

export const tokenExchangeProfileRoutes = collectionRoutes(tokenExchangeProfiles);
