import { changeMfa, removeAuthenticators } from '../tenant/authenticators.ts';
import { replaceRecoveryCode } from '../tenant/otp.ts';
import { route, type Route } from './router.ts';

// The user-level MFA resets an administrator (or a help desk tool) runs when a
// user lost a device: drop their enrollments, issue a new recovery code, and
// forget the browsers where they ticked "remember me".

export const userMultifactorRoutes: Route[] = [
  // Auth0's legacy provider names: google-authenticator is the TOTP
  // authenticator. Duo keeps its enrollments at Duo, so nothing of it is here to remove.
  route('DELETE', '/users/{id}/multifactor/{provider}', async ({ env, params }) => {
    await removeAuthenticators(env, params.id, (a) => params.provider === 'google-authenticator' && a.type === 'totp');
  }),
  // A full reset also drops an enrollment under way and the count of wrong guesses: the user starts over.
  route('DELETE', '/users/{id}/authenticators', async ({ env, params }) => {
    await changeMfa(env, params.id, (mfa) => ({ ...mfa, authenticators: [], pending_totp: undefined, otp_attempts: undefined }));
  }),
  // The new code replaces the old one; it is answered once and kept only as its hash.
  route('POST', '/users/{id}/recovery-code-regeneration', async ({ env, params }) => ({ recovery_code: await replaceRecoveryCode(env, params.id) })),
  // Recorded for the MFA prompt to honour; Postern's MFA page offers no "remember this browser", so none is remembered yet.
  route('POST', '/users/{id}/multifactor/actions/invalidate-remember-browser', async ({ env, params }) => {
    await changeMfa(env, params.id, (mfa) => ({ ...mfa, remember_browser_invalidated_at: new Date().toISOString() }));
  }),
];
