/** Process start: load config, start the app, stop it gracefully on SIGTERM/SIGINT. */
import { createApp } from './app.js';
import { ConfigError, loadConfig } from './platform/config.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`huodong: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const app = await createApp(config);
  if (app.devToken !== undefined) {
    // Printed once, on purpose, to the terminal: the dev app's token is never logged.
    process.stderr.write(
      `\nhuodong dev mode: app "dev" has every scope. Token (shown once):\n  ${app.devToken}\n` +
        'Set HUODONG_DEV_TOKEN to choose it yourself.\n\n',
    );
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    // Health says NOT_SERVING first while calls are still served, so a load balancer polling
    // Check sees it and moves traffic away; only then does the server drain and close.
    app.grpc.stopServing();
    app.logger.info({ signal, delayMs: app.config.shutdownDelayMs }, 'shutting down: NOT_SERVING, still serving until the delay ends');
    const drain = async (): Promise<void> => {
      await new Promise((resolve) => setTimeout(resolve, app.config.shutdownDelayMs));
      app.logger.info('shutting down: draining in-flight calls');
      await app.stop();
    };
    drain().then(
      () => process.exit(0),
      (err: unknown) => {
        app.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`huodong failed to start: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
