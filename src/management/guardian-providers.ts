import { readSingleton, singleton, type Singleton } from './singleton.ts';
import { route, type Route } from './router.ts';

// The settings of Guardian's factors and of the services that deliver them:
// Duo, Twilio for the phone factor, and the push notification services.
// Postern stores them for the tools that configure, audit or migrate a tenant;
// it sends no SMS or push itself. Their credentials are write-only: sealed at
// rest and never answered, as Auth0 never shows them back.

const PUSH = '/guardian/factors/push-notification/providers';
const duo: Singleton = { path: '/guardian/factors/duo/settings', doc: 'guardian.duo', defaults: {}, secrets: ['skey'] };
const apns: Singleton = { path: `${PUSH}/apns`, doc: 'guardian.apns', defaults: { sandbox: false, bundle_id: null }, secrets: ['p12'] };
const sns: Singleton = {
  path: `${PUSH}/sns`, doc: 'guardian.sns', secrets: ['aws_secret_access_key'],
  defaults: { aws_access_key_id: null, aws_region: null, sns_apns_platform_application_arn: null, sns_gcm_platform_application_arn: null },
};
// The sms/* path is Auth0's older name for the phone factor's, so both are one document.
const twilio = (factor: string): Singleton => ({
  path: `/guardian/factors/${factor}/providers/twilio`, doc: 'guardian.twilio', secrets: ['auth_token'],
  defaults: { from: null, messaging_service_sid: null, sid: null },
});
/** Only the GET: the op table names no scope for the PUT, so it is not served. */
const emailSettings: Singleton = { path: '/guardian/factors/email/settings', doc: 'guardian.email_settings', defaults: { otp_length: 6, otp_expiration_time: 300 } };

/** FCM's documents hold nothing but a credential, so Auth0 answers their writes with an empty object. */
const fcm = (name: string, secret: string): Route[] =>
  singleton({ path: `${PUSH}/${name}`, doc: `guardian.${name}`, defaults: {}, secrets: [secret] })
    .map((r) => ({ ...r, handler: async (c) => { await r.handler(c); return {}; } }));

export const guardianProviderRoutes: Route[] = [
  ...singleton(duo),
  route('GET', emailSettings.path, async ({ env }) => readSingleton(env, emailSettings)),
  ...singleton(twilio('phone')),
  ...singleton(twilio('sms')),
  ...singleton(sns),
  // `enabled` says whether APNs can be used, that is whether a certificate was given.
  ...singleton(apns).filter((r) => r.op.method !== 'GET'),
  route('GET', apns.path, async ({ env }) => {
    const { p12, ...shown } = await readSingleton(env, apns);
    return { ...shown, enabled: typeof p12 === 'string' };
  }),
  ...fcm('fcm', 'server_key'),
  ...fcm('fcmv1', 'server_credentials'),
];
