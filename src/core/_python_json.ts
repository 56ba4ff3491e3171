// Python's json.dumps string encoding with its default ensure_ascii=True,
// which interposition's fingerprint (its ADR 0002) hashes.

// Characters json.dumps writes as themselves: printable ASCII except `"` and `\`.
const VERBATIM = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

const SHORT_ESCAPES: Readonly<Record<number, string>> = {
  0x08: "\\b",
  0x09: "\\t",
  0x0a: "\\n",
  0x0c: "\\f",
  0x0d: "\\r",
  0x22: '\\"',
  0x5c: "\\\\",
};

/** Whether json.dumps writes `text` as itself between quotes. */
export function isVerbatim(text: string): boolean {
  return VERBATIM.test(text);
}

/** `json.dumps(text)` as Python writes it, quotes included. */
export function pythonJsonString(text: string): string {
  if (VERBATIM.test(text)) return `"${text}"`;
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0x20 && unit <= 0x7e && unit !== 0x22 && unit !== 0x5c) {
      out += text[i];
      continue;
    }
    // Code units above U+FFFF arrive here one surrogate at a time, which is
    // exactly the \ud83d\ude00 pair form Python writes.
    out += SHORT_ESCAPES[unit] ?? `\\u${unit.toString(16).padStart(4, "0")}`;
  }
  return `${out}"`;
}
