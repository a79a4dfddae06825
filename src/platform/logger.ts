import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs; secrets are redacted even if someone logs a whole request. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'huodong' },
    redact: {
      paths: ['token', '*.token', 'authorization', '*.authorization', 'secret', '*.secret'],
      censor: '[redacted]',
    },
  });
}
