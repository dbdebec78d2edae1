import type Koa from 'koa';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { Env } from '../tenant/env.ts';
import type { Engine } from './provider.ts';
import { readJsonBody } from '../lib/body.ts';
import { ENTERPRISE_STRATEGIES, federatedUserId, type ConnectionDoc } from '../tenant/federated-users.ts';
import { sendBackchannelLogouts } from './backchannel-logout.ts';
import { accountFor } from '../tenant/account-linking.ts';
import type { UserRow } from '../store/schema.ts';

// Global Token Revocation (Okta's Universal Logout): the IdP of an enterprise
// connection asks us to log one of its users out everywhere. The request is a
// JWT signed with the keys the connection's ID tokens are checked with; its
// `sub` is our client id at the IdP and its `aud` this endpoint's URL.
// Effect: the user's sessions end and their refresh tokens stop working.

export const GTR_PREFIX = '/oauth/global-token-revocation/connection/';
const TYP = 'global-token-revocation+jwt';

const jwksByUri = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
function jwks(uri: string) {
  let set = jwksByUri.get(uri);
  if (!set) jwksByUri.set(uri, set = createRemoteJWKSet(new URL(uri)));
  return set;
}

class Refusal extends Error {
  constructor(readonly status: number, readonly code: string, message: string) { super(message); }
}

async function authenticate(env: Env, conn: ConnectionDoc, endpoint: string, header: string | undefined) {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  if (!m) throw new Refusal(400, 'invalid_request', 'Missing authentication');
  const o = conn.data.options ?? {};
  const issuer = o.issuer ?? o.oidc_metadata?.issuer;
  const jwksUri = o.jwks_uri ?? o.oidc_metadata?.jwks_uri;
  if (!issuer || !jwksUri) throw new Refusal(401, 'invalid_token', 'The connection has no issuer or key set');
  try {
    const { payload } = await jwtVerify(m[1], jwks(jwksUri), {
      issuer, audience: endpoint, subject: o.client_id, typ: TYP, requiredClaims: ['jti', 'iat', 'exp'],
      algorithms: o.id_token_signed_response_algs ?? ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384'],
    });
    return payload;
  } catch (e) {
    env.log.info({ connection: conn.data.name, reason: (e as Error).message }, 'global token revocation refused');
    throw new Refusal(401, 'invalid_token', 'Invalid token');
  }
}

/** The user whose sessions an identity's logins made: the user it is linked into, if it is. */
const accountId = async (env: Env, identity: UserRow | undefined) => (identity ? (await accountFor(env, identity))?.user_id : undefined);

/** The user a revocation names: Okta's `iss_sub` (the subject seen at login), or `email`. */
async function subjectUser(env: Env, conn: ConnectionDoc, body: any): Promise<string | undefined> {
  const subject = body?.subject ?? body?.sub_id;
  if (!subject || typeof subject !== 'object') throw new Refusal(400, 'invalid_request', 'Missing subject');
  if (subject.format === 'iss_sub') {
    if (typeof subject.sub !== 'string' || typeof subject.iss !== 'string') throw new Refusal(400, 'invalid_request', 'Invalid iss_sub subject');
    const issuer = conn.data.options?.issuer ?? conn.data.options?.oidc_metadata?.issuer;
    if (subject.iss !== issuer) return undefined;
    return accountId(env, await env.store.getUser(federatedUserId(conn, subject.sub), { linked: true }));
  }
  if (subject.format === 'email') {
    if (typeof subject.email !== 'string') throw new Refusal(400, 'invalid_request', 'Invalid email subject');
    return accountId(env, await env.store.userByConnectionEmail(conn.data.name, subject.email));
  }
  throw new Refusal(400, 'invalid_request', `Unsupported subject format: ${String(subject.format)}`);
}

/** Every session and refresh token of the user, as the engine stores them; the sessions' applications are told. */
async function revokeEverything(env: Env, engine: Engine, userId: string) {
  for (const model of ['Session', 'RefreshToken']) {
    for (const row of await env.store.listPayloads(model, { account_id: userId })) {
      await env.store.destroyPayload(model, row.id);
      if (model === 'Session') await sendBackchannelLogouts(env, engine, JSON.parse(row.payload), 'idp-logout');
    }
  }
}

export function globalTokenRevocation(env: Env, engine: Engine): Koa.Middleware {
  return async (ctx, next) => {
    if (!ctx.path.startsWith(GTR_PREFIX)) return next();
    const name = decodeURIComponent(ctx.path.slice(GTR_PREFIX.length));
    if (ctx.method !== 'POST') {
      ctx.status = 405;
      ctx.body = { error: 'invalid_request', error_description: 'Method not allowed' };
      return;
    }
    try {
      const conn = await env.store.connections.findBy('name', name) as ConnectionDoc | undefined;
      if (!conn || !ENTERPRISE_STRATEGIES.has(conn.data.strategy)) throw new Refusal(404, 'not_found', 'Unknown connection');
      const endpoint = `${env.issuer.replace(/\/$/, '')}${GTR_PREFIX}${encodeURIComponent(name)}`;
      const token = await authenticate(env, conn, endpoint, ctx.get('authorization'));
      // A token works once: Okta sends a fresh jti for every request.
      if (!(await (engine.provider as any).ReplayDetection.unique(token.iss, token.jti, token.exp))) throw new Refusal(401, 'invalid_token', 'Token replayed');
      const body = await readJsonBody(ctx).catch(() => { throw new Refusal(400, 'invalid_request', 'The body must be JSON'); });
      const userId = await subjectUser(env, conn, body);
      if (userId) {
        await revokeEverything(env, engine, userId);
        env.events.record({ type: 'slo', description: 'Global token revocation', user_id: userId, connection: conn.data.name, connection_id: conn.id, strategy: conn.data.strategy, strategy_type: 'enterprise', ip: ctx.ip });
      }
      ctx.status = 200;
      ctx.body = '';
    } catch (e) {
      if (!(e instanceof Refusal)) throw e;
      ctx.status = e.status;
      ctx.body = { error: e.code, error_description: e.message };
    }
  };
}
