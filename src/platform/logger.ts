import * as grpc from '@grpc/grpc-js';
import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Scrubs credentials out of free text that we did not write ourselves (error messages and
 * stacks, grpc-js's own log lines): a metadata value grpc-js refused (it quotes the whole
 * value), Bearer/Basic credentials, our app tokens, JWTs, and every URL query string (tokens,
 * the lottery's `awardcode` and openids travel there).
 */
export function redactText(text: string): string {
  return text
    .replace(/(Failed to add metadata entry [^:\s]*:)[\s\S]*?(\. For more information|$)/g, '$1 [redacted]$2')
    .replace(/\b(bearer|basic)(\s+|%20|\+)[^\s,;"']+/gi, '$1 [redacted]')
    .replace(/\b(authorization|cookie|token|secret|awardcode|openid|sig)(["']?\s*[:=]\s*["']?)[^\s,;&"']+/gi, '$1$2[redacted]')
    .replace(/\bhd_[A-Za-z0-9_-]{8,}/g, 'hd_[redacted]')
    .replace(/\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, '[redacted-jwt]')
    .replace(/\?(?=[^\s"'])[^\s"'#]+/g, '?[redacted]');
}

/** A URL as it may be logged: the path only, never its query string. */
export function loggablePath(url: string): string {
  const at = url.indexOf('?');
  return at === -1 ? url : `${url.slice(0, at)}?[redacted]`;
}

/** pino's error serializer, with the message and stack scrubbed by redactText. */
function errSerializer(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const out = pino.stdSerializers.err(err) as unknown as Record<string, unknown>;
  for (const key of ['message', 'stack']) {
    const value = out[key];
    if (typeof value === 'string') out[key] = redactText(value);
  }
  return out;
}

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
      paths: [
        'token',
        '*.token',
        'authorization',
        '*.authorization',
        'cookie',
        '*.cookie',
        'secret',
        '*.secret',
        'headers.authorization',
        'headers.cookie',
        '*.headers.authorization',
        '*.headers.cookie',
      ],
      censor: '[redacted]',
    },
    serializers: { err: errSerializer },
  };
  return pino(options, destination);
}

/**
 * Routes grpc-js's own logging (it prints to stderr by default, a refused metadata value in
 * full) through `logger`, each line scrubbed by redactText. Process-wide, as grpc-js's logger is.
 */
export function routeGrpcLogging(logger: Logger): void {
  const log = logger.child({ component: 'grpc-js' });
  const line = (args: unknown[]): string => redactText(args.map((a) => (typeof a === 'string' ? a : String(a))).join(' '));
  grpc.setLogger({
    error: (...args: unknown[]) => log.error(line(args)),
    info: (...args: unknown[]) => log.info(line(args)),
    debug: (...args: unknown[]) => log.debug(line(args)),
  });
  grpc.setLogVerbosity(logger.isLevelEnabled('debug') ? grpc.logVerbosity.DEBUG : grpc.logVerbosity.ERROR);
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
