import { ApiError, badRequest } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';
import { importErrors, importFailure, ImportFailure, importUser, redactedUser, type ImportedUser } from '../tenant/user-import.ts';
import { sendMailInBackground } from '../login/mail.ts';
import { esc } from '../login/html.ts';
import { tenantSettings } from './tenant-settings.ts';
import { JobFailure, newJob, runJob, saveJob, saveJobData, type Job } from './jobs.ts';
import { reply, route, type Route } from './router.ts';

// POST /jobs/users-imports: a JSON file of users (multipart, read and checked
// by the router) imported into a database connection after the answer. Each
// user lands whole or not at all; the job ends with Auth0's summary, and the
// users that failed are listed with their errors by GET /jobs/{id}/errors.

const ACTIVE_DOC = 'jobs:active-users-imports';
/** Auth0 runs at most two imports of a tenant at once; a slot older than the import timeout is free again. */
const MAX_ACTIVE = 2;
const SLOT_TTL_MS = 2 * 3600_000;

async function claimSlot(env: Env, jobId: string) {
  await env.store.modifyTenantDoc<Record<string, number>>(ACTIVE_DOC, (stored = {}) => {
    const now = Date.now();
    const live = Object.fromEntries(Object.entries(stored).filter(([, at]) => now - at < SLOT_TTL_MS));
    if (Object.keys(live).length >= MAX_ACTIVE) {
      throw new ApiError(429, `There are ${MAX_ACTIVE} active import users jobs, please wait until some of them are finished and try again`, 'too_many_requests');
    }
    return { ...live, [jobId]: now };
  });
}
async function releaseSlot(env: Env, jobId: string) {
  await env.store.modifyTenantDoc<Record<string, number>>(ACTIVE_DOC, ({ [jobId]: _, ...rest } = {}) => rest);
}

/** Identifies a user of the file by what must be unique in the connection: its email, id and username. */
const keysOf = (u: ImportedUser) => [`e:${u.email.toLowerCase()}`, ...(u.user_id ? [`i:${u.user_id}`] : []), ...(u.username ? [`u:${u.username}`] : [])];

async function importFile(env: Env, job: Job, connection: string, text: string, upsert: boolean) {
  let users: unknown;
  try { users = JSON.parse(text.replace(/^\uFEFF/, '')); } catch { /* reported below */ }
  if (!Array.isArray(users)) throw new JobFailure('Failed to parse users file JSON when importing users. Make sure it is valid JSON.');
  const summary = { failed: 0, updated: 0, inserted: 0, total: users.length };
  const errors: { user: unknown; errors: unknown[] }[] = [];
  const seen = new Set<string>();
  for (const entry of users) {
    try {
      const problems = importErrors(entry);
      if (problems.length) throw new ImportFailure(problems);
      const u = entry as ImportedUser;
      // A second entry for the same user is refused, not applied over the first (as Auth0 does).
      if (keysOf(u).some((k) => seen.has(k))) throw importFailure('DUPLICATED_USER', 'The user appears more than once in the users file');
      keysOf(u).forEach((k) => seen.add(k));
      summary[await importUser(env, connection, u, upsert)]++;
    } catch (e) {
      if (!(e instanceof ImportFailure)) env.log.error({ err: { message: (e as Error).message }, job: job.id }, 'a user of an import failed');
      summary.failed++;
      errors.push({ user: redactedUser(entry), errors: e instanceof ImportFailure ? e.errors : [{ code: 'INTERNAL_ERROR', message: 'The user could not be imported.' }] });
    }
  }
  if (errors.length) await saveJobData(env, 'JobErrors', job, JSON.stringify(errors));
  return { summary };
}

/** Auth0 mails the tenant's owners; Postern mails the tenant's support_email, when it has one. */
async function completionMail(env: Env, job: Job) {
  const { support_email: to, friendly_name: brand } = await tenantSettings(env);
  if (!to) return;
  const s = job.summary as { inserted: number; updated: number; failed: number; total: number } | undefined;
  const outcome = s
    ? `${s.total} users: ${s.inserted} inserted, ${s.updated} updated, ${s.failed} failed.`
    : `It failed: ${job.status_details ?? 'unknown reason'}`;
  const intro = `The users import job ${job.id} into the connection ${job.connection} is ${job.status}.`;
  sendMailInBackground(env, {
    to, subject: `${brand}: users import job ${job.status}`,
    text: `${intro}\n\n${outcome}\n`,
    html: `<!doctype html><html><body><p>${esc(intro)}</p><p>${esc(outcome)}</p></body></html>`,
  }, 'users import completion');
}

export const userImportRoutes: Route[] = [
  route('POST', '/jobs/users-imports', async ({ env, body }) => {
    const conn = await env.store.connections.get(body.connection_id);
    if (!conn) throw badRequest('The connection does not exist.', 'inexistent_connection');
    if (conn.data.strategy !== 'auth0') throw badRequest('Users can only be imported into database connections.', 'operation_not_supported');
    const job = newJob('users_import', { connection_id: conn.id, connection: conn.data.name, ...(body.external_id ? { external_id: body.external_id } : {}) });
    await claimSlot(env, job.id);
    try { await saveJob(env, job); } catch (e) { await releaseSlot(env, job.id); throw e; }
    runJob(env, job, () => importFile(env, job, conn.data.name, body.users, body.upsert === true), {
      failure: 'The users could not be imported.',
      release: () => releaseSlot(env, job.id),
      finally: async (done) => {
        if (body.send_completion_email !== false) await completionMail(env, done);
      },
    });
    return reply(202, job);
  }),
];
