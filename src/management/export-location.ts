import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Env } from '../tenant/env.ts';

// The `location` of a finished user export: a link on Postern's own host that
// needs no token, like Auth0's pre-signed one. It names the job and the file,
// lasts a minute, and is signed with a key derived from the master key, so it
// cannot be made up, altered or extended. GET /jobs/{id} makes a new one.

export const EXPORT_FILES_PATH = '/export-files/';
const LINK_TTL_SEC = 60;

const signature = (env: Env, jobId: string, file: string, expires: number) =>
  createHmac('sha256', env.box.derive('user-export-links')).update(`${jobId}/${file}/${expires}`).digest('base64url');

export async function exportLocation(env: Env, job: { id: string; format?: unknown }): Promise<string> {
  const tenant = (await env.store.getTenant())?.name ?? 'tenant';
  const file = encodeURIComponent(`${tenant}.${job.format === 'json' ? 'json' : 'csv'}.gz`);
  const expires = Math.floor(Date.now() / 1000) + LINK_TTL_SEC;
  return `${env.issuer.replace(/\/$/, '')}${EXPORT_FILES_PATH}${job.id}/${file}?expires=${expires}&signature=${signature(env, job.id, file, expires)}`;
}

/** The job a link names (`file` as it is in the path), when its signature holds and it has not expired. */
export function verifiedExportLink(env: Env, jobId: string, file: string, expires: string, sig: string): string | undefined {
  const at = Number(expires);
  if (!/^\d{1,12}$/.test(expires) || at < Date.now() / 1000) return undefined;
  const want = Buffer.from(signature(env, jobId, file, at));
  const got = Buffer.from(sig);
  return got.length === want.length && timingSafeEqual(got, want) ? jobId : undefined;
}
