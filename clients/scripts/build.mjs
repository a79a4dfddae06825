// Builds both halves of the dual package: dist/esm (import) and dist/cjs (require), each with
// its declarations, and marks dist/cjs as CommonJS so Node and TypeScript (module node16 or
// nodenext) read its .js and .d.ts files as such.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = createRequire(join(pkg, 'package.json')).resolve('typescript/bin/tsc');
const run = (project) => execFileSync(process.execPath, [tsc, '-p', join(pkg, project)], { stdio: 'inherit' });

rmSync(join(pkg, 'dist'), { recursive: true, force: true });
run('tsconfig.json');
run('tsconfig.cjs.json');
mkdirSync(join(pkg, 'dist/cjs'), { recursive: true });
writeFileSync(join(pkg, 'dist/cjs/package.json'), '{ "type": "commonjs" }\n');
