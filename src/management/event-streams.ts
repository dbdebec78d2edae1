import { randomUUID } from 'node:crypto';
import { badRequest, notFound } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';
import { loadAction } from './actions.ts';
import type { WebhookAuth } from './event-stream-webhook.ts';
import type { OpContext } from './router.ts';
import { componentValidator } from './spec.ts';
import { collectionId, collectionRoutes, type CollectionResource } from './tenant-collection.ts';

// Event streams (early access), stored and answered as Auth0 does. The user
// events a webhook stream subscribes to reach it (event-stream-dispatch.ts),
// and so do test events sent on request (event-stream-deliveries.ts).
// A webhook's credential (bearer token, basic password, custom header value)
// is sealed at rest and, as in Auth0, never answered.

export interface EventStream {
  id: string; name?: string; status: string; subscriptions: { event_type: string }[];
  destination: { type: string; configuration: Record<string, any> }; created_at: string; updated_at: string;
}

/** Where the dispatcher is in the user events, for one stream. */
export const eventStreamCursorDoc = (id: string) => `event-streams:cursor:${id}`;

export const EVENT_STREAMS = { doc: 'event-streams', missing: () => notFound('The event stream does not exist.', 'inexistent_event_stream') };

/** Each authorization method's credential, write-only. */
const CREDENTIAL: Record<string, string> = { bearer: 'token', basic: 'password', custom_header: 'header_value' };
const eventType = componentValidator('EventStreamEventTypeEnum');

const bad = (why: string, property: string) => badRequest(`Payload validation error: '${why}' on property ${property}.`);

function checkSubscriptions(subs: { event_type?: string }[] | undefined) {
  for (const s of subs ?? []) {
    if (!eventType(s.event_type)) throw bad(`Invalid event type: ${String(s.event_type)}`, 'subscriptions');
  }
}

/**
 * The webhook's authorization to store: the credential sealed. Without one in
 * the body the stored one stays, as long as the method did not change.
 */
function webhookAuthorization(env: Env, given: Record<string, any>, stored?: Record<string, any>) {
  const key = CREDENTIAL[given.method];
  const { [key]: plain, ...rest } = given;
  if (typeof plain === 'string') return { ...rest, [key]: env.box.seal(plain) };
  if (stored && stored.method === given.method && stored[key]) return { ...rest, [key]: stored[key] };
  throw bad(`Missing required property: ${key}`, 'destination.configuration.webhook_authorization');
}

/** The webhook's credential in clear, for delivery. */
export function webhookCredential(env: Env, s: EventStream): WebhookAuth {
  const auth = s.destination.configuration.webhook_authorization;
  return { method: auth.method, username: auth.username, header_key: auth.header_key, value: env.box.open(auth[CREDENTIAL[auth.method]]) };
}

function eventStreamJson(s: EventStream) {
  const { destination, ...rest } = s;
  if (destination.type !== 'webhook') return s;
  const auth = destination.configuration.webhook_authorization;
  const { [CREDENTIAL[auth.method]]: _, ...shown } = auth;
  return { ...rest, destination: { ...destination, configuration: { ...destination.configuration, webhook_authorization: shown } } };
}

async function destinationFor(env: Env, given: EventStream['destination'], cur?: EventStream['destination']) {
  const configuration = { ...given.configuration };
  if (given.type === 'webhook') {
    configuration.webhook_authorization = webhookAuthorization(env, configuration.webhook_authorization, cur?.configuration.webhook_authorization);
  } else if (given.type === 'eventbridge') {
    // The partner event source is Auth0's to name; whatever the body says is replaced.
    const tenant = (await env.store.getTenant())?.name ?? env.store.tenantId;
    configuration.aws_partner_event_source = `aws.partner/auth0.com/${tenant}-${randomUUID()}/auth0.events`;
  }
  return { type: given.type, configuration };
}

/** An action destination names an existing action. */
async function checkAction({ env, body }: OpContext) {
  if (body.destination?.type !== 'action') return;
  try { await loadAction(env, body.destination.configuration.action_id); } catch {
    throw bad(`The action ${body.destination.configuration.action_id} does not exist`, 'destination.configuration.action_id');
  }
}

export const eventStreams: CollectionResource<EventStream> = {
  ...EVENT_STREAMS,
  path: '/event-streams',
  list: { kind: 'checkpoint', key: 'eventStreams' },
  show: eventStreamJson,
  prepare: checkAction,
  async create({ env, body }) {
    checkSubscriptions(body.subscriptions);
    const now = new Date().toISOString();
    return {
      id: collectionId('est_', 22), ...(body.name !== undefined ? { name: body.name } : {}), status: body.status ?? 'enabled',
      subscriptions: body.subscriptions ?? [], destination: await destinationFor(env, body.destination), created_at: now, updated_at: now,
    };
  },
  async update({ env, body }, cur) {
    checkSubscriptions(body.subscriptions);
    if (body.destination && body.destination.type !== cur.destination.type) {
      throw bad(`The destination type of an event stream cannot change from ${cur.destination.type}`, 'destination.type');
    }
    return {
      ...cur, ...(body.name !== undefined ? { name: body.name } : {}), ...(body.status !== undefined ? { status: body.status } : {}),
      ...(body.subscriptions !== undefined ? { subscriptions: body.subscriptions } : {}),
      ...(body.destination ? { destination: await destinationFor(env, body.destination, cur.destination) } : {}),
      updated_at: new Date().toISOString(),
    };
  },
};
