/**
 * Encoding D-Bus messages, always little-endian. See dbusWire.ts for decoding. Basic types (strings,
 * object paths, signatures, integers, doubles, booleans) and containers (arrays, dicts as `Map`s or
 * plain objects, structs as arrays, variants as {@link DBusVariant}); Unix file descriptors (`h`) are not.
 */
import { alignment, Field, FIELD_TYPES, splitSignature, type DBusMessage } from './dbusWire.js';

/**
 * A value of type `v`: JavaScript values do not say which D-Bus type they are (a number could be
 * `y`, `i`, `u` or `d`), so a variant names its signature. Decoding unwraps variants to their value.
 */
export class DBusVariant {
  constructor(
    readonly signature: string,
    readonly value: unknown,
  ) {}
}

/** `variant('y', 1)`: shorthand for {@link DBusVariant}. */
export function variant(signature: string, value: unknown): DBusVariant {
  return new DBusVariant(signature, value);
}

/** What {@link encodeMessage} takes; `body` values must match `signature`. */
export type OutgoingMessage = Omit<DBusMessage, 'flags' | 'sender' | 'signature' | 'body'> &
  Partial<Pick<DBusMessage, 'flags' | 'signature' | 'body'>>;

/** The spec's limits on nesting (32 array levels plus 32 struct levels); deeper means a cycle or a bug. */
const MAX_DEPTH = 64;

/** Writes values in little-endian order, growing its buffer as needed. */
class Writer {
  #buffer = Buffer.alloc(256);
  length = 0;

  #ensure(bytes: number): void {
    if (this.length + bytes <= this.#buffer.length) return;
    const next = Buffer.alloc(Math.max(this.#buffer.length * 2, this.length + bytes));
    this.#buffer.copy(next, 0, 0, this.length);
    this.#buffer = next;
  }

  align(to: number): void {
    const padded = Math.ceil(this.length / to) * to;
    this.#ensure(padded - this.length);
    this.#buffer.fill(0, this.length, padded);
    this.length = padded;
  }

  byte(value: number): void {
    this.#ensure(1);
    this.#buffer.writeUInt8(value, this.length++);
  }

  uint32(value: number): void {
    this.align(4);
    this.#ensure(4);
    this.#buffer.writeUInt32LE(value >>> 0, this.length);
    this.length += 4;
  }

  setUint32(at: number, value: number): void {
    this.#buffer.writeUInt32LE(value >>> 0, at);
  }

  write(type: string, value: unknown, depth = 0): void {
    if (depth > MAX_DEPTH) throw new RangeError('D-Bus value nested too deeply');
    this.align(alignment(type));
    switch (type[0]) {
      case 'y':
        return this.byte(Number(value));
      case 'b':
        return this.uint32(value ? 1 : 0);
      case 'u':
        return this.uint32(Number(value));
      case 'i':
        return this.uint32(Number(value) | 0);
      case 'n':
      case 'q':
        this.#ensure(2);
        if (type === 'n') this.#buffer.writeInt16LE(Number(value), this.length);
        else this.#buffer.writeUInt16LE(Number(value), this.length);
        this.length += 2;
        return;
      case 'x':
      case 't':
        this.#ensure(8);
        if (type === 'x') this.#buffer.writeBigInt64LE(BigInt(value as number | bigint), this.length);
        else this.#buffer.writeBigUInt64LE(BigInt(value as number | bigint), this.length);
        this.length += 8;
        return;
      case 'd':
        this.#ensure(8);
        this.#buffer.writeDoubleLE(Number(value), this.length);
        this.length += 8;
        return;
      case 's':
      case 'o': {
        const bytes = Buffer.from(String(value), 'utf8');
        this.uint32(bytes.length);
        this.#raw(bytes);
        return this.byte(0);
      }
      case 'g': {
        const bytes = Buffer.from(String(value), 'ascii');
        this.byte(bytes.length);
        this.#raw(bytes);
        return this.byte(0);
      }
      case 'a':
      case '(':
      case 'v':
        if (type[0] === 'a') return this.#array(type.slice(1), value, depth);
        if (type[0] === '(') return this.#struct(type, value, depth);
        return this.#variant(value, depth);
    }
    throw new TypeError(`Cannot encode D-Bus type "${type}"`);
  }

  #array(element: string, value: unknown, depth: number): void {
    this.uint32(0); // the byte length, patched below
    const lengthAt = this.length - 4;
    // The padding to the first element is not part of the length, even when the array is empty.
    this.align(alignment(element));
    const start = this.length;
    if (element[0] === '{') {
      const [keyType, valueType] = splitSignature(element.slice(1, -1));
      if (keyType === undefined || valueType === undefined) throw new SyntaxError(`Invalid dict entry "${element}"`);
      const entries =
        value instanceof Map ? [...value.entries()] : isPlainObject(value) ? Object.entries(value) : undefined;
      if (!entries) throw new TypeError(`A D-Bus dict needs a Map or a plain object, not ${typeof value}`);
      for (const [key, item] of entries) {
        this.align(8);
        this.write(keyType, key, depth + 1);
        this.write(valueType, item, depth + 1);
      }
    } else {
      if (!Array.isArray(value)) throw new TypeError(`A D-Bus array needs an array, not ${typeof value}`);
      for (const item of value) this.write(element, item, depth + 1);
    }
    this.setUint32(lengthAt, this.length - start);
  }

  #struct(type: string, value: unknown, depth: number): void {
    const fields = splitSignature(type.slice(1, -1));
    if (!Array.isArray(value) || value.length !== fields.length)
      throw new TypeError(`A D-Bus struct ${type} needs an array of ${fields.length} values`);
    fields.forEach((field, index) => this.write(field, value[index], depth + 1));
  }

  #variant(value: unknown, depth: number): void {
    if (!(value instanceof DBusVariant))
      throw new TypeError('A D-Bus variant needs a DBusVariant (see variant()), which names its type');
    if (splitSignature(value.signature).length !== 1)
      throw new SyntaxError(`Invalid variant signature "${value.signature}"`);
    this.write('g', value.signature);
    this.write(value.signature, value.value, depth + 1);
  }

  #raw(bytes: Buffer): void {
    this.#ensure(bytes.length);
    bytes.copy(this.#buffer, this.length);
    this.length += bytes.length;
  }

  bytes(): Buffer {
    return this.#buffer.subarray(0, this.length);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** Encodes a message (little-endian, protocol version 1). */
export function encodeMessage(message: OutgoingMessage): Buffer {
  const signature = message.signature ?? '';
  const body = new Writer();
  splitSignature(signature).forEach((type, index) => body.write(type, message.body?.[index]));

  const fields: [number, unknown][] = [];
  const add = (code: number, value: unknown) => {
    if (value !== undefined) fields.push([code, value]);
  };
  add(Field.path, message.path);
  add(Field.interface, message.interface);
  add(Field.member, message.member);
  add(Field.errorName, message.errorName);
  add(Field.replySerial, message.replySerial);
  add(Field.destination, message.destination);
  if (signature !== '') add(Field.signature, signature);

  const header = new Writer();
  header.byte(0x6c); // 'l': little-endian
  header.byte(message.type);
  header.byte(message.flags ?? 0);
  header.byte(1);
  header.uint32(body.length);
  header.uint32(message.serial);
  header.uint32(0); // the field array's length, patched below
  header.align(8);
  const fieldsStart = header.length;
  for (const [code, value] of fields) {
    header.align(8);
    header.byte(code);
    header.write('g', FIELD_TYPES[code]);
    header.write(FIELD_TYPES[code]!, value);
  }
  header.setUint32(12, header.length - fieldsStart);
  header.align(8);
  return Buffer.concat([header.bytes(), body.bytes()]);
}

/**
 * Encodes `value` as an object-path element the way sd-bus does (`sd_bus_path_encode`): every byte
 * that is not an ASCII letter or digit, and a leading digit, becomes `_` plus two lowercase hex digits.
 * logind session "2" lives at `/org/freedesktop/login1/session/_32`.
 */
export function encodePathLabel(value: string): string {
  if (value === '') return '_';
  let out = '';
  const bytes = Buffer.from(value, 'utf8');
  bytes.forEach((byte, index) => {
    const letter = (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a);
    const digit = byte >= 0x30 && byte <= 0x39;
    out += letter || (digit && index > 0) ? String.fromCharCode(byte) : `_${byte.toString(16).padStart(2, '0')}`;
  });
  return out;
}
