import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { badRequest } from '../lib/errors.ts';
import type { Env } from '../tenant/env.ts';
import { userJson } from '../tenant/users.ts';
import { defaultFields, exportHeader, exportLine, type ExportField } from './user-export-format.ts';
import { newJob, runJob, saveJob, saveJobData, type Job } from './jobs.ts';
import { route, type Route } from './router.ts';

// POST /jobs/users-exports: the tenant's users (of one connection, or all)
// written after the answer into a gzip file, NDJSON or CSV, kept with the job.
// GET /jobs/{id} then gives a short-lived link to it (export-location.ts).

const PAGE = 500;
const CSV_MAX_FIELDS = 30;

async function exportFile(env: Env, job: Job, opts: { connection?: string; format: 'json' | 'csv'; fields: ExportField[]; limit?: number }) {
  const lines = exportHeader(opts.format, opts.fields);
  let after = '';
  let left = opts.limit ?? Infinity;
  while (left > 0) {
    // Keyset pages by user_id: users created while the export runs neither repeat nor shift others out.
    let q = env.store.usersQuery().selectAll().where('user_id', '>', after).orderBy('user_id').limit(Math.min(PAGE, left));
    if (opts.connection) q = q.where('connection', '=', opts.connection);
    const rows = await q.execute();
    for (const row of rows) lines.push(exportLine(opts.format, opts.fields, userJson(row)));
    left -= rows.length;
    if (rows.length < PAGE) break;
    after = rows[rows.length - 1].user_id;
  }
  const file = await promisify(gzip)(lines.map((l) => `${l}\n`).join(''));
  await saveJobData(env, 'JobFile', job, file.toString('base64'));
  return {};
}

export const userExportRoutes: Route[] = [
  route('POST', '/jobs/users-exports', async ({ env, body }) => {
    const conn = body.connection_id === undefined ? undefined : await env.store.connections.get(body.connection_id);
    if (body.connection_id !== undefined && !conn) throw badRequest('The connection does not exist.', 'inexistent_connection');
    const format: 'json' | 'csv' = body.format ?? 'csv';
    const fields: ExportField[] = body.fields?.length ? body.fields : defaultFields(format);
    if (format === 'csv') {
      if (fields.length > CSV_MAX_FIELDS) throw badRequest(`Exports in CSV format are limited to ${CSV_MAX_FIELDS} fields.`);
      if (fields.some((f) => ['app_metadata', 'user_metadata'].includes(f.name))) {
        throw badRequest('Exports in CSV format cannot include app_metadata or user_metadata whole: name their fields (user_metadata.plan), or export in JSON format.');
      }
    }
    const job = newJob('users_export', {
      ...(conn ? { connection_id: conn.id } : {}), format, ...(body.limit !== undefined ? { limit: body.limit } : {}),
      ...(body.fields ? { fields: body.fields } : {}), ...(conn ? { connection: conn.data.name } : {}),
    });
    await saveJob(env, job);
    runJob(env, job, () => exportFile(env, job, { connection: conn?.data.name, format, fields, limit: body.limit }), { failure: 'The users could not be exported.' });
    return job;
  }),
];
