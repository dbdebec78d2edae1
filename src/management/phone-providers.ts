import { alnum } from '../lib/ids.ts';
import { badRequest, conflict, notFound } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';
import { reply, route, type Route } from './router.ts';
import { patchDoc } from './patch-doc.ts';
import { boolFilter, loadDoc, sealInto, unique } from './doc-helpers.ts';
import { sendThrough } from '../tenant/phone-delivery.ts';

// The tenant's phone provider (Twilio or custom) as Auth0 keeps it. Credentials
// are write-only: sealed at rest and never answered. `try` sends one test
// message through the provider, even a disabled one, so it can be checked
// before it is turned on (sending is tenant/phone-delivery.ts).
//
// Auth0 allows one phone provider per tenant. The table's unique `name` column
// holds the channel ("phone") rather than the provider's name, so the database
// itself refuses a second provider, even from concurrent requests on other nodes.
const CHANNEL = 'phone';
const TWILIO_ONLY = ['sid', 'mssid', 'default_from'];

const missing = () => notFound('The phone provider does not exist.', 'inexistent_phone_provider');
const taken = () => conflict('The tenant already has a phone provider; update or delete it instead.', 'phone_provider_conflict');
const load = (env: Env, id: string) => loadDoc(env.store.phoneProviders, id, missing);
const tenantName = async (env: Env) => (await env.store.getTenant())?.name ?? env.store.tenantId;

function providerJson(doc: { id: string; data: any; created_at: string; updated_at: string }, tenant: string) {
  const d = doc.data;
  return {
    id: doc.id, tenant, name: d.name, channel: CHANNEL, disabled: d.disabled,
    ...(d.configuration ? { configuration: d.configuration } : {}),
    created_at: doc.created_at, updated_at: doc.updated_at,
  };
}

const sealed = (env: Env, credentials: Record<string, string>) => sealInto(env.box, undefined, credentials, 'upsert');

/** What the schema's anyOf cannot say: the configuration and credentials must be the named provider's own. */
function check(d: { name: string; configuration?: Record<string, unknown>; credentials: Record<string, string> }) {
  const invalid = (what: string, on?: string) => badRequest(`Payload validation error: '${what}'${on ? ` on property ${on}` : ''}.`);
  if (!d.configuration) throw invalid('Missing required property: configuration');
  if (d.name === 'twilio') {
    if (typeof d.configuration.sid !== 'string') throw invalid('Missing required property: sid', 'configuration');
    if (!d.credentials.auth_token) throw invalid('Missing required property: auth_token', 'credentials');
  } else {
    const extra = TWILIO_ONLY.find((k) => k in d.configuration!);
    if (extra) throw invalid(`Additional properties not allowed: ${extra}`, 'configuration');
    if (Object.keys(d.credentials).length) throw invalid('A custom phone provider takes no credentials');
  }
}

export const phoneProviderRoutes: Route[] = [
  route('GET', '/branding/phone/providers', async ({ env, query }) => {
    const disabled = boolFilter(query.disabled);
    const tenant = await tenantName(env);
    const all = (await env.store.phoneProviders.list()).items;
    return { providers: all.filter((d) => disabled === undefined || d.data.disabled === disabled).map((d) => providerJson(d, tenant)) };
  }),
  route('POST', '/branding/phone/providers', async ({ env, body }) => {
    // The schema lets unknown properties through; only the known ones are kept.
    const data = {
      name: body.name, disabled: body.disabled ?? false,
      ...(body.configuration ? { configuration: body.configuration } : {}),
      credentials: sealed(env, body.credentials),
    };
    check(data);
    const id = `pro_${alnum(22)}`;
    const doc = await unique(() => env.store.phoneProviders.insert(id, data, { name: CHANNEL }), [[async () => true, taken]]);
    return reply(201, providerJson(doc, await tenantName(env)));
  }),
  route('GET', '/branding/phone/providers/{id}', async ({ env, params }) => providerJson(await load(env, params.id), await tenantName(env))),
  route('PATCH', '/branding/phone/providers/{id}', async ({ env, params, body }) => {
    const doc = await load(env, params.id);
    // Sealed once, outside the retried read-modify-write.
    const credentials = body.credentials === undefined ? undefined : sealed(env, body.credentials);
    const saved = await patchDoc(env.store.phoneProviders, doc.id, () => load(env, doc.id), (cur) => {
      const data = { ...cur.data };
      if (body.name !== undefined) data.name = body.name;
      if (body.disabled !== undefined) data.disabled = body.disabled;
      if (body.configuration !== undefined) data.configuration = body.configuration;
      // A switch to a custom provider drops the Twilio token rather than keep a secret nothing uses.
      if (credentials !== undefined) data.credentials = credentials;
      else if (data.name === 'custom') data.credentials = {};
      check(data);
      return { data };
    });
    return providerJson(saved, await tenantName(env));
  }),
  route('POST', '/branding/phone/providers/{id}/try', async ({ env, params, body }) => {
    const doc = await load(env, params.id);
    // An OTP type, because custom-phone-provider actions often switch on it; the test carries no code.
    await sendThrough(env, doc, {
      to: body.to, delivery_method: body.delivery_method ?? 'text', message_type: 'otp_verify',
      body: 'This is a test message from Postern: your phone provider works.',
    });
    return reply(202, { code: 202, message: `A test message was sent to ${body.to} through ${doc.data.name}.` });
  }),
  route('DELETE', '/branding/phone/providers/{id}', async ({ env, params }) => {
    if (!await env.store.phoneProviders.delete(params.id)) throw missing();
  }),
];
