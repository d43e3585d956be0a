/** Result of parsing JSON text: the value, or the first syntax error with its position. */
export type JsonParseResult =
  | { ok: true; value: unknown }
  | { ok: false; message: string; line: number; column: number; offset: number };

/**
 * Parses JSON text. On a syntax error it reports a 1-based line and column, which `JSON.parse`
 * does not always give (V8 omits the position for unexpected tokens), by re-scanning the text
 * with a minimal grammar checker that stops at the first offending character.
 */
export function parseJson(text: string): JsonParseResult {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    const offset = locateSyntaxError(text);
    const { line, column } = lineColumn(text, offset);
    const reason = err instanceof Error ? err.message.replace(/, "[\s\S]*" is not valid JSON$/, '') : String(err);
    return { ok: false, message: `invalid JSON at line ${line}, column ${column}: ${reason}`, line, column, offset };
  }
}

/** 1-based line and column of `offset` in `text`. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

/** Offset of the first character at which `text` stops being valid JSON. */
export function locateSyntaxError(text: string): number {
  let pos = 0;
  const fail = (): never => {
    throw new SyntaxAt(pos);
  };
  const ws = (): void => {
    while (pos < text.length && ' \t\n\r'.includes(text[pos]!)) pos++;
  };
  const literal = (word: string): void => {
    for (const ch of word) {
      if (text[pos] !== ch) fail();
      pos++;
    }
  };
  const string = (): void => {
    pos++; // opening quote
    while (pos < text.length) {
      const ch = text.charCodeAt(pos);
      if (ch === 34) {
        pos++;
        return;
      }
      if (ch < 0x20) fail();
      if (ch === 92) {
        pos++;
        const esc = text[pos];
        if (esc === 'u') {
          for (let k = 1; k <= 4; k++) if (!/[0-9a-fA-F]/.test(text[pos + k] ?? '')) { pos += k; fail(); }
          pos += 5;
        } else if (esc !== undefined && '"\\/bfnrt'.includes(esc)) pos++;
        else fail();
      } else pos++;
    }
    fail();
  };
  const number = (): void => {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(pos, pos + 400));
    if (!m || m[0] === '' || m[0] === '-') fail();
    pos += m![0].length;
  };
  const value = (): void => {
    ws();
    const ch = text[pos];
    if (ch === '{') {
      pos++;
      ws();
      if (text[pos] === '}') { pos++; return; }
      for (;;) {
        ws();
        if (text[pos] !== '"') fail();
        string();
        ws();
        if (text[pos] !== ':') fail();
        pos++;
        value();
        ws();
        if (text[pos] === ',') { pos++; continue; }
        if (text[pos] === '}') { pos++; return; }
        fail();
      }
    } else if (ch === '[') {
      pos++;
      ws();
      if (text[pos] === ']') { pos++; return; }
      for (;;) {
        value();
        ws();
        if (text[pos] === ',') { pos++; continue; }
        if (text[pos] === ']') { pos++; return; }
        fail();
      }
    } else if (ch === '"') string();
    else if (ch === 't') literal('true');
    else if (ch === 'f') literal('false');
    else if (ch === 'n') literal('null');
    else if (ch === '-' || (ch !== undefined && ch >= '0' && ch <= '9')) number();
    else fail();
  };
  try {
    value();
    ws();
    if (pos < text.length) fail();
    return text.length;
  } catch (err) {
    if (err instanceof SyntaxAt) return err.offset;
    throw err;
  }
}

class SyntaxAt {
  constructor(readonly offset: number) {}
}
