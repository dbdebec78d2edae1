import { jwtVerify } from 'jose';
import { badRequest } from '../lib/errors.ts';
import { RETRY, untilLanded } from '../store/store.ts';
import type { UserRow } from '../store/schema.ts';
import type { Env } from './env.ts';
import { loadUser } from './users.ts';
import { deleteTokenSet } from './federated-token-sets.ts';

// Account linking, as Auth0 does it: a secondary identity joins the primary
// user's `identities` (with its profile as `profileData`) and stops being a
// user of its own, while its connection keeps it: its credentials still log
// in, as the primary. Unlinking makes it a user again, under its old id.

export interface Identity { connection: string; user_id: string; provider: string; isSocial: boolean; profileData?: Record<string, unknown> }

const PROFILE_DATA = ['email', 'email_verified', 'name', 'nickname', 'given_name', 'family_name', 'picture', 'username', 'phone_number'] as const;

/** The secondary's identity as its primary lists it. */
function linkedIdentity(row: UserRow): Identity {
  const [own] = JSON.parse(row.identities) as Identity[];
  const profileData: Record<string, unknown> = {};
  for (const k of PROFILE_DATA) {
    const v = row[k];
    if (v !== null && v !== undefined) profileData[k] = k === 'email_verified' ? Boolean(v) : v;
  }
  if (!row.email) delete profileData.email_verified;
  return { ...own, profileData };
}

/** The user a login through this identity signs in as: itself, or the user it is linked into. */
export async function accountFor(env: Env, identity: UserRow): Promise<UserRow | undefined> {
  return identity.linked_to ? env.store.getUser(identity.linked_to) : identity;
}

export interface LinkRequest { provider?: string; user_id?: string; connection_id?: string; link_with?: string }

/** The identity a link request names: by provider and id, or by an ID token this tenant issued (`link_with`). */
async function secondaryOf(env: Env, body: LinkRequest): Promise<UserRow> {
  let id: string;
  if (body.link_with !== undefined) {
    if (body.provider !== undefined || body.user_id !== undefined || body.connection_id !== undefined) {
      throw badRequest('Payload validation error: link_with cannot be sent with provider, user_id or connection_id.', 'invalid_body');
    }
    try {
      const { payload } = await jwtVerify(body.link_with, env.keys.verifier, { issuer: env.issuer });
      if (typeof payload.sub !== 'string') throw new Error('no sub');
      id = payload.sub;
    } catch {
      throw badRequest('The link_with token is not a valid ID token of this tenant.', 'invalid_body');
    }
  } else {
    if (!body.provider || body.user_id === undefined) throw badRequest("Payload validation error: 'Missing required property: provider, user_id'.", 'invalid_body');
    const uid = String(body.user_id);
    id = uid.startsWith(`${body.provider}|`) ? uid : `${body.provider}|${uid}`;
  }
  const row = await env.store.getUser(id, { linked: true });
  if (!row) throw badRequest('The secondary account does not exist.', 'inexistent_user');
  if (body.connection_id !== undefined) {
    const conn = await env.store.connections.findBy('name', row.connection);
    if (conn?.id !== body.connection_id) throw badRequest('The secondary account does not belong to the connection given.', 'invalid_body');
  }
  return row;
}

/** Links the identity `body` names into `primaryId`; the primary's identities after the link. */
export function linkAccount(env: Env, primaryId: string, body: LinkRequest): Promise<Identity[]> {
  return untilLanded(async () => {
    const primary = await loadUser(env, primaryId);
    const secondary = await secondaryOf(env, body);
    if (secondary.user_id === primary.user_id) throw badRequest('Main identity and the new one are the same.', 'invalid_body');
    if (secondary.linked_to) throw badRequest('The secondary account is already linked to a user.', 'invalid_body');
    if ((await env.store.linkedIdentities(secondary.user_id)).length) {
      throw badRequest('The secondary account has linked accounts of its own; unlink them first.', 'invalid_body');
    }
    const identities = [...JSON.parse(primary.identities) as Identity[], linkedIdentity(secondary)];
    const landed = await env.store.linkUser(primary.user_id, secondary.user_id, primary, JSON.stringify(identities), new Date().toISOString());
    return landed ? identities : RETRY;
  });
}

/** Unlinks `{provider}|{user_id}` from `primaryId`; the primary's identities after it. */
export async function unlinkAccount(env: Env, primaryId: string, provider: string, userId: string): Promise<Identity[]> {
  const left = await untilLanded(async () => {
    const primary = await loadUser(env, primaryId);
    const identities = JSON.parse(primary.identities) as Identity[];
    const [main, ...linked] = identities;
    if (main.provider === provider && main.user_id === userId) throw badRequest('Main identity cannot be removed.', 'invalid_body');
    if (!linked.some((i) => i.provider === provider && i.user_id === userId)) {
      throw badRequest('The identity is not linked to this user.', 'invalid_body');
    }
    const left = identities.filter((i) => !(i.provider === provider && i.user_id === userId));
    const landed = await env.store.unlinkUser(primary.user_id, `${provider}|${userId}`, primary, JSON.stringify(left), new Date().toISOString());
    return landed ? left : RETRY;
  });
  // The IdP tokens came with the identity; its former primary must not keep them.
  await deleteTokenSet(env, `${provider}|${userId}`);
  return left;
}

/** Keeps a linked identity's `profileData` in its primary current after its profile changed (an IdP login). */
export async function refreshProfileData(env: Env, identity: UserRow): Promise<void> {
  if (!identity.linked_to) return;
  const fresh = linkedIdentity(identity);
  await untilLanded(async () => {
    const primary = await env.store.getUser(identity.linked_to!);
    if (!primary) return undefined;
    const identities = (JSON.parse(primary.identities) as Identity[])
      .map((i) => (i.provider === fresh.provider && i.user_id === fresh.user_id ? fresh : i));
    const next = JSON.stringify(identities);
    if (next === primary.identities) return undefined;
    return (await env.store.setIdentities(primary.user_id, primary, next)) ? undefined : RETRY;
  });
}
