/**
 * JSON as the legacy PHP admin reads and writes it. Reading is lenient: seed 003's own example
 * has trailing commas and a missing comma between members, and legacy rows were typed by hand
 * from it, so those two slips (and raw control characters inside strings) are tolerated.
 * Anything else that is not JSON is refused. Writing mimics PHP's json_encode: non-ASCII as
 * \uXXXX and "/" as "\/", so the legacy admin sees exactly what it would have written.
 */

export class LenientJsonError extends Error {}

export function parseLenientJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return new LenientParser(text).parseDocument();
  }
}

class LenientParser {
  private at = 0;
  constructor(private readonly text: string) {}

  parseDocument(): unknown {
    const value = this.value();
    this.ws();
    if (this.at !== this.text.length) this.fail('unexpected text after the value');
    return value;
  }

  private fail(problem: string): never {
    throw new LenientJsonError(`${problem} at offset ${this.at}`);
  }

  private ws(): void {
    while (this.at < this.text.length && /\s/.test(this.text[this.at] as string)) this.at += 1;
  }

  private value(): unknown {
    this.ws();
    const c = this.text[this.at];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    const literal = /^(?:true|false|null|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(this.text.slice(this.at));
    if (literal === null) this.fail('expected a value');
    this.at += literal[0].length;
    return JSON.parse(literal[0]) as unknown;
  }

  private string(): string {
    const start = this.at;
    this.at += 1;
    while (this.at < this.text.length) {
      const c = this.text[this.at];
      if (c === '\\') this.at += 2;
      else if (c === '"') {
        this.at += 1;
        const raw = this.text.slice(start, this.at).replace(/[\u0000-\u001f]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
        try {
          return JSON.parse(raw) as string;
        } catch {
          this.at = start;
          this.fail('bad string escape');
        }
      } else this.at += 1;
    }
    return this.fail('unterminated string');
  }

  /** Members separated by commas; a trailing comma or a missing one between members is let go. */
  private sequence(close: string, item: () => void): void {
    this.at += 1;
    for (;;) {
      this.ws();
      if (this.text[this.at] === close) {
        this.at += 1;
        return;
      }
      if (this.at >= this.text.length) this.fail(`expected "${close}"`);
      item();
      this.ws();
      if (this.text[this.at] === ',') this.at += 1;
      else if (this.text[this.at] !== close && !/["{[\d\-tfn]/.test(this.text[this.at] ?? '')) this.fail(`expected "," or "${close}"`);
    }
  }

  private object(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.sequence('}', () => {
      if (this.text[this.at] !== '"') this.fail('expected a key');
      const key = this.string();
      this.ws();
      if (this.text[this.at] !== ':') this.fail('expected ":"');
      this.at += 1;
      out[key] = this.value();
    });
    return out;
  }

  private array(): unknown[] {
    const out: unknown[] = [];
    this.sequence(']', () => out.push(this.value()));
    return out;
  }
}

/** JSON.stringify with PHP json_encode's default escaping. */
export function encodePhpJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff/]/g, (ch) =>
    ch === '/' ? '\\/' : `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
