import pino from 'pino';

// Tokens, secrets and passwords never reach a log: request bodies and
// authorization headers are not logged, and these paths are redacted anyway.
export function createLogger(level: string) {
  return pino({
    level,
    redact: {
      paths: ['*.password', '*.client_secret', '*.access_token', '*.refresh_token', '*.id_token', '*.authorization', 'req.headers.authorization', 'req.headers.cookie', '*.code', '*.token'],
      censor: '[redacted]',
    },
  });
}
