import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs (to stdout unless a destination is given); secrets are redacted even if someone logs a whole request.
 * Writes are asynchronous: lines logged while a write is in flight go out together in the next
 * one (a line per RPC would otherwise cost a syscall each), a line logged when idle is written
 * at once, and pino flushes what is left when the process exits.
 */
export function createLogger(level: string, destination: pino.DestinationStream = pino.destination({ dest: 1, sync: false })): Logger {
  const options = {
    level,
    base: { service: 'huodong' },
    redact: {
      paths: ['token', '*.token', 'authorization', '*.authorization', 'secret', '*.secret'],
      censor: '[redacted]',
    },
  };
  return pino(options, destination);
}

/**
 * A sibling of `logger` on the same stream, level and bindings, without redaction: for the one
 * line per RPC, whose fields our own code fills (method, validated request id, status, reason,
 * duration) and so hold nothing to redact. Redaction walks every line for its paths and cost
 * more than the rest of that line.
 */
export function accessLogger(logger: Logger): Logger {
  const stream = (logger as unknown as Record<symbol, pino.DestinationStream>)[pino.symbols.streamSym];
  return pino({ level: logger.level, base: logger.bindings() }, stream);
}
