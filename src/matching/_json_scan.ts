// A JSON reader without recursion (ADR 0026): one pass over the text that
// checks it is JSON (RFC 8259, as `JSON.parse` accepts it) and reports its
// tokens with their positions, whatever the nesting depth. Redaction uses
// the positions to replace values in place; `canonicalJsonBody()` builds
// values from the tokens when the built-in parser's recursion gives out.

/** What a scan reports, in text order. Positions are UTF-16 indexes into the text. */
export interface JsonVisitor {
  /** An object (`array` false) or array opens at `start`. */
  open(array: boolean, start: number): void;
  /** An object member's name: the string token `[start, end)`, quotes included. */
  key(start: number, end: number): void;
  /** A string, number, `true`, `false` or `null` token `[start, end)`. */
  primitive(start: number, end: number): void;
  /** The innermost open object or array closes; `end` is just after its bracket. */
  close(end: number): void;
}

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

function isDigit(code: number): boolean {
  return code >= ZERO && code <= NINE;
}

function isHex(code: number): boolean {
  return isDigit(code) || (code >= 0x41 && code <= 0x46) || (code >= 0x61 && code <= 0x66);
}

function skipSpace(text: string, at: number): number {
  let i = at;
  for (;;) {
    const code = text.charCodeAt(i);
    if (code !== SPACE && code !== TAB && code !== LF && code !== CR) return i;
    i++;
  }
}

/** The end of the string token starting at `at` (a quote), or -1 when it is not one. */
function stringEnd(text: string, at: number): number {
  let i = at + 1;
  for (;;) {
    const code = text.charCodeAt(i);
    if (code === QUOTE) return i + 1;
    if (code === BACKSLASH) {
      const next = text.charCodeAt(i + 1);
      if (next === 0x75) { // \uXXXX
        for (let k = 2; k < 6; k++) if (!isHex(text.charCodeAt(i + k))) return -1;
        i += 6;
        continue;
      }
      // " \ / b f n r t
      if (
        next === QUOTE || next === BACKSLASH || next === 0x2f || next === 0x62 ||
        next === 0x66 || next === 0x6e || next === 0x72 || next === 0x74
      ) {
        i += 2;
        continue;
      }
      return -1;
    }
    // Control characters (and the end of the text, NaN) are not allowed.
    if (!(code >= SPACE)) return -1;
    i++;
  }
}

/** The end of the number token starting at `at`, or -1 when it is not one. */
function numberEnd(text: string, at: number): number {
  let i = at;
  if (text.charCodeAt(i) === MINUS) i++;
  const first = text.charCodeAt(i);
  if (first === ZERO) i++;
  else if (isDigit(first)) { while (isDigit(text.charCodeAt(i))) i++; }
  else return -1;
  if (text.charCodeAt(i) === DOT) {
    i++;
    if (!isDigit(text.charCodeAt(i))) return -1;
    while (isDigit(text.charCodeAt(i))) i++;
  }
  const exponent = text.charCodeAt(i);
  if (exponent === 0x65 || exponent === 0x45) {
    i++;
    const sign = text.charCodeAt(i);
    if (sign === PLUS || sign === MINUS) i++;
    if (!isDigit(text.charCodeAt(i))) return -1;
    while (isDigit(text.charCodeAt(i))) i++;
  }
  return i;
}

function literalEnd(text: string, at: number): number {
  for (const word of ["true", "false", "null"]) {
    if (text.startsWith(word, at)) return at + word.length;
  }
  return -1;
}

/** Reads a member's name and its colon at `at`: where its value starts, or -1. */
function memberName(text: string, at: number, visitor: JsonVisitor): number {
  if (text.charCodeAt(at) !== QUOTE) return -1;
  const end = stringEnd(text, at);
  if (end === -1) return -1;
  visitor.key(at, end);
  const colon = skipSpace(text, end);
  if (text.charCodeAt(colon) !== COLON) return -1;
  return skipSpace(text, colon + 1);
}

/**
 * Reads `text` as one JSON value, reporting its tokens to `visitor`.
 * Returns `false` (after reporting some tokens, perhaps) when the text is
 * not JSON. Memory is one small entry per open bracket.
 */
export function scanJson(text: string, visitor: JsonVisitor): boolean {
  // For each open container: whether it is an array.
  const arrays: boolean[] = [];
  let i = skipSpace(text, 0);
  // What the grammar expects next.
  let expectValue = true;
  for (;;) {
    if (expectValue) {
      const code = text.charCodeAt(i);
      let end: number;
      if (code === OPEN_BRACE || code === OPEN_BRACKET) {
        const array = code === OPEN_BRACKET;
        visitor.open(array, i);
        arrays.push(array);
        i = skipSpace(text, i + 1);
        const next = text.charCodeAt(i);
        if (next === (array ? CLOSE_BRACKET : CLOSE_BRACE)) {
          arrays.pop();
          visitor.close(++i);
          expectValue = false;
          i = skipSpace(text, i);
          if (arrays.length === 0) return i === text.length;
          continue;
        }
        if (!array) {
          i = memberName(text, i, visitor);
          if (i === -1) return false;
        }
        continue;
      }
      if (code === QUOTE) end = stringEnd(text, i);
      else if (code === MINUS || isDigit(code)) end = numberEnd(text, i);
      else end = literalEnd(text, i);
      if (end === -1) return false;
      visitor.primitive(i, end);
      i = skipSpace(text, end);
      if (arrays.length === 0) return i === text.length;
      expectValue = false;
      continue;
    }
    // After a value inside a container: a comma, or the container's close.
    const array = arrays[arrays.length - 1]!;
    const code = text.charCodeAt(i);
    if (code === COMMA) {
      i = skipSpace(text, i + 1);
      if (!array) {
        i = memberName(text, i, visitor);
        if (i === -1) return false;
      }
      expectValue = true;
      continue;
    }
    if (code !== (array ? CLOSE_BRACKET : CLOSE_BRACE)) return false;
    arrays.pop();
    visitor.close(++i);
    i = skipSpace(text, i);
    if (arrays.length === 0) return i === text.length;
  }
}

/** The value of a string token `[start, end)`, quotes included. */
export function stringValue(text: string, start: number, end: number): string {
  const inner = text.slice(start + 1, end - 1);
  // Escapes are rare in names; the built-in parser handles a flat string.
  return inner.includes("\\") ? JSON.parse(text.slice(start, end)) as string : inner;
}
