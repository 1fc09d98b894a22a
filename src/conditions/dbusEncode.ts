/**
 * Encoding D-Bus messages: only the basic types our calls send (strings, object paths, signatures,
 * integers, booleans) and the header's variants, always little-endian. See dbusWire.ts for decoding.
 */
import { Field, FIELD_TYPES, splitSignature } from './dbusWire.js';

/** What {@link encodeMessage} takes; `body` values must match `signature` (basic types only). */
export interface OutgoingMessage {
  readonly type: number;
  readonly flags?: number;
  readonly serial: number;
  readonly path?: string;
  readonly interface?: string;
  readonly member?: string;
  readonly errorName?: string;
  readonly replySerial?: number;
  readonly destination?: string;
  readonly signature?: string;
  readonly body?: readonly unknown[];
}

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

  write(type: string, value: unknown): void {
    switch (type) {
      case 'y':
        return this.byte(Number(value));
      case 'b':
        return this.uint32(value ? 1 : 0);
      case 'u':
        return this.uint32(Number(value));
      case 'i':
        return this.uint32(Number(value) | 0);
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
      default:
        throw new TypeError(`Cannot encode D-Bus type "${type}"`);
    }
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
