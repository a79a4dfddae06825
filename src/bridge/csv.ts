/**
 * CSV for the operators' exports (RFC 4180: CRLF line ends, a cell with a quote, comma, CR or
 * LF quoted, its quotes doubled), streamed: a reply is a Readable pulling one page of a gRPC
 * stream at a time, so fastify's pipe to the socket sets the pace and a client that goes away
 * cancels the gRPC call (and with it the database reads).
 */
import { formatLocal } from '../platform/calendar.js';
import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';

export type CsvValue = string | number | boolean | null | undefined;

/** Excel's hint that the file is UTF-8 (without it, Chinese text opens garbled). */
export const UTF8_BOM = '\uFEFF';

/**
 * A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, or a tab / CR that some
 * spreadsheets strip before looking) is prefixed with a single quote, which they show as text:
 * user-typed names and addresses must not become `=HYPERLINK(...)` on an operator's machine.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

/** One cell, guarded against formula injection and quoted when it must be. */
export function csvCell(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  let text = typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
  if (typeof value === 'string' && FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One record, CRLF-terminated. */
export function csvLine(cells: readonly CsvValue[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}

/** `YYYY-MM-DD HH:mm:ss` in the zone (what a spreadsheet reads as a date); '' for no time. */
export function csvTime(at: Date | undefined, timeZone: string): string {
  return at === undefined ? '' : formatLocal(at, timeZone, 'second');
}

export interface CsvExport<Page> {
  /** The download's file name. */
  readonly filename: string;
  readonly header: readonly string[];
  /** The gRPC stream's pages; the first is awaited before the reply starts (see sendCsv). */
  readonly pages: AsyncIterable<Page>;
  /** The CSV records of one page. */
  readonly rows: (page: Page) => Iterable<readonly CsvValue[]>;
  /** Start with the UTF-8 BOM (default true). */
  readonly bom?: boolean;
}

/**
 * Sends a streamed CSV download. The first page is awaited before anything is sent, so a
 * refusal of the call (no token, a missing scope, an unknown activity) still reaches the caller
 * as the route's error answer with its HTTP status; a failure after that can only cut the
 * response short (the chunked body then lacks its last chunk, which clients report as an error).
 */
export async function sendCsv<Page>(reply: FastifyReply, csv: CsvExport<Page>): Promise<FastifyReply> {
  const pages = csv.pages[Symbol.asyncIterator]();
  const first = await pages.next();
  async function* body(): AsyncGenerator<string, void, undefined> {
    try {
      yield `${csv.bom === false ? '' : UTF8_BOM}${csvLine(csv.header)}`;
      for (let next = first; next.done !== true; next = await pages.next()) {
        let chunk = '';
        for (const row of csv.rows(next.value)) chunk += csvLine(row);
        yield chunk;
      }
    } finally {
      // Left early (the client went away, or a write failed): cancels the gRPC call.
      await pages.return?.();
    }
  }
  return reply
    .header('content-type', 'text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="${csv.filename}"`)
    .header('cache-control', 'no-store')
    .send(Readable.from(body(), { objectMode: false }));
}
