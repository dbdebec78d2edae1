import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { alnum } from '../lib/ids.ts';
import type { Env } from '../tenant/env.ts';
import type { Mail } from './mail.ts';

// With no email provider, mail lands in <dataDir>/outbox and its link is
// printed to the log, so a person can finish a reset or verification with
// nothing else set up. The link is the only sensitive value in the line.

export const outboxDir = (env: Env) => join(env.config.dataDir, 'outbox');

export async function writeOutbox(env: Env, mail: Mail & { from: string }): Promise<string> {
  const dir = outboxDir(env);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const stamp = new Date().toISOString().replace(/[-:.]/g, '');
  const file = join(dir, `${stamp}-${alnum(8)}.json`);
  const doc = { created_at: new Date().toISOString(), from: mail.from, to: mail.to, subject: mail.subject, link: mail.link, text: mail.text, html: mail.html };
  // Written aside and renamed, so a reader never sees a half-written file.
  await writeFile(`${file}.tmp`, JSON.stringify(doc, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  await rename(`${file}.tmp`, file);
  env.log.info({ outbox: file, to: mail.to, subject: mail.subject, link: mail.link }, 'no email provider: mail written to the outbox; open the link to continue');
  return file;
}
