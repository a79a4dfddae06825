import { expect } from 'chai';
import { allRoutines } from '../../../src/app.js';
import { defineRoutine, parseRoutine, routineArgs, routineSource } from '../../../src/platform/routines.js';

const FILE = new URL('file:///x/sql/r.sql');
const TEXT = `-- header comments are not part of the statement
CREATE PROCEDURE r(IN p_a VARCHAR(8), IN p_b DECIMAL(10,2))
MODIFIES SQL DATA
r: BEGIN
  SELECT p_a, p_b;
END
`;

describe('stored routine files', () => {
  it('every routine file matches its declaration (name, parameters in order, body on its own line)', () => {
    const routines = allRoutines();
    expect(routines.map((r) => r.name)).to.have.members(['member_pay_order', 'points_credit', 'points_debit', 'lottery_draw', 'grant_units']);
    for (const r of routines) expect(routineSource(r).create).to.match(/\nCOMMENT 'huodong sha256:[0-9a-f]{64}'\n/);
  });

  it('refuses a file whose parameters differ from the declaration, naming the routine and the file', () => {
    expect(() => parseRoutine(defineRoutine('r', FILE, ['p_b', 'p_a']), TEXT, '/x/sql/r.sql')).to.throw(/r \(\/x\/sql\/r\.sql\).*\(p_a, p_b\).*\(p_b, p_a\)/);
    expect(() => parseRoutine(defineRoutine('q', FILE, ['p_a', 'p_b']), TEXT, '/x/sql/r.sql')).to.throw(/creates r/);
  });

  it('hashes the statement, not its header or whitespace; orders arguments by the declaration', () => {
    const r = defineRoutine('r', FILE, ['p_a', 'p_b']);
    const a = parseRoutine(r, TEXT, 'a');
    const b = parseRoutine(r, TEXT.replace('-- header comments', '-- other words').replace('  SELECT', '\tSELECT'), 'b');
    expect(b.hash).to.equal(a.hash);
    expect(parseRoutine(r, TEXT.replace('SELECT p_a', 'SELECT p_b'), 'c').hash).to.not.equal(a.hash);
    expect(a.call).to.equal('CALL r(?, ?)');
    expect(routineArgs(r, { p_b: 2, p_a: 'x' })).to.deep.equal(['x', 2]);
  });
});
