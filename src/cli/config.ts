import { parseArgs } from 'node:util';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';

// Start-up configuration, validated against one schema. Each failure names the
// setting (flag and environment variable) so the operator sees one clear line.
const schema = z.object({
  port: z.coerce.number().int().min(0).max(65535),
  domain: z.string().regex(/^[a-zA-Z0-9.-]+(:\d{1,5})?$|^\[[0-9a-fA-F:]+\](:\d{1,5})?$/, 'must be a host name with an optional :port, without a scheme or path'),
  dataDir: z.string().min(1),
  databaseUrl: z.string().regex(/^(postgres(ql)?:\/\/|sqlite:)/, 'must start with postgres://, postgresql:// or sqlite:').optional(),
  http: z.boolean(),
  workers: z.union([z.literal('auto'), z.coerce.number().int().min(1).max(256)]),
  masterKey: z.string().regex(/^([0-9a-fA-F]{64}|[A-Za-z0-9_-]{43})$/, 'must be 32 bytes as 64 hex characters or 43 base64url characters').optional(),
  host: z.string().min(1),
  rateLimit: z.coerce.number().int().min(1),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  allowPrivateFetch: z.boolean(),
  actions: z.enum(['on', 'off']),
  actionTimeout: z.coerce.number().int().min(100).max(300_000),
});
export type Config = z.infer<typeof schema> & { workerCount: number; issuer: string };

const names: Record<string, string> = {
  port: '--port (POSTERN_PORT)', domain: '--domain (POSTERN_DOMAIN)', dataDir: '--data-dir (POSTERN_DATA_DIR)',
  databaseUrl: '--database-url (POSTERN_DATABASE_URL)', http: '--http', workers: '--workers',
  masterKey: '--master-key (POSTERN_MASTER_KEY)', host: '--host (POSTERN_HOST)',
  rateLimit: '--rate-limit (POSTERN_RATE_LIMIT)', logLevel: '--log-level (POSTERN_LOG_LEVEL)',
  allowPrivateFetch: '--allow-private-fetch',
  actions: '--actions (POSTERN_ACTIONS)', actionTimeout: '--action-timeout (POSTERN_ACTION_TIMEOUT)',
};

export class ConfigError extends Error {}

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): Config {
  let values: Record<string, any>;
  try {
    ({ values } = parseArgs({
      args: argv, strict: true, allowPositionals: false,
      options: {
        port: { type: 'string' }, domain: { type: 'string' }, 'data-dir': { type: 'string' },
        'database-url': { type: 'string' }, http: { type: 'boolean' }, workers: { type: 'string' },
        'master-key': { type: 'string' }, host: { type: 'string' }, 'rate-limit': { type: 'string' },
        'log-level': { type: 'string' }, 'allow-private-fetch': { type: 'boolean' },
        actions: { type: 'string' }, 'action-timeout': { type: 'string' },
      },
    }));
  } catch (e) {
    throw new ConfigError((e as Error).message.split('\n')[0]);
  }
  const raw = {
    port: values.port ?? env.POSTERN_PORT ?? '8443',
    domain: values.domain ?? env.POSTERN_DOMAIN,
    dataDir: values['data-dir'] ?? env.POSTERN_DATA_DIR ?? './.postern',
    databaseUrl: values['database-url'] ?? env.POSTERN_DATABASE_URL ?? undefined,
    http: Boolean(values.http),
    workers: values.workers ?? '1',
    masterKey: values['master-key'] ?? env.POSTERN_MASTER_KEY ?? undefined,
    host: values.host ?? env.POSTERN_HOST ?? '127.0.0.1',
    rateLimit: values['rate-limit'] ?? env.POSTERN_RATE_LIMIT ?? '6000',
    logLevel: values['log-level'] ?? env.POSTERN_LOG_LEVEL ?? 'info',
    // Lets fetches of URLs that callers name (CIMD documents) reach loopback and private addresses: tests, closed networks.
    allowPrivateFetch: Boolean(values['allow-private-fetch']),
    // Whether bound actions run (in a sandboxed child process), and how long one trigger's actions may take, in ms.
    actions: values.actions ?? env.POSTERN_ACTIONS ?? 'on',
    actionTimeout: values['action-timeout'] ?? env.POSTERN_ACTION_TIMEOUT ?? '20000',
  };
  if (raw.domain === undefined) raw.domain = `localhost:${raw.port}`;
  const r = schema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    const key = String(issue.path[0]);
    throw new ConfigError(`invalid ${names[key] ?? key}: ${issue.message}`);
  }
  const c = r.data;
  return {
    ...c,
    dataDir: resolve(c.dataDir),
    workerCount: c.workers === 'auto' ? availableParallelism() : c.workers,
    issuer: `https://${c.domain}/`,
  };
}
