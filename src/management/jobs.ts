import { badRequest, notFound } from '../lib/errors.ts';
import { alnum } from '../lib/ids.ts';
import type { Env } from '../tenant/env.ts';
import { loadUser } from '../tenant/users.ts';
import { sendVerificationEmail } from '../login/account-mail.ts';
import { checkTicketClient } from './tickets.ts';
import { exportLocation } from './export-location.ts';
import { reply, route, type Route } from './router.ts';

// Jobs: the verification email (run inline), user imports and user exports
// (run after the answer). Every job's record lives here, kept for a week as a
// payload row, with what a job leaves behind beside it: an import's per-user
// errors and an export's file.

const JOB_TTL = 7 * 24 * 3600;
/** After these, a job whose process went away while it ran answers as failed (Auth0's timeouts). */
const TIMEOUT_MS: Record<string, number> = { users_import: 2 * 3600_000, users_export: 8 * 3600_000 };

export interface Job { id: string; type: string; status: 'pending' | 'completed' | 'failed'; created_at: string; status_details?: string; [k: string]: unknown }
/** What a job leaves behind, stored beside its record and gone with it. */
type JobData = 'JobErrors' | 'JobFile';

export const newJob = (type: string, fields: Record<string, unknown> = {}): Job =>
  ({ type, status: 'pending', ...fields, created_at: new Date().toISOString(), id: `job_${alnum(16)}` });

const expiresAt = (job: Job) => Math.floor(Date.parse(job.created_at) / 1000) + JOB_TTL;

export async function saveJob(env: Env, job: Job) {
  await env.store.upsertPayload({
    model: 'Job', id: job.id, payload: JSON.stringify(job), grant_id: null, uid: null, user_code: null, account_id: null,
    expires_at: expiresAt(job), consumed_at: null,
  });
}

export async function saveJobData(env: Env, kind: JobData, job: Job, payload: string) {
  await env.store.upsertPayload({
    model: kind, id: job.id, payload, grant_id: null, uid: null, user_code: null, account_id: null, expires_at: expiresAt(job), consumed_at: null,
  });
}

export async function loadJobData(env: Env, kind: JobData, jobId: string): Promise<string | undefined> {
  const row = await env.store.findPayload(kind, 'id', jobId);
  return row && (!row.expires_at || row.expires_at > Date.now() / 1000) ? row.payload : undefined;
}

/** A reason a job failed that its record may show (other failures show only a generic reason). */
export class JobFailure extends Error {}

/**
 * Runs `work` after the answer: the job ends `completed` with what `work`
 * returns, or `failed` when it throws (a JobFailure's message is its
 * status_details; anything else is logged, not answered). `release` and
 * `finally` run either way: `release` before the end is saved, so a client
 * that sees the job finished finds what it held free; `finally` after.
 */
export function runJob(env: Env, job: Job, work: () => Promise<Record<string, unknown>>, opts: { failure: string; release?: () => Promise<void>; finally?: (job: Job) => Promise<void> }) {
  const run = async () => {
    let done: Job;
    try {
      done = { ...job, ...(await work()), status: 'completed' };
    } catch (e) {
      if (!(e instanceof JobFailure)) env.log.error({ err: { message: (e as Error).message }, job: job.id }, `${job.type} job failed`);
      done = { ...job, status: 'failed', status_details: e instanceof JobFailure ? e.message : opts.failure };
    }
    // A slot left held times out; a job left pending never ends.
    await opts.release?.().catch((e) => env.log.error({ err: { message: (e as Error).message }, job: job.id }, 'job could not release its slot'));
    await saveJob(env, done);
    await opts.finally?.(done);
  };
  run().catch((e) => env.log.error({ err: { message: (e as Error).message }, job: job.id }, 'job could not be saved'));
}

export const jobRoutes: Route[] = [
  route('POST', '/jobs/verification-email', async ({ env, body }) => {
    const user = await loadUser(env, body.user_id);
    if (!user.email) throw badRequest('The user does not have an email address.', 'invalid_body');
    await checkTicketClient(env, body.client_id);
    const job = newJob('verification_email');
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
  route('GET', '/jobs/{id}', async ({ env, params }) => {
    const job = await loadJob(env, params.id);
    // An export's link is made fresh on each read and lasts a minute, as Auth0's pre-signed one does.
    return job.type === 'users_export' && job.status === 'completed' ? { ...job, location: await exportLocation(env, job) } : job;
  }),
  // Auth0 answers 204 when a job has no errors, the per-user errors of an
  // import that had some, and otherwise a failed job itself.
  route('GET', '/jobs/{id}/errors', async ({ env, params }) => {
    const job = await loadJob(env, params.id);
    const errors = await loadJobData(env, 'JobErrors', job.id);
    if (errors) return JSON.parse(errors);
    if (job.status !== 'failed') return reply(204);
    const { id, type, status, created_at, status_details } = job;
    return { id, type, status, created_at, ...(job.connection_id ? { connection_id: job.connection_id } : {}), ...(status_details ? { status_details } : {}) };
  }),
];

export async function loadJob(env: Env, id: string): Promise<Job> {
  const row = await env.store.findPayload('Job', 'id', id);
  if (!row || (row.expires_at && row.expires_at <= Date.now() / 1000)) throw notFound('The job does not exist.', 'inexistent_job');
  const job: Job = JSON.parse(row.payload);
  const timeout = TIMEOUT_MS[job.type];
  if (job.status === 'pending' && timeout && Date.now() - Date.parse(job.created_at) > timeout) {
    return { ...job, status: 'failed', status_details: 'The job timed out.' };
  }
  return job;
}
