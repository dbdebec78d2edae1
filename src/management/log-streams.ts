import { randomInt, randomUUID } from 'node:crypto';
import { badRequest, notFound } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';
import type { OpContext } from './router.ts';
import { componentValidator, validationMessage } from './spec.ts';
import { collectionRoutes, type CollectionResource } from './tenant-collection.ts';
import { replaceKeys } from './document-resource.ts';

// Log streams, stored and answered as Auth0 does. Postern streams nothing to
// EventBridge, Event Grid, Datadog, Splunk, Sumo, Segment or Mixpanel; an `http`
// stream is delivered by log-stream-delivery.ts. The sink's credentials are
// sealed at rest; Auth0 answers them back, except Mixpanel's password, which it
// masks, so Postern does the same.

export interface LogStream {
  id: string; type: string; name?: string; status: string; isPriority: boolean;
  filters?: { type: string; name: string }[]; pii_config?: Record<string, unknown>; sink: Record<string, any>; startFrom?: string;
  /** Not answered (Auth0 shows none); where delivery starts. */
  created_at?: string;
}

export const LOG_STREAMS = { doc: 'log-streams', missing: () => notFound('The log stream does not exist.', 'inexistent_log_stream') };
/** Where delivery of a stream stands (log-stream-delivery.ts); it goes with the stream. */
export const logStreamCursorDoc = (id: string) => `log-stream-cursors:${id}`;

/** Each type's sink, as the spec names its schema. */
const SINK_SCHEMA: Record<string, string> = {
  http: 'LogStreamHttpSink', eventbridge: 'LogStreamEventBridgeSink', eventgrid: 'LogStreamEventGridSink', datadog: 'LogStreamDatadogSink',
  splunk: 'LogStreamSplunkSink', sumo: 'LogStreamSumoSink', segment: 'LogStreamSegmentSinkWriteKey', mixpanel: 'LogStreamMixpanelSink',
};
const SECRETS = ['httpAuthorization', 'datadogApiKey', 'splunkToken', 'segmentWriteKey', 'mixpanelServiceAccountPassword'];
const MASKED = new Set(['mixpanelServiceAccountPassword']);

const mapSecrets = (sink: Record<string, any>, f: (name: string, v: string) => string) =>
  Object.fromEntries(Object.entries(sink).map(([k, v]) => [k, SECRETS.includes(k) && typeof v === 'string' ? f(k, v) : v]));

/** The sink with its credentials in clear, for delivery and for checking a PATCH. */
export const openSink = (env: Env, sink: Record<string, any>) => mapSecrets(sink, (_, v) => env.box.open(v));

/** The merged sink against its type's schema; the message names the property under `sink`. */
function checkSink(type: string, sink: Record<string, any>) {
  const v = componentValidator(SINK_SCHEMA[type]);
  if (v(sink)) return;
  const message = validationMessage(v, 'Payload');
  throw badRequest(message.includes(' on property ') ? message.replace(' on property ', ' on property sink.') : message.replace(/\.$/, ' on property sink.'));
}

/** Auth0's filters name a category of events each. */
function checkFilters(filters: any[] | undefined) {
  for (const f of filters ?? []) {
    if (f.type !== 'category' || typeof f.name !== 'string') {
      throw badRequest("Payload validation error: 'A filter must have a type (category) and a name' on property filters.");
    }
  }
}

const withPiiDefaults = (pii: Record<string, unknown> | undefined) => (pii ? { method: 'hash', algorithm: 'xxhash', ...pii } : undefined);

/** The partner event source or topic Auth0 names for the tenant's logs; whatever the body said is replaced. */
async function partnerSink(env: Env, type: string, sink: Record<string, any>) {
  const tenant = (await env.store.getTenant())?.name ?? env.store.tenantId;
  if (type === 'eventbridge') return { ...sink, awsPartnerEventSource: `aws.partner/auth0.com/${tenant}-${randomUUID()}/auth0.logs` };
  if (type === 'eventgrid') return { ...sink, azurePartnerTopic: `azure.partner/auth0.com/${tenant}-${sink.azureSubscriptionId}/auth0.logs` };
  return sink;
}

function stored(env: Env, s: Omit<LogStream, 'sink'>, sink: Record<string, any>): LogStream {
  checkSink(s.type, sink);
  checkFilters(s.filters);
  const out: LogStream = { ...s, sink: mapSecrets(sink, (_, v) => env.box.seal(v)) };
  if (!out.filters?.length) delete out.filters;
  if (!out.pii_config) delete out.pii_config;
  return out;
}

function logStreamJson(env: Env, s: LogStream) {
  const { startFrom: _, created_at: __, ...shown } = s;
  return { ...shown, sink: mapSecrets(s.sink, (name, v) => (MASKED.has(name) ? '********' : env.box.open(v))) };
}

const lstId = () => `lst_${String(randomInt(0, 1e8)).padStart(8, '0')}${String(randomInt(0, 1e8)).padStart(8, '0')}`;

const logStreams: CollectionResource<LogStream> = {
  ...LOG_STREAMS,
  path: '/log-streams',
  list: { kind: 'array' },
  createStatus: 200, // Auth0 answers a new log stream with 200
  show: (s, env) => logStreamJson(env, s),
  async create({ env, body }: OpContext) {
    const sink = await partnerSink(env, body.type, body.sink);
    return stored(env, {
      id: lstId(), ...(body.name !== undefined ? { name: body.name } : {}), type: body.type, status: 'active', isPriority: body.isPriority ?? false,
      filters: body.filters, pii_config: withPiiDefaults(body.pii_config), ...(body.startFrom !== undefined ? { startFrom: body.startFrom } : {}),
      created_at: new Date().toISOString(),
    }, sink);
  },
  update({ env, body }, cur) {
    const { sink, pii_config, ...rest } = body;
    const next = replaceKeys(cur, rest) as LogStream;
    if (pii_config !== undefined) next.pii_config = withPiiDefaults(pii_config);
    // The sink's keys merge into the stored ones, so a PATCH need not repeat a credential.
    return stored(env, next, { ...openSink(env, cur.sink), ...(sink ?? {}) });
  },
  removed: async (env, s) => { await env.store.deleteTenantDoc(logStreamCursorDoc(s.id)); },
};

export const logStreamRoutes = collectionRoutes(logStreams);
