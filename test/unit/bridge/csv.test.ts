import { expect } from 'chai';
import { csvCell, csvLine, csvTime } from '../../../src/bridge/csv.js';
import { parseCsv } from '../../support/export.js';

describe('bridge: csv', () => {
  it('quotes cells with a quote, comma, CR or LF, doubling the quotes', () => {
    expect(csvCell('plain 张三')).to.equal('plain 张三');
    expect(csvCell('a,b')).to.equal('"a,b"');
    expect(csvCell('say "hi"')).to.equal('"say ""hi"""');
    expect(csvCell('line\nbreak')).to.equal('"line\nbreak"');
    expect(csvCell('cr\rhere')).to.equal('"cr\rhere"');
    expect(csvCell(undefined)).to.equal('');
    expect(csvCell(null)).to.equal('');
    expect(csvCell(true)).to.equal('1');
    expect(csvCell(0)).to.equal('0');
  });

  it('guards text that a spreadsheet would run as a formula with a leading quote', () => {
    for (const start of ['=', '+', '-', '@', '\t', '\r']) expect(csvCell(`${start}1+1`).replace(/^"/, '')).to.match(/^'/);
    expect(csvCell('=HYPERLINK("http://x","y")')).to.equal(`"'=HYPERLINK(""http://x"",""y"")"`);
    expect(csvCell('+86 139')).to.equal(`'+86 139`);
    expect(csvCell('a=b')).to.equal('a=b');
    // Numbers the export writes itself are left alone.
    expect(csvCell(-1)).to.equal('-1');
  });

  it('writes CRLF records that read back to the same cells', () => {
    const cells = ['1', 'Li, "Big"\nSi', '=1', 'line 1\r\nline 2', ''];
    const line = csvLine(cells);
    expect(line.endsWith('\r\n')).to.equal(true);
    expect(parseCsv(line + csvLine(['2']))).to.deep.equal([['1', 'Li, "Big"\nSi', "'=1", 'line 1\r\nline 2', ''], ['2']]);
  });

  it('writes times as YYYY-MM-DD HH:mm:ss in the zone', () => {
    expect(csvTime(new Date('2026-01-01T00:00:01Z'), 'Asia/Shanghai')).to.equal('2026-01-01 08:00:01');
    expect(csvTime(new Date('2026-07-01T23:59:59Z'), 'UTC')).to.equal('2026-07-01 23:59:59');
    expect(csvTime(undefined, 'UTC')).to.equal('');
  });
});
