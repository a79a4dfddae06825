// `npm run build`: generates the code from proto/ (src/gen, and the clients package), compiles
// src/ to dist/ and copies the files the compiled code reads at run time (src/**/*.sql) next to
// it, so `npm run serve` needs neither tsx nor buf nor ts-proto.
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });

run(process.execPath, [join(root, 'scripts/generate.mjs')]);
rmSync(join(root, 'dist'), { recursive: true, force: true });
run(join(root, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json']);

const src = join(root, 'src');
for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.sql')) continue;
  const from = join(entry.parentPath, entry.name);
  cpSync(from, join(root, 'dist', relative(src, from)));
}
