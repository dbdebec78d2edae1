import { setTimeout as sleep } from 'node:timers/promises';
import { badRequest, notFound } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';
import { EVENT_STREAMS, eventStreamCursorDoc, eventStreams, webhookCredential, type EventStream } from './event-streams.ts';
import { postEvent, type Posted } from './event-stream-webhook.ts';
import { reply, route, type Route } from './router.ts';
import { changeItems, checkpointList, collectionId, collectionRoutes, findItem, listItems, type Collection } from './tenant-collection.ts';

// An event stream's deliveries are what Postern really attempted: the user
// events that event-stream-dispatch.ts sends, and test events. Only a webhook
// destination receives them (Postern cannot reach EventBridge or run an
// action). As in Auth0, the history lists failed deliveries: a delivery that
// succeeds leaves no entry, one that fails keeps every attempt, and a
// redelivery that then succeeds removes it. Attempts run after the answer.

interface Attempt { status: 'failed'; timestamp: string; error_message?: string }
interface Delivery { id: string; event_stream_id: string; event_type: string; status: 'failed'; attempts: Attempt[]; event: Record<string, any> }

const MAX_KEPT = 100; // failed deliveries kept per stream, the oldest dropped first
const MAX_TEST_DATA = 16_384; // characters of a test event's own data: the history is one document
const deliveries = (streamId: string): Collection<Delivery> => ({
  doc: `event-streams:deliveries:${streamId}`,
  missing: () => notFound('The event delivery does not exist.', 'inexistent_event_delivery'),
});

const SAMPLES: Record<string, Record<string, unknown>> = {
  user: {
    user_id: 'auth0|507f1f77bcf86cd799439020', email: 'john.doe@example.com', email_verified: false, name: 'John Doe', nickname: 'johndoe',
    identities: [{ provider: 'auth0', isSocial: false, connection: 'Username-Password-Authentication', user_id: '507f1f77bcf86cd799439020' }],
    created_at: '2025-02-01T12:34:56.000Z', updated_at: '2025-02-01T12:34:56.000Z',
  },
  organization: { id: 'org_0000000000000001', name: 'example-org', display_name: 'Example Org' },
  group: { id: 'grp_0000000000000001', name: 'example-group' },
};

/** A CloudEvent as Auth0 sends a test event: sample data unless the body gives some. */
function testEvent(env: Env, s: EventStream, type: string, data: unknown) {
  const domain = env.config.domain.replace(/:\d+$/, '');
  const id = collectionId('evt_', 22);
  return {
    specversion: '1.0', id, source: `urn:auth0:${domain}`, type, time: new Date().toISOString(),
    data: data ?? { object: SAMPLES[type.split('.')[0]] ?? {} }, a0purpose: 'test', a0stream: s.id, a0tenant: domain,
  };
}

/** Auth0's retries of an event: three more attempts, after 1, 2 and 4 seconds. */
export const RETRY_DELAYS_MS = [1_000, 2_000, 4_000];
const isFinal = (p: Posted) => !p.ok && p.status !== undefined && p.status >= 400 && p.status < 500; // a 4xx is not retried

/**
 * Sends an event, trying again after each of `retryDelays`, then records the
 * outcome: failed attempts join the earlier ones, a success clears the entry.
 * False when `signal` stopped it first: then nothing is recorded.
 */
export async function sendEvent(env: Env, s: EventStream, event: Record<string, any>, retryDelays: number[] = [], signal?: AbortSignal): Promise<boolean> {
  const auth = webhookCredential(env, s);
  const failed: Attempt[] = [];
  for (let i = 0; ; i++) {
    const posted = await postEvent(s.destination.configuration.webhook_endpoint, auth, event, signal);
    if (signal?.aborted) return false;
    if (posted.ok) { failed.length = 0; break; }
    failed.push({ status: 'failed', timestamp: new Date().toISOString(), error_message: posted.error });
    if (i >= retryDelays.length || isFinal(posted)) break;
    try { await sleep(retryDelays[i], undefined, { signal }); } catch { return false; }
  }
  await record(env, s, event, failed);
  return true;
}

/** The history after one delivery: its failed attempts kept (none: it landed, and any entry goes). */
async function record(env: Env, s: EventStream, event: Record<string, any>, failed: Attempt[]) {
  const exists = async () => (await listItems(env, EVENT_STREAMS)).some((x) => x.id === s.id);
  // A stream deleted meanwhile keeps no history.
  if (!(await exists())) return;
  const history = await listItems(env, deliveries(s.id));
  if (!failed.length && !history.some((d) => d.id === event.id)) return; // nothing to clear, so nothing to write
  await changeItems(env, deliveries(s.id), (all) => {
    const known = all.find((d) => d.id === event.id);
    if (!failed.length) return all.filter((d) => d !== known);
    const next: Delivery = known
      ? { ...known, attempts: [...known.attempts, ...failed] }
      : { id: event.id, event_stream_id: s.id, event_type: event.type, status: 'failed', attempts: failed, event };
    return [...all.filter((d) => d !== known), next].slice(-MAX_KEPT);
  });
  // A delete that landed between the check and the write leaves no history behind either.
  if (!(await exists())) await env.store.deleteTenantDoc(deliveries(s.id).doc);
}

/** Attempts run after the answer; a failure to record one is logged (without the event) and goes no further. */
function deliverLater(env: Env, s: EventStream, events: Record<string, any>[]) {
  void (async () => {
    for (const e of events) await sendEvent(env, s, e);
  })().catch((e) => env.log.warn({ err: (e as Error).message, stream: s.id }, 'event stream delivery not recorded'));
}

function webhookStream(s: EventStream) {
  if (s.destination.type !== 'webhook') {
    throw badRequest(`Postern delivers events to webhook destinations only; this stream's destination is ${s.destination.type}.`, 'unsupported_destination');
  }
  return s;
}

const csv = (v: unknown) => (v === undefined || v === '' ? undefined : String(v).split(',').map((x) => x.trim()));
const validDate = (v: string | undefined, name: string) => {
  if (v !== undefined && Number.isNaN(Date.parse(v))) throw badRequest(`Query validation error: '${name}' is not a valid date.`, 'invalid_query_string');
  return v === undefined ? undefined : Date.parse(v);
};

/** The failed deliveries that a list or a bulk redelivery selects, by status, event type and time of the event. */
function selected(all: Delivery[], f: { statuses?: string[]; event_types?: string[]; date_from?: string; date_to?: string }) {
  const from = validDate(f.date_from, 'date_from');
  const to = validDate(f.date_to, 'date_to');
  return all.filter((d) => (!f.statuses || f.statuses.includes(d.status)) && (!f.event_types || f.event_types.includes(d.event_type))
    && (from === undefined || Date.parse(d.event.time) >= from) && (to === undefined || Date.parse(d.event.time) <= to));
}

export const eventStreamRoutes: Route[] = [
  ...collectionRoutes({ ...eventStreams, removed: async (env, s) => {
    await env.store.deleteTenantDoc(deliveries(s.id).doc);
    await env.store.deleteTenantDoc(eventStreamCursorDoc(s.id));
  } }),
  route('GET', '/event-streams/{id}/deliveries', async ({ env, params, query }) => {
    const s = await findItem(env, EVENT_STREAMS, params.id);
    const filter = { statuses: csv(query.statuses), event_types: csv(query.event_types), date_from: query.date_from, date_to: query.date_to };
    return checkpointList(query, async () => selected(await listItems(env, deliveries(s.id)), filter), 'deliveries');
  }),
  route('GET', '/event-streams/{id}/deliveries/{event_id}', async ({ env, params }) =>
    findItem(env, deliveries((await findItem(env, EVENT_STREAMS, params.id)).id), params.event_id)),
  route('POST', '/event-streams/{id}/redeliver', async ({ env, params, body }) => {
    const s = webhookStream(await findItem<EventStream>(env, EVENT_STREAMS, params.id));
    deliverLater(env, s, selected(await listItems(env, deliveries(s.id)), body).map((d) => d.event));
    return reply(202, body);
  }),
  route('POST', '/event-streams/{id}/redeliver/{event_id}', async ({ env, params }) => {
    const s = webhookStream(await findItem<EventStream>(env, EVENT_STREAMS, params.id));
    deliverLater(env, s, [(await findItem(env, deliveries(s.id), params.event_id)).event]);
    return reply(202);
  }),
  route('POST', '/event-streams/{id}/test', async ({ env, params, body }) => {
    const s = webhookStream(await findItem<EventStream>(env, EVENT_STREAMS, params.id));
    if (body.data !== undefined && JSON.stringify(body.data).length > MAX_TEST_DATA) {
      throw badRequest(`Payload validation error: 'A test event's data may have at most ${MAX_TEST_DATA} characters' on property data.`);
    }
    const event = testEvent(env, s, body.event_type, body.data);
    deliverLater(env, s, [event]);
    return reply(202, { id: event.id, event_stream_id: s.id, event_type: event.type, status: 'pending', attempts: [], event });
  }),
];
