// `node --import ./test/support/refuse-otel.mjs`: any import of an @opentelemetry package fails,
// so a process that serves calls under it has loaded none of them (tracing.test.ts).
import { register } from 'node:module';

const hooks = `
export async function resolve(specifier, context, next) {
  if (specifier.startsWith('@opentelemetry/')) throw new Error('refused to load ' + specifier);
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
