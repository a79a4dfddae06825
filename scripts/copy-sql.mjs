// After `tsc` (npm run build): copies every .sql file under src/ to the same place under
// dist/src/, where the compiled modules read their stored routines relative to themselves
// (new URL('./sql/<name>.sql', import.meta.url)).
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(root, process.argv[2] ?? 'dist');
let copied = 0;
for (const entry of readdirSync(join(root, 'src'), { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.sql')) continue;
  const from = join(entry.parentPath, entry.name);
  const to = join(out, relative(root, from));
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to);
  copied += 1;
}
process.stdout.write(`copied ${copied} .sql files to ${relative(root, out)}/src\n`);
