/**
 * Type-level tests of @huodong/clients, against its built declarations as a consumer sees them:
 * clients/test-d/pass.ts must compile, and every line of clients/test-d/fail.ts marked
 * `// error TSnnnn` must fail with that code (a misspelt reason, a wrong legacy code, a
 * misspelt nested field...) while no other line fails.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import ts from 'typescript';

const dir = join(process.cwd(), 'clients/test-d');

function diagnostics(): Map<string, { line: number; code: number; text: string }[]> {
  const parsed = ts.getParsedCommandLineOfConfigFile(join(dir, 'tsconfig.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  if (parsed === undefined) throw new Error('no clients/test-d/tsconfig.json');
  const program = ts.createProgram(parsed.fileNames, parsed.options);
  const byFile = new Map<string, { line: number; code: number; text: string }[]>();
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const file = d.file?.fileName ?? '(global)';
    const line = d.file !== undefined && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0;
    const list = byFile.get(file) ?? [];
    list.push({ line, code: d.code, text: ts.flattenDiagnosticMessageText(d.messageText, ' ') });
    byFile.set(file, list);
  }
  return byFile;
}

describe('clients: types', function () {
  // One compiler run over both files; slow on a busy machine.
  this.timeout(300_000);
  let found: Map<string, { line: number; code: number; text: string }[]>;
  before(() => {
    found = diagnostics();
  });

  it('compiles what a consumer writes (pass.ts)', () => {
    const errors = [...found.entries()].filter(([file]) => !file.endsWith('/fail.ts'));
    expect(errors.flatMap(([file, list]) => list.map((d) => `${file}:${d.line} TS${d.code} ${d.text}`))).to.deep.equal([]);
  });

  it('refuses misspelt reasons, legacy codes and fields (fail.ts), and only those lines', () => {
    const source = readFileSync(join(dir, 'fail.ts'), 'utf8').split('\n');
    const expected = source.flatMap((text, i) => {
      const m = /\/\/ error TS(\d+)/.exec(text);
      return m === null ? [] : [`${i + 1} TS${m[1]}`];
    });
    expect(expected.length).to.be.greaterThan(5);
    const list = [...found.entries()].find(([file]) => file.endsWith('/fail.ts'))?.[1] ?? [];
    // The first error of each line, so one mistake reported twice still counts once.
    const actual = [...new Map(list.map((d) => [d.line, `${d.line} TS${d.code}`])).values()];
    expect(actual, list.map((d) => `${d.line} TS${d.code} ${d.text}`).join('\n')).to.deep.equal(expected);
  });
});
