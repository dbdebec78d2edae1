import type Koa from 'koa';
import type { Env } from '../tenant/env.ts';
import { EXPORT_FILES_PATH, verifiedExportLink } from './export-location.ts';
import { loadJobData } from './jobs.ts';

/**
 * GET /export-files/{job_id}/{file}?expires&signature: a user export's gzip
 * file, for whoever holds a live link (see export-location.ts). Anything else
 * under the path, an altered or an expired link, is the same 404.
 */
export function exportDownload(env: Env): Koa.Middleware {
  return async (ctx) => {
    const m = ['GET', 'HEAD'].includes(ctx.method) ? /^\/([A-Za-z0-9_]+)\/([^/]+)$/.exec(ctx.path.slice(EXPORT_FILES_PATH.length - 1)) : null;
    const file = m?.[2] ?? '';
    const jobId = m ? verifiedExportLink(env, m[1], file, String(ctx.query.expires ?? ''), String(ctx.query.signature ?? '')) : undefined;
    const content = jobId ? await loadJobData(env, 'JobFile', jobId) : undefined;
    if (!content) {
      ctx.status = 404;
      ctx.body = { statusCode: 404, error: 'Not Found', message: 'The export file does not exist or its link has expired.' };
      return;
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Content-Disposition', `attachment; filename="${file.replace(/["\\]/g, '')}"`);
    ctx.type = 'application/gzip';
    ctx.body = Buffer.from(content, 'base64');
  };
}
