// SHA-256 of four short texts at once, in WebAssembly SIMD (ADR 0056): each
// 32-bit lane of a v128 value carries one text's state, so one pass of the
// 64 rounds hashes four texts. Only `parseCassette()` on Deno uses it, to
// check a cassette's fingerprints in batches: there each `node:crypto` hash
// costs several runtime calls around a native hash that is itself quick,
// while here a text costs a fraction of one call. On Node and Bun their
// native one-shot hash is faster than this, so they never load it.
//
// The module is not shipped as bytes: `emitModule()` writes it instruction by
// instruction on first use (about a millisecond), so what runs is what is
// read here. Function 0 (`hashFunction()`) is the four-lane compression;
// function 1 (`groupFunction()`, exported as `g`) pads four texts, hashes
// them and compares their digests with the hex claimed for them.

// FIPS 180-4 §4.2.2 and §5.3.3: the round constants and the initial state.
// deno-fmt-ignore
const K = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];
// deno-fmt-ignore
const IV = [
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/** Unsigned LEB128, as WebAssembly encodes indices and sizes. */
function unsigned(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

/** Signed LEB128, for `i32.const`. */
function signed(value: number): number[] {
  const out: number[] = [];
  value |= 0;
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    if ((value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

/** Writes one function's code; `body()` is its locals and code, as the code section holds them. */
class Emitter {
  readonly code: number[] = [];
  get(local: number): void {
    this.code.push(0x20, ...unsigned(local));
  }
  set(local: number): void {
    this.code.push(0x21, ...unsigned(local));
  }
  i32(value: number): void {
    this.code.push(0x41, ...signed(value));
  }
  op(...bytes: number[]): void {
    this.code.push(...bytes);
  }
  simd(op: number, ...immediates: number[]): void {
    this.code.push(0xfd, ...unsigned(op), ...immediates);
  }
  /** The function's entry in the code section: `locals` as (count, type) runs, then the code. */
  body(locals: readonly (readonly [number, number])[]): number[] {
    const bytes = [
      ...unsigned(locals.length),
      ...locals.flatMap(([count, type]) => [...unsigned(count), type]),
      ...this.code,
      0x0b,
    ];
    return [...unsigned(bytes.length), ...bytes];
  }
}

const I32 = 0x7f;
const I64 = 0x7e;
const V128 = 0x7b;

/**
 * Function 0, `(base, stride, blocks, out)`: hashes four messages already
 * padded to `blocks` 64-byte blocks, message `l` at `base + l * stride`,
 * and stores the eight state words at `out`, word `i` of message `l` at
 * `out + 16 * i + 4 * l`.
 */
function hashFunction(): number[] {
  const x = new Emitter();
  const splat = (value: number) => {
    // v128.const: four little-endian copies of the word
    x.simd(0x0c);
    for (let lane = 0; lane < 4; lane++) {
      x.op(value & 255, (value >>> 8) & 255, (value >>> 16) & 255, value >>> 24);
    }
  };
  const xor = () => x.simd(0x51);
  const or = () => x.simd(0x50);
  const bitselect = () => x.simd(0x52); // (a & mask) | (b & ~mask) of a, b, mask
  const add = () => x.simd(0xae, 0x01); // i32x4.add
  const shl = (n: number) => (x.i32(n), x.simd(0xab, 0x01));
  const shrU = (n: number) => (x.i32(n), x.simd(0xad, 0x01));
  const load = (offset: number) => x.simd(0x00, 4, ...unsigned(offset));
  const store = (offset: number) => x.simd(0x0b, 4, ...unsigned(offset));
  const shuffle = (bytes: number[]) => x.simd(0x0d, ...bytes);
  const rotr = (local: number, n: number) => {
    x.get(local), shrU(n), x.get(local), shl(32 - n), or();
  };

  // Locals: params 0 base, 1 stride, 2 blocks, 3 out; 4..7 the lanes' block
  // pointers (i32); then v128: the working state, the chaining state, two
  // temporaries, the 16-word schedule window, and 8 for the transpose.
  const POINTER = 4;
  let nextLocal = 8;
  const v128 = () => nextLocal++;
  const state = Array.from({ length: 8 }, v128);
  const chain = Array.from({ length: 8 }, v128);
  const t1 = v128();
  const t2 = v128();
  const w = Array.from({ length: 16 }, v128);
  const rows = Array.from({ length: 4 }, v128);
  const pairs = Array.from({ length: 4 }, v128);

  x.get(0), x.set(POINTER);
  for (let lane = 1; lane < 4; lane++) {
    x.get(POINTER + lane - 1), x.get(1), x.op(0x6a), x.set(POINTER + lane);
  }
  for (let i = 0; i < 8; i++) splat(IV[i]!), x.set(chain[i]!);
  x.op(0x02, 0x40, 0x03, 0x40); // block, loop
  x.get(2), x.op(0x45, 0x0d, 1); // no blocks left: br_if out of the block
  for (let i = 0; i < 8; i++) x.get(chain[i]!), x.set(state[i]!);
  // The bytes of big-endian word `word` of the first (0) or second (16)
  // operand, as a little-endian lane: reversed; and a word as it is.
  const swapped = (from: number, word: number) => [3, 2, 1, 0].map((k) => from + 4 * word + k);
  const whole = (from: number, word: number) => [0, 1, 2, 3].map((k) => from + 4 * word + k);
  let names = [0, 1, 2, 3, 4, 5, 6, 7];
  for (let t = 0; t < 64; t++) {
    const wt = w[t & 15]!;
    if (t < 16 && t % 4 === 0) {
      // Words t..t+3 of the four messages: 16 bytes of each, transposed so
      // that each v128 holds one word of all four.
      for (let lane = 0; lane < 4; lane++) x.get(POINTER + lane), load(4 * t), x.set(rows[lane]!);
      for (const [pair, first, second, word] of TRANSPOSE_ROWS) {
        x.get(rows[first]!), x.get(rows[second]!);
        shuffle([
          ...swapped(0, word),
          ...swapped(16, word),
          ...swapped(0, word + 1),
          ...swapped(16, word + 1),
        ]);
        x.set(pairs[pair]!);
      }
      for (const [k, first, second, word] of TRANSPOSE_PAIRS) {
        x.get(pairs[first]!), x.get(pairs[second]!);
        shuffle([
          ...whole(0, word),
          ...whole(0, word + 1),
          ...whole(16, word),
          ...whole(16, word + 1),
        ]);
        x.set(w[t + k]!);
      }
    } else if (t >= 16) {
      // w[t] = σ1(w[t-2]) + w[t-7] + σ0(w[t-15]) + w[t-16], in place of w[t-16].
      const w2 = w[(t - 2) & 15]!;
      const w7 = w[(t - 7) & 15]!;
      const w15 = w[(t - 15) & 15]!;
      rotr(w2, 17), rotr(w2, 19), xor(), x.get(w2), shrU(10), xor();
      x.get(w7), add();
      rotr(w15, 7), rotr(w15, 18), xor(), x.get(w15), shrU(3), xor(), add();
      x.get(wt), add(), x.set(wt);
    }
    const [a, b, c, d, e, f, g, h] = names.map((name) => state[name]!);
    // t1 = h + Σ1(e) + Ch(e, f, g) + K[t] + w[t]; Ch is f where e is set, else g.
    x.get(h!);
    rotr(e!, 6), rotr(e!, 11), xor(), rotr(e!, 25), xor(), add();
    x.get(f!), x.get(g!), x.get(e!), bitselect(), add();
    splat(K[t]!), add(), x.get(wt), add(), x.set(t1);
    // t2 = Σ0(a) + Maj(a, b, c); Maj is b where a and c differ, else a.
    rotr(a!, 2), rotr(a!, 13), xor(), rotr(a!, 22), xor();
    x.get(b!), x.get(a!), x.get(a!), x.get(c!), xor(), bitselect(), add(), x.set(t2);
    x.get(d!), x.get(t1), add(), x.set(d!);
    x.get(t1), x.get(t2), add(), x.set(h!);
    names = [names[7]!, ...names.slice(0, 7)];
  }
  for (let i = 0; i < 8; i++) x.get(chain[i]!), x.get(state[i]!), add(), x.set(chain[i]!);
  for (let lane = 0; lane < 4; lane++) {
    x.get(POINTER + lane), x.i32(64), x.op(0x6a), x.set(POINTER + lane);
  }
  x.get(2), x.i32(1), x.op(0x6b), x.set(2);
  x.op(0x0c, 0, 0x0b, 0x0b); // br to the loop; end loop, end block
  for (let i = 0; i < 8; i++) x.get(3), x.get(chain[i]!), store(16 * i);
  return x.body([[4, I32], [nextLocal - 8, V128]]);
}

// The transpose's two steps: [result, first operand, second operand, word].
const TRANSPOSE_ROWS = [[0, 0, 1, 0], [1, 0, 1, 2], [2, 2, 3, 0], [3, 2, 3, 2]] as const;
const TRANSPOSE_PAIRS = [[0, 0, 2, 0], [1, 0, 2, 2], [2, 1, 3, 0], [3, 1, 3, 2]] as const;

/**
 * Function 1, `(lanes, stride, blocks, out, start0, length0, … start3,
 * length3, hex0, … hex3) → mask`: pads four texts from where they stand
 * (FIPS 180-4 §5.1.1) into `lanes`, `stride` bytes apart, hashes them with
 * function 0 into `out`, and sets bit `l` of the result when text `l`'s
 * digest reads, in lowercase hex, as the 64 bytes at `hex<l>`.
 */
function groupFunction(): number[] {
  const x = new Emitter();
  const LANES = 0, STRIDE = 1, BLOCKS = 2, OUT = 3, TEXTS = 4, HEXES = 12;
  // Locals: two i32, four i64 (each lane's difference), three v128.
  const AT = 16, MASK = 17, DIFF = 18, HIGH = 22, LOW = 23, HEX = 24;
  const add = () => x.op(0x6a);
  const sub = () => x.op(0x6b);
  for (let lane = 0; lane < 4; lane++) {
    const start = TEXTS + 2 * lane;
    const length = start + 1;
    x.get(LANES), x.get(STRIDE), x.i32(lane), x.op(0x6c), add(), x.set(AT);
    x.get(AT), x.get(start), x.get(length), x.op(0xfc, 0x0a, 0, 0); // memory.copy
    x.get(AT), x.get(length), add(), x.i32(0x80), x.op(0x3a, 0, 0); // i32.store8
    x.get(AT), x.get(length), add(), x.i32(1), add(), x.i32(0);
    x.get(STRIDE), x.get(length), sub(), x.i32(5), sub(), x.op(0xfc, 0x0b, 0); // memory.fill
    // The length in bits, big-endian, in the last four bytes.
    for (let k = 0; k < 4; k++) {
      x.get(AT), x.get(STRIDE), add(), x.i32(k - 4), add();
      x.get(length), x.i32(3), x.op(0x74), x.i32(24 - 8 * k), x.op(0x76), x.op(0x3a, 0, 0);
    }
  }
  x.get(LANES), x.get(STRIDE), x.get(BLOCKS), x.get(OUT), x.op(0x10, 0); // call 0
  // Each state word of the four digests as hex: its nibbles, high and low,
  // looked up in "0123456789abcdef" (i8x16.swizzle), then put in order, two
  // lanes' 8 characters to a v128, and compared 8 bytes at a time.
  const hexDigits = Array.from("0123456789abcdef", (ch) => ch.charCodeAt(0));
  const nibbles = () => (x.simd(0x0c, ...new Array<number>(16).fill(0x0f)), x.simd(0x4e));
  for (let i = 0; i < 8; i++) {
    x.simd(0x0c, ...hexDigits);
    x.get(OUT), x.simd(0x00, 4, ...unsigned(16 * i)), x.i32(4), x.simd(0xad, 0x01), nibbles();
    x.simd(0x0e), x.set(HIGH); // i8x16.swizzle
    x.simd(0x0c, ...hexDigits);
    x.get(OUT), x.simd(0x00, 4, ...unsigned(16 * i)), nibbles();
    x.simd(0x0e), x.set(LOW);
    for (const pair of [0, 1]) {
      // A state word is little-endian: its first hex digits are its last byte's.
      const order = [0, 1].flatMap((half) =>
        [3, 2, 1, 0].flatMap((byte) => {
          const at = 4 * (2 * pair + half) + byte;
          return [at, 16 + at];
        })
      );
      x.get(HIGH), x.get(LOW), x.simd(0x0d, ...order), x.set(HEX);
      for (const half of [0, 1]) {
        const lane = 2 * pair + half;
        x.get(HEX), x.simd(0x1d, half); // i64x2.extract_lane
        x.get(HEXES + lane), x.op(0x29, 3, ...unsigned(8 * i)); // i64.load
        x.op(0x85), x.get(DIFF + lane), x.op(0x84), x.set(DIFF + lane); // xor, or
      }
    }
  }
  x.i32(0), x.set(MASK);
  for (let lane = 0; lane < 4; lane++) {
    x.get(MASK), x.get(DIFF + lane), x.op(0x50), x.i32(lane), x.op(0x74), x.op(0x72), x.set(MASK);
  }
  x.get(MASK);
  return x.body([[2, I32], [4, I64], [3, V128]]);
}

/** The bytes of the module: a memory `m` and the group function `g`. */
export function emitModule(): Uint8Array<ArrayBuffer> {
  const section = (id: number, bytes: number[]) => [id, ...unsigned(bytes.length), ...bytes];
  const name = (text: string) => [text.length, ...Array.from(text, (ch) => ch.charCodeAt(0))];
  const group = [0x60, 16, ...new Array<number>(16).fill(I32), 1, I32];
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    1,
    0,
    0,
    0,
    ...section(1, [2, 0x60, 4, I32, I32, I32, I32, 0, ...group]), // types
    ...section(3, [2, 0, 1]), // function 0 has type 0, function 1 type 1
    ...section(5, [1, 1, 1, MAX_PAGES]), // one memory: one page at first, at most MAX_PAGES
    ...section(7, [2, ...name("m"), 2, 0, ...name("g"), 0, 1]), // exports
    ...section(10, [2, ...hashFunction(), ...groupFunction()]),
  ]);
}

/** `g` of the module: see `groupFunction()`. */
type Group = (
  lanes: number,
  stride: number,
  blocks: number,
  out: number,
  start0: number,
  length0: number,
  start1: number,
  length1: number,
  start2: number,
  length2: number,
  start3: number,
  length3: number,
  hex0: number,
  hex1: number,
  hex2: number,
  hex3: number,
) => number;

/** What the module gives: its memory (as `WebAssembly.Memory` is) and `g`. */
interface Lanes {
  readonly memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  readonly group: Group;
}

/** The part of the `WebAssembly` global used here (not in every build's type library). */
interface WebAssemblyApi {
  readonly Module: new (bytes: Uint8Array<ArrayBuffer>) => object;
  readonly Instance: new (module: object, imports: object) => { readonly exports: object };
}

let lanes: Lanes | null | undefined;

/** The compiled module, or `null` where WebAssembly SIMD is missing or refused. */
function loadLanes(): Lanes | null {
  if (lanes !== undefined) return lanes;
  try {
    const api = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly!;
    const instance = new api.Instance(new api.Module(emitModule()), {});
    const { m, g } = instance.exports as { m: Lanes["memory"]; g: Group };
    lanes = { memory: m, group: g };
  } catch {
    lanes = null;
  }
  return lanes;
}

/** Whether the module compiled here (it is built on the first call). */
export function lanesReady(): boolean {
  return loadLanes() !== null;
}

// The most the module's memory may grow to, in 64 KiB pages (4 MiB): a
// parse's batch of 1,024 texts of at most 1,015 characters needs 1.1 MiB.
const MAX_PAGES = 64;

// The texts of one group share a padded length, of at most 16 blocks.
const MAX_BLOCKS = 16;
const encoder = new TextEncoder();

/**
 * Whether the SHA-256 hex of every `texts[i]` is `digests[i]`: `false` as
 * soon as one is not, and when any text or digest is not ASCII (canonical
 * texts always are: ADR 0002) or a digest not 64 characters long. Each text
 * is at most `maxLanesText` characters. `undefined` where the lanes cannot
 * run, or the batch does not fit their memory (4 MiB at most), so that the
 * caller hashes another way.
 */
export function digestsMatch(
  texts: readonly string[],
  digests: readonly string[],
): boolean | undefined {
  const module = loadLanes();
  if (module === null) return undefined;
  const count = texts.length;
  // The texts and then the digests, as one string: one encoding for all.
  let joined = "";
  for (let i = 0; i < count; i++) joined += texts[i];
  const digestsAt = joined.length;
  for (let i = 0; i < count; i++) joined += digests[i];
  if (joined.length !== digestsAt + 64 * count) return false;
  const lanesAt = (joined.length + 15) & ~15;
  const out = lanesAt + 4 * MAX_BLOCKS * 64;
  const needed = out + 128;
  const memory = module.memory;
  if (needed > memory.buffer.byteLength) {
    try {
      memory.grow(Math.ceil((needed - memory.buffer.byteLength) / 65536));
    } catch {
      return undefined; // no memory for the batch: the caller hashes natively
    }
  }
  // A character that is not ASCII takes more than one byte (or the text no
  // longer fits), so `read` or `written` differs from the length.
  const { read, written } = encoder.encodeInto(joined, new Uint8Array(memory.buffer));
  if (read !== joined.length || written !== read) return false;
  // Texts by padded length, in order within each.
  const starts = new Array<number>(count);
  const byBlocks: number[][] = [];
  for (let i = 0, at = 0; i < count; at += texts[i]!.length, i++) {
    starts[i] = at;
    const blocks = (texts[i]!.length + 72) >>> 6;
    if (blocks > MAX_BLOCKS) throw new RangeError(`text ${i} is too long for the lanes`);
    (byBlocks[blocks] ??= []).push(i);
  }
  const group = module.group;
  for (let blocks = 1; blocks <= MAX_BLOCKS; blocks++) {
    const list = byBlocks[blocks];
    if (list === undefined) continue;
    const last = list.length - 1;
    for (let g = 0; g <= last; g += 4) {
      // A short group repeats its last text in the spare lanes.
      const i0 = list[g]!;
      const i1 = list[Math.min(g + 1, last)]!;
      const i2 = list[Math.min(g + 2, last)]!;
      const i3 = list[Math.min(g + 3, last)]!;
      const mask = group(
        lanesAt,
        blocks * 64,
        blocks,
        out,
        starts[i0]!,
        texts[i0]!.length,
        starts[i1]!,
        texts[i1]!.length,
        starts[i2]!,
        texts[i2]!.length,
        starts[i3]!,
        texts[i3]!.length,
        digestsAt + 64 * i0,
        digestsAt + 64 * i1,
        digestsAt + 64 * i2,
        digestsAt + 64 * i3,
      );
      if (mask !== 15) return false;
    }
  }
  return true;
}

/** The longest text `digestsMatch()` takes. */
export const maxLanesText: number = MAX_BLOCKS * 64 - 9;
