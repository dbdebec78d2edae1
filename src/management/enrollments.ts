import { badRequest } from '../lib/errors.ts';
import { enrollmentMail } from '../login/account-mail.ts';
import { sendMail } from '../login/mail.ts';
import { createTicket } from '../login/tickets.ts';
import {
  enrollmentIdOf, findEnrollment, mfaOf, missingEnrollment, removeAuthenticators, type Authenticator, type AuthenticatorType,
} from '../tenant/authenticators.ts';
import type { Env } from '../tenant/env.ts';
import { loadUser } from '../tenant/users.ts';
import { route, type Route } from './router.ts';

// Guardian (MFA) enrollments: the user's second factors among their
// authenticators (src/tenant/authenticators.ts), under the enrollment id
// (`dev_…`), and the tickets that invite a user to enroll one.

/** The authenticator types Guardian counts as enrollments, with its names for them. */
const GUARDIAN: Partial<Record<AuthenticatorType, string>> = {
  totp: 'authenticator', phone: 'sms', 'webauthn-roaming': 'webauthn-roaming', 'webauthn-platform': 'webauthn-platform',
};

const enrollmentJson = (a: Authenticator) => ({
  id: enrollmentIdOf(a), status: 'confirmed', type: GUARDIAN[a.type], ...(a.name ? { name: a.name } : {}),
  ...(a.phone_number ? { phone_number: a.phone_number } : {}), auth_method: GUARDIAN[a.type], enrolled_at: a.created_at,
  ...(a.last_auth_at ? { last_auth: a.last_auth_at } : {}),
});

async function loadEnrollment(env: Env, id: string) {
  const found = await findEnrollment(env, id);
  if (!found || !GUARDIAN[found.authenticator.type]) throw missingEnrollment();
  return found;
}

/** Mails the invitation; a failed delivery is logged, and the caller still gets the link to hand over itself. */
async function mailTicket(env: Env, to: string, link: string) {
  try {
    await sendMail(env, await enrollmentMail(env, to, link));
  } catch (e) {
    env.log.error({ err: { message: (e as Error).message } }, 'MFA enrollment mail failed');
  }
}

export const enrollmentRoutes: Route[] = [
  route('GET', '/users/{id}/enrollments', async ({ env, params }) =>
    mfaOf(await loadUser(env, params.id)).authenticators.filter((a) => GUARDIAN[a.type]).map(enrollmentJson)),
  route('GET', '/guardian/enrollments/{id}', async ({ env, params }) => {
    // Auth0's schema for this answer has no type or auth_method.
    const { type: _t, auth_method: _m, ...shown } = enrollmentJson((await loadEnrollment(env, params.id)).authenticator);
    return shown;
  }),
  route('DELETE', '/guardian/enrollments/{id}', async ({ env, params }) => {
    const { row } = await loadEnrollment(env, params.id);
    await removeAuthenticators(env, row.user_id, (a) => enrollmentIdOf(a) === params.id, missingEnrollment);
  }),
  // The ticket in the link is the ticket id, as Auth0 answers it; only its hash is stored.
  route('POST', '/guardian/enrollments/ticket', async ({ env, body }) => {
    const user = await loadUser(env, body.user_id);
    const to = body.email ?? user.email;
    if (body.send_mail && !to) throw badRequest('The user does not have an email address.');
    const link = await createTicket(env, 'GuardianEnrollmentTicket', {
      user_id: user.user_id, ...(body.factor ? { factor: body.factor } : {}),
      ...(body.allow_multiple_enrollments ? { allow_multiple_enrollments: true } : {}),
    });
    if (body.send_mail) await mailTicket(env, to, link);
    return { ticket_id: new URL(link).searchParams.get('ticket'), ticket_url: link };
  }),
];
