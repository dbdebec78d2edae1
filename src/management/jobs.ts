import { badRequest, notFound } from '../lib/errors.ts';
import { alnum } from '../lib/ids.ts';
import type { Env } from '../tenant/env.ts';
import { loadUser } from '../tenant/users.ts';
import { sendVerificationEmail } from '../login/account-mail.ts';
import { checkTicketClient } from './tickets.ts';
import { reply, route, type Route } from './router.ts';

// Jobs. Only the verification-email job exists so far; it runs inline, and
// its record is kept for a week so GET /jobs/{id} and its errors can report it.

const JOB_TTL = 7 * 24 * 3600;
interface Job { id: string; type: string; status: 'pending' | 'completed' | 'failed'; created_at: string; status_details?: string; [k: string]: unknown }

async function saveJob(env: Env, job: Job) {
  await env.store.upsertPayload({
    model: 'Job', id: job.id, payload: JSON.stringify(job), grant_id: null, uid: null, user_code: null, account_id: null,
    expires_at: Math.floor(Date.now() / 1000) + JOB_TTL, consumed_at: null,
  });
}

export const jobRoutes: Route[] = [
  route('POST', '/jobs/verification-email', async ({ env, body }) => {
    const user = await loadUser(env, body.user_id);
    if (!user.email) throw badRequest('The user does not have an email address.', 'invalid_body');
    await checkTicketClient(env, body.client_id);
    const job: Job = { type: 'verification_email', status: 'pending', created_at: new Date().toISOString(), id: `job_${alnum(16)}` };
    try {
      await sendVerificationEmail(env, user, body.client_id ? { client_id: body.client_id } : {});
      job.status = 'completed';
    } catch (e) {
      env.log.error({ err: { message: (e as Error).message }, job: job.id }, 'verification email job failed');
      job.status = 'failed';
      job.status_details = 'The verification email could not be sent.';
    }
    await saveJob(env, job);
    return reply(201, job);
  }),
  route('GET', '/jobs/{id}', async ({ env, params }) => loadJob(env, params.id)),
  // Auth0 answers 204 when a job has no errors. A failed job without per-user
  // errors (all of Postern's: there are no user imports) answers the job itself.
  route('GET', '/jobs/{id}/errors', async ({ env, params }) => {
    const job = await loadJob(env, params.id);
    if (job.status !== 'failed') return reply(204);
    const { id, type, status, created_at, status_details } = job;
    return { id, type, status, created_at, ...(status_details ? { status_details } : {}) };
  }),
];

async function loadJob(env: Env, id: string): Promise<Job> {
  const row = await env.store.findPayload('Job', 'id', id);
  if (!row || (row.expires_at && row.expires_at <= Date.now() / 1000)) throw notFound('The job does not exist.', 'inexistent_job');
  return JSON.parse(row.payload);
}
