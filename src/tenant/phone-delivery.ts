import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { alnum } from '../lib/ids.ts';
import { badRequest } from '../lib/errors.ts';
import { postOut } from '../lib/post-out.ts';
import { tenantPart } from '../actions/event-parts.ts';
import { deployedVersion, failureOf } from '../actions/runtime.ts';
import type { Env } from './env.ts';

// Delivering one SMS or voice message through the tenant's phone provider:
// Twilio, or the tenant's own `custom-phone-provider` actions. With no provider,
// or a disabled one, the message lands in <dataDir>/outbox/phone, as mail does
// in the outbox, so a person can read a code with nothing set up. A provider's
// refusal is the caller's configuration at fault, so it is a 400, never a 500.

export interface PhoneMessage {
  to: string;
  from?: string;
  delivery_method: 'text' | 'voice';
  body: string;
  message_type: string;
  /** The one-time code the body carries, when it carries one: custom providers are given it apart. */
  code?: string;
}
export interface PhoneProviderDoc { id: string; data: { name: string; disabled?: boolean; configuration?: Record<string, any>; credentials?: Record<string, string> } }
export interface PhoneSent { via: 'outbox' | 'twilio' | 'custom'; file?: string; id?: string }

const failed = (message: string) => badRequest(message, 'phone_provider_error');

/** The tenant's phone provider (Auth0 allows one), if any. */
export async function loadPhoneProvider(env: Env): Promise<PhoneProviderDoc | undefined> {
  return (await env.store.phoneProviders.list()).items[0];
}

/** Sends through the tenant's provider when it has an enabled one, else into the outbox. */
export async function sendPhoneMessage(env: Env, msg: PhoneMessage): Promise<PhoneSent> {
  const provider = await loadPhoneProvider(env);
  return provider && !provider.data.disabled ? sendThrough(env, provider, msg) : writePhoneOutbox(env, msg);
}

/** Sends through this provider whether or not it is disabled: what trying a provider means. */
export async function sendThrough(env: Env, provider: PhoneProviderDoc, msg: PhoneMessage): Promise<PhoneSent> {
  const methods = provider.data.configuration?.delivery_methods;
  if (Array.isArray(methods) && !methods.includes(msg.delivery_method)) {
    throw badRequest(`The phone provider does not deliver by ${msg.delivery_method}; its delivery methods are: ${methods.join(', ')}.`, 'invalid_delivery_method');
  }
  if (provider.data.name === 'twilio') return sendTwilio(env, provider, msg);
  if (provider.data.name === 'custom') return sendCustom(env, msg);
  throw failed(`Postern cannot deliver through a phone provider named ${provider.data.name}.`);
}

export const phoneOutboxDir = (env: Env) => join(env.config.dataDir, 'outbox', 'phone');

export async function writePhoneOutbox(env: Env, msg: PhoneMessage): Promise<PhoneSent> {
  const dir = phoneOutboxDir(env);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const stamp = new Date().toISOString().replace(/[-:.]/g, '');
  const file = join(dir, `${stamp}-${alnum(8)}.json`);
  const doc = { created_at: new Date().toISOString(), to: msg.to, from: msg.from, delivery_method: msg.delivery_method, message_type: msg.message_type, text: msg.body };
  // Written aside and renamed, so a reader never sees a half-written file.
  await writeFile(`${file}.tmp`, JSON.stringify(doc, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  await rename(`${file}.tmp`, file);
  // The body may carry a one-time code: the file has it, the log line does not.
  env.log.info({ outbox: file, to: msg.to, message_type: msg.message_type }, 'no phone provider: message written to the outbox');
  return { via: 'outbox', file };
}

// Tests point Twilio at a local server with POSTERN_TWILIO_API_URL (e.g.
// http://127.0.0.1:4010); read on each send, so it is never cached.
const twilioBase = () => (process.env.POSTERN_TWILIO_API_URL || 'https://api.twilio.com').replace(/\/+$/, '');
const xml = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function sendTwilio(env: Env, provider: PhoneProviderDoc, msg: PhoneMessage): Promise<PhoneSent> {
  const config = provider.data.configuration ?? {};
  const sealed = provider.data.credentials?.auth_token;
  if (!config.sid || !sealed) throw failed('The twilio phone provider has no account SID or auth token.');
  const form = new URLSearchParams({ To: msg.to });
  // A template's own sender wins; then the messaging service, which picks its own number; then the default number.
  const from = msg.from ?? (msg.delivery_method === 'voice' || !config.mssid ? config.default_from : undefined);
  if (from) form.set('From', from);
  else if (config.mssid && msg.delivery_method === 'text') form.set('MessagingServiceSid', config.mssid);
  else throw failed('The twilio phone provider has no sender: set default_from or mssid.');
  // Twilio speaks a voice message on a call, whose script is TwiML; text goes to the Messages API.
  let resource = 'Messages';
  if (msg.delivery_method === 'voice') {
    resource = 'Calls';
    form.set('Twiml', `<Response><Say>${xml(msg.body)}</Say></Response>`);
  } else form.set('Body', msg.body);
  const url = `${twilioBase()}/2010-04-01/Accounts/${encodeURIComponent(config.sid)}/${resource}.json`;
  const auth = Buffer.from(`${config.sid}:${env.box.open(sealed)}`).toString('base64');
  let answer;
  try {
    answer = await postOut(url, { authorization: `Basic ${auth}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, form.toString());
  } catch (e) {
    // Only the kind of failure is logged: the request carries the token.
    env.log.warn({ provider: 'twilio', err: { name: (e as Error).name } }, 'phone provider unreachable');
    throw failed('The phone provider twilio could not be reached.');
  }
  let json: any;
  try { json = JSON.parse(answer.text); } catch { /* not JSON */ }
  if (!answer.ok) {
    // Twilio's error message names the fault (a bad number, a wrong token) and never echoes the token.
    const why = typeof json?.message === 'string' ? `: ${json.message.slice(0, 300)}` : '';
    throw failed(`The phone provider twilio refused the message (HTTP ${answer.status})${why}.`);
  }
  return { via: 'twilio', id: typeof json?.sid === 'string' ? json.sid : undefined };
}

const TRIGGER = 'custom-phone-provider';

/**
 * The action a custom provider runs. Auth0 binds this trigger to the provider
 * rather than through trigger bindings (which refuse it): the provider runs the
 * tenant's one deployed action that supports the trigger. Auth0 now refuses a
 * second such action; should a tenant have several, the latest deployed wins.
 */
async function providerAction(env: Env) {
  if (!env.actions.enabled) return undefined;
  const supporting = (await env.store.actions.list()).items
    .map((doc) => ({ doc, v: deployedVersion(doc.data) }))
    .filter(({ v }) => v?.supported_triggers?.some((t: any) => t.id === TRIGGER));
  const latest = supporting.sort((a, b) => String(b.v.created_at).localeCompare(String(a.v.created_at)))[0];
  return latest && env.actions.sandboxAction(latest.doc.id, latest.doc.data.name, latest.v);
}

async function sendCustom(env: Env, msg: PhoneMessage): Promise<PhoneSent> {
  const action = await providerAction(env);
  if (!action) throw failed(`The custom phone provider has no deployed action that supports the ${TRIGGER} trigger${env.actions.enabled ? '' : ' (actions are turned off on this server)'}.`);
  // Auth0 renders both forms; Postern has the one the delivery method asks for.
  const notification = {
    recipient: msg.to, as_text: msg.body, as_voice: msg.body, delivery_method: msg.delivery_method,
    message_type: msg.message_type, from: msg.from, ...(msg.code !== undefined ? { code: msg.code } : {}),
  };
  const out = await env.actions.execute(TRIGGER, [action], { notification, tenant: tenantPart(env) });
  const why = failureOf(out) ?? out.effects.deny;
  if (why !== undefined) throw failed(`The custom phone provider action failed: ${why}`);
  return { via: 'custom' };
}
