/**
 * Decoding the D-Bus wire format (D-Bus Specification, "Message Protocol"), for a client that reads
 * properties and listens to signals. Written here rather than taken from an npm package because the
 * sensors need a handful of calls and signals, and a dependency with its own connection management
 * would be far larger than this. Decoding handles every type in the spec (a reply can hold anything);
 * encoding is in dbusEncode.ts.
 */

/** Message types (header byte 1). */
export const MessageType = { methodCall: 1, methodReturn: 2, error: 3, signal: 4 } as const;
/** Header flags (byte 2): no reply wanted; don't start (D-Bus-activate) a service that is not running. */
export const MessageFlags = { noReplyExpected: 0x1, noAutoStart: 0x2 } as const;

/** Header field codes (the `a(yv)` array after the fixed part). */
export const Field = {
  path: 1,
  interface: 2,
  member: 3,
  errorName: 4,
  replySerial: 5,
  destination: 6,
  sender: 7,
  signature: 8,
} as const;
export const FIELD_TYPES: Record<number, string> = { 1: 'o', 2: 's', 3: 's', 4: 's', 5: 'u', 6: 's', 7: 's', 8: 'g' };
/** Field code → the {@link DBusMessage} property it fills; codes not listed (UNIX_FDS, future ones) are skipped. */
const FIELD_NAMES = new Map<number, string>(Object.entries(Field).map(([name, code]) => [code, name]));

/** A decoded message. Dicts (`a{..}`) decode to `Map`, structs to arrays, variants to their value. */
export interface DBusMessage {
  readonly type: number;
  readonly flags: number;
  readonly serial: number;
  readonly path?: string;
  readonly interface?: string;
  readonly member?: string;
  readonly errorName?: string;
  readonly replySerial?: number;
  readonly destination?: string;
  readonly sender?: string;
  readonly signature: string;
  readonly body: readonly unknown[];
}

/** The spec's limit on a whole message; anything larger means a corrupt stream. */
export const MAX_MESSAGE_BYTES = 128 * 1024 * 1024;
/** The spec allows 32 levels of arrays and 32 of structs; a deeper value means a corrupt stream. */
const MAX_DEPTH = 64;

/** The boundary a value of `type` (a complete type, or its first character) starts on, for reading and writing. */
export function alignment(type: string): number {
  switch (type[0]) {
    case 'n':
    case 'q':
      return 2;
    case 'b':
    case 'i':
    case 'u':
    case 'h':
    case 's':
    case 'o':
    case 'a':
      return 4;
    case 'x':
    case 't':
    case 'd':
    case '(':
    case '{':
      return 8;
    default:
      return 1; // y, g, v
  }
}

/** Index just past the single complete type that starts at `start` in `signature`. */
function completeTypeEnd(signature: string, start: number): number {
  const first = signature[start];
  if (first === undefined) throw new SyntaxError(`Truncated D-Bus signature "${signature}"`);
  if (first === 'a') return completeTypeEnd(signature, start + 1);
  if (first !== '(' && first !== '{') return start + 1;
  let depth = 0;
  for (let index = start; index < signature.length; index++) {
    const char = signature[index];
    if (char === '(' || char === '{') depth++;
    else if (char === ')' || char === '}') depth--;
    if (depth === 0) return index + 1;
  }
  throw new SyntaxError(`Unbalanced D-Bus signature "${signature}"`);
}

/** Splits a signature into its complete types: `sa{sv}as` → `s`, `a{sv}`, `as`. */
export function splitSignature(signature: string): string[] {
  const types: string[] = [];
  for (let index = 0; index < signature.length;) {
    const end = completeTypeEnd(signature, index);
    types.push(signature.slice(index, end));
    index = end;
  }
  return types;
}

/** Reads values from a message buffer. Offsets are absolute, which is what alignment is relative to. */
class Reader {
  offset: number;
  constructor(
    readonly buffer: Buffer,
    readonly littleEndian: boolean,
    offset: number,
  ) {
    this.offset = offset;
  }

  align(to: number): void {
    this.offset = Math.ceil(this.offset / to) * to;
  }

  uint32(): number {
    this.align(4);
    const value = this.littleEndian ? this.buffer.readUInt32LE(this.offset) : this.buffer.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  read(type: string, depth = 0): unknown {
    if (depth > MAX_DEPTH) throw new RangeError('D-Bus value nested too deeply');
    const b = this.buffer;
    const le = this.littleEndian;
    this.align(alignment(type[0]!));
    const at = this.offset;
    switch (type[0]) {
      case 'y':
        this.offset += 1;
        return b.readUInt8(at);
      case 'b':
        return this.uint32() !== 0;
      case 'n':
        this.offset += 2;
        return le ? b.readInt16LE(at) : b.readInt16BE(at);
      case 'q':
        this.offset += 2;
        return le ? b.readUInt16LE(at) : b.readUInt16BE(at);
      case 'i':
        this.offset += 4;
        return le ? b.readInt32LE(at) : b.readInt32BE(at);
      case 'u':
      case 'h':
        return this.uint32();
      case 'x':
        this.offset += 8;
        return Number(le ? b.readBigInt64LE(at) : b.readBigInt64BE(at));
      case 't':
        // Numbers, not bigints: the values read here (µs timestamps, enums) stay far below 2^53.
        this.offset += 8;
        return Number(le ? b.readBigUInt64LE(at) : b.readBigUInt64BE(at));
      case 'd':
        this.offset += 8;
        return le ? b.readDoubleLE(at) : b.readDoubleBE(at);
      case 's':
      case 'o':
        return this.string(this.uint32());
      case 'g':
        this.offset += 1;
        return this.string(b.readUInt8(at));
      case 'v': {
        const signature = this.read('g') as string;
        if (splitSignature(signature).length !== 1) throw new SyntaxError(`Invalid variant signature "${signature}"`);
        return this.read(signature, depth + 1);
      }
      case 'a':
        return this.array(type.slice(1), depth);
      case '(':
        return splitSignature(type.slice(1, -1)).map((field) => this.read(field, depth + 1));
      default:
        throw new SyntaxError(`Unsupported D-Bus type "${type}"`);
    }
  }

  string(length: number): string {
    const end = this.offset + length;
    if (end >= this.buffer.length) throw new RangeError('D-Bus string runs past the message');
    const text = this.buffer.toString('utf8', this.offset, end);
    this.offset = end + 1; // the NUL terminator
    return text;
  }

  array(element: string, depth: number): unknown {
    const length = this.uint32();
    this.align(alignment(element[0]!));
    const end = this.offset + length;
    if (end > this.buffer.length) throw new RangeError('D-Bus array runs past the message');
    if (element[0] === '{') {
      const [keyType, valueType] = splitSignature(element.slice(1, -1));
      const map = new Map<unknown, unknown>();
      while (this.offset < end) {
        this.align(8);
        const key = this.read(keyType!, depth + 1);
        map.set(key, this.read(valueType!, depth + 1));
      }
      return map;
    }
    const items: unknown[] = [];
    while (this.offset < end) items.push(this.read(element, depth + 1));
    return items;
  }
}

/**
 * The total size of the message at the start of `buffer`, or undefined when fewer than 16 bytes have
 * arrived. Throws for a stream that is not D-Bus or a message over the spec's size limit.
 */
export function messageLength(buffer: Buffer): number | undefined {
  if (buffer.length < 16) return undefined;
  const le = littleEndian(buffer);
  const bodyLength = le ? buffer.readUInt32LE(4) : buffer.readUInt32BE(4);
  const fieldsLength = le ? buffer.readUInt32LE(12) : buffer.readUInt32BE(12);
  const total = Math.ceil((16 + fieldsLength) / 8) * 8 + bodyLength;
  if (total > MAX_MESSAGE_BYTES) throw new RangeError(`D-Bus message of ${total} bytes is over the limit`);
  return total;
}

function littleEndian(buffer: Buffer): boolean {
  const marker = buffer[0];
  if (marker === 0x6c) return true; // 'l'
  if (marker === 0x42) return false; // 'B'
  throw new SyntaxError(`Not a D-Bus message (endianness byte ${String(marker)})`);
}

/** Decodes one whole message (as sized by {@link messageLength}). Throws on malformed input. */
export function decodeMessage(buffer: Buffer): DBusMessage {
  const le = littleEndian(buffer);
  const reader = new Reader(buffer, le, 4);
  const bodyLength = reader.uint32();
  const serial = reader.uint32();
  const fields = reader.read('a(yv)') as [number, unknown][];
  reader.align(8);
  const bodyStart = reader.offset;
  if (bodyStart + bodyLength > buffer.length) throw new RangeError('D-Bus body runs past the message');

  const header: Record<string, unknown> = {};
  for (const [code, value] of fields) {
    const name = FIELD_NAMES.get(code);
    if (name !== undefined) header[name] = value;
  }
  const signature = typeof header.signature === 'string' ? header.signature : '';
  // A reader over the body alone: the body starts 8-aligned, so alignment relative to it is the same.
  const bodyReader = new Reader(buffer.subarray(0, bodyStart + bodyLength), le, bodyStart);
  const body = splitSignature(signature).map((type) => bodyReader.read(type));
  return { ...header, type: buffer[1]!, flags: buffer[2]!, serial, signature, body } as DBusMessage;
}
