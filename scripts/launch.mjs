// `npm run app` / `npm run migrate`: runs a CLI under src/ through tsx where the sources are
// (a checkout), or its compiled twin under dist/ where they are not (the image, which has
// neither src/ nor tsx). In-process, so the CLI is the process npm signals.
//   node scripts/launch.mjs cli/app [args...]
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [target] = process.argv.splice(2, 1);
if (target === undefined || !/^[\w/-]+$/.test(target)) {
  process.stderr.write('usage: node scripts/launch.mjs cli/<name> [args...]\n');
  process.exit(2);
}
const source = join(root, 'src', `${target}.ts`);
if (existsSync(source) && existsSync(join(root, 'node_modules/tsx'))) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(source).href);
} else {
  const compiled = join(root, 'dist', `${target}.js`);
  if (!existsSync(compiled)) {
    process.stderr.write(`huodong: ${target} is not built: run \`npm run build\` first\n`);
    process.exit(2);
  }
  await import(pathToFileURL(compiled).href);
}
